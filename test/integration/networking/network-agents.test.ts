import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import { SharedInformerFactory } from '../../../lib/controller/shared-informer-factory.js';
import { FakeClock } from '../../../lib/controller/clock.js';
import { EventRecorder } from '../../../lib/controller/events.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import { silentLogger } from '../../../lib/log/logger.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Member, Network } from '../../../lib/kinds/types.js';
import { defaultNetworkDrivers } from '../../../controllers/networking/drivers/registry.js';
import { VxlanDriver } from '../../../controllers/networking/drivers/vxlan.js';
import { Ipam } from '../../../controllers/networking/ipam.js';
import { plumbingNames } from '../../../controllers/networking/naming.js';
import { NetworkReconciler } from '../../../controllers/networking/network-reconciler.js';
import { addressPlan } from '../../../controllers/networking/subnet.js';
import { NetnsLab, nsRunner } from './netns.js';

const kinds = KindRegistry.load();
const networkKind = kinds.resolve('networks');
const memberKind = kinds.resolve('members');
const ctx = {
  log: silentLogger(),
  signal: new AbortController().signal,
  reconcileId: 't',
  controller: 'network-agent',
} as ReconcileContext;

describe('network agents of two members over vxlan with real plumbing', function () {
  this.timeout(180_000);
  const lab = new NetnsLab();
  let stateRoot = '';
  let store: MemoryStore;
  let factory: SharedInformerFactory;

  before(async () => {
    await NetnsLab.requireTools();
    stateRoot = await mkdtemp(join(tmpdir(), 'cloudlet-agents-'));
  });
  after(async () => {
    await factory?.stop();
    await store?.close();
    await lab.cleanup();
    await rm(stateRoot, { recursive: true, force: true });
  });

  async function settle(): Promise<void> {
    await sleep(60);
  }
  async function setPhase(name: string, phase: 'Ready' | 'NotReady'): Promise<void> {
    const m = await store.get<Member>(memberKind, name);
    await store.update<Member>(memberKind, { ...m, status: { phase } }, { subresource: 'status' });
    await settle();
  }

  it('builds the network on both members, follows a member failing and returning, blocks deletion while in use, and removes everything', async () => {
    const m1 = await lab.ns('m1');
    const m2 = await lab.ns('m2');
    await lab.link({ ns: m1, dev: 'under', cidr: '10.96.0.1/24' }, { ns: m2, dev: 'under', cidr: '10.96.0.2/24' });
    store = new MemoryStore();
    factory = new SharedInformerFactory({ store, logger: silentLogger(), resyncPeriodMs: 0 });
    for (const [name, address] of [
      ['m1', '10.96.0.1'],
      ['m2', '10.96.0.2'],
    ] as const) {
      await store.create<Member>(memberKind, {
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Member',
        metadata: { name },
        spec: { address },
      });
      await setPhase(name, 'Ready');
    }
    const ipam = new Ipam({ raw: store.raw });
    const agents = (['m1', 'm2'] as const).map(
      (member) =>
        new NetworkReconciler({
          store,
          networkKind,
          networks: factory.forKind<Network>(networkKind),
          members: factory.forKind<Member>(memberKind),
          ipam,
          drivers: defaultNetworkDrivers({ host: nsRunner(member === 'm1' ? m1 : m2) }),
          memberName: member,
          stateRoot: join(stateRoot, member),
          clock: new FakeClock(),
          events: new EventRecorder({
            store,
            logger: silentLogger(),
            metrics: createMetrics(),
            component: 'network-agent',
            host: member,
            clock: new FakeClock(),
          }),
        }),
    );
    factory.start();
    await factory.waitForSync();
    const pass = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        for (const a of agents) await a.reconcile({ name: 'lan' }, ctx);
        await settle();
      }
    };
    await store.create<Network>(networkKind, {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Network',
      metadata: { name: 'lan' },
      spec: { driver: 'vxlan', subnet: '10.45.0.0/24' },
    });
    await settle();
    const plan = addressPlan({ subnet: '10.45.0.0/24' });
    const left = await ipam.allocate({ network: 'lan', plan, owner: { namespace: 'default', instance: 'left', nic: 0 } });
    const right = await ipam.allocate({ network: 'lan', plan, owner: { namespace: 'default', instance: 'right', nic: 0 } });
    await pass();
    let net = await store.get<Network>(networkKind, 'lan');
    expect(net.status?.phase).to.equal('Ready');
    expect(net.status?.members).to.deep.equal([
      { name: 'm1', ready: true },
      { name: 'm2', ready: true },
    ]);

    const n1 = plumbingNames({ network: 'lan', scope: 'm1', stateRoot: join(stateRoot, 'm1') });
    const n2 = plumbingNames({ network: 'lan', scope: 'm2', stateRoot: join(stateRoot, 'm2') });
    const epL = await lab.endpoint({ member: m1, bridge: n1.bridge, suffix: 'l', cidr: `${left}/24`, gateway: '10.45.0.1', mtu: 1450 });
    await lab.endpoint({ member: m2, bridge: n2.bridge, suffix: 'r', cidr: `${right}/24`, gateway: '10.45.0.1', mtu: 1450 });
    expect(await lab.ping(epL, right)).to.equal(true);
    expect(await lab.resolve(epL, 'right', '10.45.0.1')).to.equal(right);

    // m2 fails: m1 stops flooding to it; m2 comes back: the entry returns.
    const vx = new VxlanDriver({ host: nsRunner(m1) });
    await setPhase('m2', 'NotReady');
    await pass();
    expect(await vx.floodPeers(n1.overlay)).to.deep.equal([]);
    await setPhase('m2', 'Ready');
    await pass();
    expect(await vx.floodPeers(n1.overlay)).to.deep.equal(['10.96.0.2']);
    expect(await lab.ping(epL, right)).to.equal(true);

    // Deleting while addresses are held waits; releasing them lets both members tear down.
    await store.delete(networkKind, 'lan', undefined);
    await settle();
    await pass();
    net = await store.get<Network>(networkKind, 'lan');
    expect(net.status?.phase).to.equal('Deleting');
    expect(net.status?.message).to.equal(
      'network "lan" is still in use by default/left nic 0, default/right nic 0; deletion waits until they are gone',
    );
    await ipam.releaseInstance({ namespace: 'default', instance: 'left' });
    await ipam.releaseInstance({ namespace: 'default', instance: 'right' });
    await pass();
    let gone = false;
    await store.get(networkKind, 'lan').catch(() => (gone = true));
    expect(gone).to.equal(true);
    for (const [ns, names] of [
      [m1, n1],
      [m2, n2],
    ] as const) {
      const links = (await nsRunner(ns).run(['ip', '-o', 'link', 'show'])).stdout;
      const tables = (await nsRunner(ns).run(['nft', 'list', 'tables'])).stdout;
      expect(links).to.not.include(names.bridge);
      expect(links).to.not.include(names.overlay);
      expect(tables).to.not.include(names.nftTable);
    }
  });
});
