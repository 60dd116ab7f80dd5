import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../lib/host/exec.js';
import { BridgeDriver } from '../../../controllers/networking/drivers/bridge.js';
import { VxlanDriver } from '../../../controllers/networking/drivers/vxlan.js';
import type { NetworkDriver, NetworkPlan } from '../../../controllers/networking/drivers/types.js';
import { planNetwork } from '../../../controllers/networking/network-plan.js';
import type { Network } from '../../../lib/kinds/types.js';
import { NetnsLab, nsRunner } from './netns.js';

function network(name: string, spec: Network['spec']): Network {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' }, spec };
}

async function leftovers(ns: string, plan: NetworkPlan): Promise<string[]> {
  const links = (await run(['ip', '-n', ns, '-o', 'link', 'show'])).stdout;
  const tables = (await run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'tables'])).stdout;
  const found: string[] = [];
  for (const dev of [plan.names.bridge, plan.names.overlay]) if (links.includes(`${dev}:`) || links.includes(`${dev}@`)) found.push(dev);
  if (tables.includes(plan.names.nftTable)) found.push(plan.names.nftTable);
  return found;
}

describe('bridge and vxlan drivers in network namespaces', function () {
  this.timeout(120_000);
  const lab = new NetnsLab();
  let stateRoot = '';
  const built: Array<{ driver: NetworkDriver; plan: NetworkPlan }> = [];

  before(async () => {
    await NetnsLab.requireTools();
    stateRoot = await mkdtemp(join(tmpdir(), 'cloudlet-net-'));
  });
  afterEach(async () => {
    for (const b of built.splice(0)) await b.driver.remove(b.plan.names);
    await lab.cleanup();
  });
  after(async () => {
    await rm(stateRoot, { recursive: true, force: true });
  });

  it('builds a bridge network where instances ping each other by address and by name, reach outside through NAT, and leave nothing after removal', async () => {
    const m1 = await lab.ns('m1');
    const outside = await lab.ns('out');
    // "Outside" is a namespace behind m1 with no route back to the instance subnet: only masquerade can answer.
    await lab.link({ ns: m1, dev: 'uplink', cidr: '10.98.0.1/24' }, { ns: outside, dev: 'eth0', cidr: '10.98.0.2/24' });
    const driver = new BridgeDriver({ host: nsRunner(m1) });
    const net = network('lan', { driver: 'bridge', subnet: '10.42.0.0/24', nat: true });
    const hosts = [
      { address: '10.42.0.2', names: ['web', 'web.default'] },
      { address: '10.42.0.3', names: ['db', 'db.default'] },
    ];
    const plan = planNetwork({ network: net, driver: driver.info, scope: 'm1', stateRoot, peers: [], hosts });
    built.push({ driver, plan });
    await driver.ensure(plan);
    await driver.ensure(plan);
    expect(await driver.observe(plan)).to.deep.equal({ exists: true, ready: true, problems: [] });

    const web = await lab.endpointOn(m1, plan, { suffix: 'w', cidr: '10.42.0.2/24', gateway: '10.42.0.1' });
    await lab.endpointOn(m1, plan, { suffix: 'd', cidr: '10.42.0.3/24', gateway: '10.42.0.1' });
    expect(await lab.ping(web, '10.42.0.3')).to.equal(true);
    expect(await lab.resolve(web, 'db', '10.42.0.1')).to.equal('10.42.0.3');
    expect(await lab.ping(web, '10.98.0.2')).to.equal(true);

    // A new instance appears in DNS after the next ensure.
    await driver.ensure({ ...plan, hosts: [...hosts, { address: '10.42.0.4', names: ['cache'] }] });
    expect(await lab.resolve(web, 'cache', '10.42.0.1')).to.equal('10.42.0.4');

    // Without NAT, the outside is unreachable.
    await driver.ensure({ ...plan, nat: false });
    expect(await lab.ping(web, '10.98.0.2', 1)).to.equal(false);

    await driver.remove(plan.names);
    await driver.remove(plan.names);
    expect(await leftovers(m1, plan)).to.deep.equal([]);
    expect(await driver.observe(plan)).to.include({ exists: false });
  });

  it('isolates two networks on one member', async () => {
    const m1 = await lab.ns('m1');
    const driver = new BridgeDriver({ host: nsRunner(m1) });
    const a = planNetwork({
      network: network('a', { driver: 'bridge', subnet: '10.61.0.0/24', nat: true }),
      driver: driver.info,
      scope: 'm1',
      stateRoot,
      peers: [],
      hosts: [],
    });
    const b = planNetwork({
      network: network('b', { driver: 'bridge', subnet: '10.62.0.0/24', nat: true }),
      driver: driver.info,
      scope: 'm1',
      stateRoot,
      peers: [],
      hosts: [],
    });
    built.push({ driver, plan: a }, { driver, plan: b });
    await driver.ensure(a);
    await driver.ensure(b);
    const ea = await lab.endpoint({
      member: m1,
      bridge: a.names.bridge,
      suffix: 'a',
      cidr: '10.61.0.2/24',
      gateway: '10.61.0.1',
      mtu: 1500,
    });
    await lab.endpoint({ member: m1, bridge: b.names.bridge, suffix: 'b', cidr: '10.62.0.2/24', gateway: '10.62.0.1', mtu: 1500 });
    expect(await lab.ping(ea, '10.61.0.1')).to.equal(true);
    expect(await lab.ping(ea, '10.62.0.2', 1)).to.equal(false);
  });

  it('joins two members into one segment over vxlan, follows members joining and leaving, and removes everything', async () => {
    const m1 = await lab.ns('m1');
    const m2 = await lab.ns('m2');
    await lab.link({ ns: m1, dev: 'under', cidr: '10.97.0.1/24' }, { ns: m2, dev: 'under', cidr: '10.97.0.2/24' });
    const d1 = new VxlanDriver({ host: nsRunner(m1) });
    const d2 = new VxlanDriver({ host: nsRunner(m2) });
    const net = network('wide', { driver: 'vxlan', subnet: '10.43.0.0/24' });
    const hosts = [
      { address: '10.43.0.2', names: ['left'] },
      { address: '10.43.0.3', names: ['right'] },
    ];
    const p1 = planNetwork({
      network: net,
      driver: d1.info,
      scope: 'm1',
      stateRoot: join(stateRoot, 'm1'),
      localAddress: '10.97.0.1',
      peers: [],
      hosts,
    });
    const p2 = planNetwork({
      network: net,
      driver: d2.info,
      scope: 'm2',
      stateRoot: join(stateRoot, 'm2'),
      localAddress: '10.97.0.2',
      peers: ['10.97.0.1'],
      hosts,
    });
    built.push({ driver: d1, plan: p1 }, { driver: d2, plan: p2 });
    await d1.ensure(p1);
    await d2.ensure(p2);
    const left = await lab.endpointOn(m1, p1, { suffix: 'l', cidr: '10.43.0.2/24', gateway: '10.43.0.1' });
    await lab.endpointOn(m2, p2, { suffix: 'r', cidr: '10.43.0.3/24', gateway: '10.43.0.1' });
    // m1 does not know m2 yet: its observation says so and traffic cannot cross.
    expect((await d1.observe({ ...p1, underlay: { local: '10.97.0.1', peers: ['10.97.0.2'] } })).problems).to.deep.equal([
      `vxlan device ${p1.names.overlay} does not reach 10.97.0.2`,
    ]);
    expect(await lab.ping(left, '10.43.0.3', 1)).to.equal(false);
    const joined = { ...p1, underlay: { local: '10.97.0.1', peers: ['10.97.0.2'] } };
    await d1.ensure(joined);
    expect(await d1.observe(joined)).to.deep.equal({ exists: true, ready: true, problems: [] });
    expect(await lab.ping(left, '10.43.0.3')).to.equal(true);
    expect(await lab.resolve(left, 'right', '10.43.0.1')).to.equal('10.43.0.3');
    // m2 leaves: its entry goes, and traffic stops.
    await d1.ensure(p1);
    expect(await d1.floodPeers(p1.names.overlay)).to.deep.equal([]);
    await d1.remove(p1.names);
    await d2.remove(p2.names);
    expect(await leftovers(m1, p1)).to.deep.equal([]);
    expect(await leftovers(m2, p2)).to.deep.equal([]);
  });
});
