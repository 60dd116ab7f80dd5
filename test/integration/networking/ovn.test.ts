import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../lib/host/exec.js';
import { pathExists } from '../../../lib/host/fs.js';
import { OvnDriver } from '../../../controllers/networking/drivers/ovn.js';
import type { LogicalPortPlan, NetworkPlan } from '../../../controllers/networking/drivers/types.js';
import { logicalPortName } from '../../../controllers/networking/ovn/northbound.js';
import { OvnSupervisor } from '../../../controllers/networking/ovn/supervisor.js';
import { nicMac } from '../../../controllers/networking/naming.js';
import { planNetwork } from '../../../controllers/networking/network-plan.js';
import type { Network } from '../../../lib/kinds/types.js';
import { NetnsLab, nsRunner } from './netns.js';

function network(name: string, subnet: string): Network {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Network',
    metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { driver: 'ovn', subnet },
  };
}

function port(net: string, instance: string, address: string): LogicalPortPlan {
  return {
    name: logicalPortName({ network: net, namespace: 'default', instance, nic: 0 }),
    mac: nicMac({ namespace: 'default', instance, nic: 0 }),
    address,
  };
}

describe('ovn driver on two member namespaces', function () {
  this.timeout(240_000);
  const lab = new NetnsLab();
  let root = '';
  const drivers: OvnDriver[] = [];

  before(async () => {
    await NetnsLab.requireTools();
    await OvnSupervisor.requireTools(true);
    root = await mkdtemp(join(tmpdir(), 'cloudlet-ovn-'));
  });
  after(async () => {
    // Whatever a failed test left: daemons stopped by PID, namespaces and dirs removed.
    for (const d of drivers) await d.shutdown().catch(() => undefined);
    await lab.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  /** endpoint makes an "instance" namespace whose eth0 (the port's MAC and address) is plugged into br-int on `member`. */
  async function endpoint(o: {
    driver: OvnDriver;
    member: string;
    suffix: string;
    port: LogicalPortPlan;
    prefix: number;
    net: string;
    mtu: number;
  }): Promise<string> {
    const ep = await lab.ns(o.suffix);
    const hostDev = `ve${lab.tag}${o.suffix}`;
    await lab.link({ ns: o.member, dev: hostDev }, { ns: ep, dev: 'eth0' });
    await run(['ip', '-n', ep, 'link', 'set', 'eth0', 'address', o.port.mac, 'mtu', String(o.mtu)]);
    await run(['ip', '-n', ep, 'addr', 'add', `${o.port.address}/${o.prefix}`, 'dev', 'eth0']);
    await o.driver.plug({ device: hostDev, port: o.port.name, network: o.net });
    return ep;
  }

  async function pingEventually(ns: string, target: string): Promise<boolean> {
    // Flows arrive asynchronously after a port binds: allow a few rounds.
    for (let i = 0; i < 15; i++) if (await lab.ping(ns, target, 1)) return true;
    return false;
  }

  it('pings across members over the VXLAN overlay, isolates two networks, and leaves no NB object, port, daemon or moved address after removal', async () => {
    const m1 = await lab.ns('m1');
    const m2 = await lab.ns('m2');
    await lab.link({ ns: m1, dev: 'under', cidr: '10.97.0.1/24' }, { ns: m2, dev: 'under', cidr: '10.97.0.2/24' });
    const d1 = new OvnDriver({ memberName: 'm1', dataDir: join(root, 'm1'), host: nsRunner(m1) });
    const d2 = new OvnDriver({ memberName: 'm2', dataDir: join(root, 'm2'), host: nsRunner(m2) });
    drivers.push(d1, d2);
    const central = { member: 'm1', address: '10.97.0.1' };
    const lanPorts = [port('lan', 'left', '10.45.0.2'), port('lan', 'right', '10.45.0.3')];
    const otherPorts = [port('other', 'o1', '10.46.0.2'), port('other', 'o2', '10.46.0.3')];
    const plans = (net: Network, ports: LogicalPortPlan[]): [NetworkPlan, NetworkPlan] => [
      {
        ...planNetwork({
          network: net,
          driver: d1.info,
          scope: 'm1',
          stateRoot: join(root, 'm1', 'networks'),
          localAddress: '10.97.0.1',
          peers: ['10.97.0.2'],
          hosts: [],
        }),
        central: { ...central, local: true },
        ports,
      },
      {
        ...planNetwork({
          network: net,
          driver: d2.info,
          scope: 'm2',
          stateRoot: join(root, 'm2', 'networks'),
          localAddress: '10.97.0.2',
          peers: ['10.97.0.1'],
          hosts: [],
        }),
        central: { ...central, local: false },
        ports,
      },
    ];
    const [lan1, lan2] = plans(network('lan', '10.45.0.0/24'), lanPorts);
    const [oth1, oth2] = plans(network('other', '10.46.0.0/24'), otherPorts);
    for (const [d, p] of [
      [d1, lan1],
      [d2, lan2],
      [d1, oth1],
      [d2, oth2],
    ] as const)
      await d.ensure(p);
    await d1.ensure(lan1);
    expect(await d1.observe(lan1)).to.deep.equal({ exists: true, ready: true, problems: [] });
    expect(await d2.observe(lan2)).to.deep.equal({ exists: true, ready: true, problems: [] });
    expect(lan1.mtu).to.equal(1450);

    const [pl, pr] = lanPorts as [LogicalPortPlan, LogicalPortPlan];
    const [po1, po2] = otherPorts as [LogicalPortPlan, LogicalPortPlan];
    const left = await endpoint({ driver: d1, member: m1, suffix: 'l', port: pl, prefix: 24, net: 'lan', mtu: lan1.mtu });
    await endpoint({ driver: d2, member: m2, suffix: 'r', port: pr, prefix: 24, net: 'lan', mtu: lan2.mtu });
    const o1 = await endpoint({ driver: d1, member: m1, suffix: 'a', port: po1, prefix: 24, net: 'other', mtu: oth1.mtu });
    const o2 = await endpoint({ driver: d2, member: m2, suffix: 'b', port: po2, prefix: 24, net: 'other', mtu: oth2.mtu });

    expect(await pingEventually(left, pr.address)).to.equal(true);
    expect(await pingEventually(o1, po2.address)).to.equal(true);
    // The tunnel really carries it: m1's datapath pushes VXLAN headers toward m2.
    const flows = await run([
      'ip',
      'netns',
      'exec',
      m1,
      'ovs-appctl',
      `--target=${join(root, 'm1', 'ovs', 'ovs-vswitchd.ctl')}`,
      'dpctl/dump-flows',
    ]);
    expect(flows.stdout).to.match(/tnl_push\(tnl_port\(\d+\),header\(.*vxlan/);

    // Isolation: o2 treats lan's subnet as on-link, so only a shared L2 segment could answer.
    await run(['ip', '-n', o2, 'route', 'add', '10.45.0.0/24', 'dev', 'eth0']);
    expect(await lab.ping(o2, pl.address, 2)).to.equal(false);
    expect(await lab.ping(o2, pr.address, 2)).to.equal(false);

    // A NIC leaving the plan loses its logical port, and the port stops working.
    await d1.ensure({ ...lan1, ports: [pl] });
    expect(await lab.ping(left, pr.address, 2)).to.equal(false);

    // Removing lan everywhere (the idempotent second remove included) leaves other working and nothing of lan.
    await d2.remove(lan2.names);
    await d1.remove(lan1.names);
    await d1.remove(lan1.names);
    const nb = `--db=unix:${join(root, 'm1', 'ovn', 'ovnnb_db.sock')}`;
    expect((await run(['ovn-nbctl', nb, '--bare', '--columns=name', 'list', 'logical_switch'])).stdout.trim()).to.equal('cl-other');
    for (const [ns, d] of [
      [m1, d1],
      [m2, d2],
    ] as const) {
      const ports = (await run(['ip', 'netns', 'exec', ns, 'ovs-vsctl', `--db=${d.layout.ovsDb}`, 'list-ports', 'br-int'])).stdout;
      expect(ports).to.not.match(/ve\w+[lr]\n/);
    }
    expect(await pingEventually(o1, po2.address)).to.equal(true);

    await d2.remove(oth2.names);
    await d1.remove(oth1.names);
    for (const [ns, d, addr] of [
      [m1, d1, '10.97.0.1'],
      [m2, d2, '10.97.0.2'],
    ] as const) {
      expect((await d.supervisor.states()).filter((s) => s.pid !== undefined)).to.deep.equal([]);
      expect(await pathExists(d.layout.ovsDir)).to.equal(false);
      expect(await pathExists(d.layout.ovnDir)).to.equal(false);
      const links = (await run(['ip', '-n', ns, '-o', 'link', 'show'])).stdout;
      expect(links, links).to.not.match(/br-int|br-phy|ovs-netdev/);
      expect((await run(['ip', '-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'under'])).stdout).to.include(`${addr}/24`);
    }
    expect(
      await pingEventually(m1, '10.97.0.2'),
      (await run(['ip', '-n', m1, 'addr'])).stdout + (await run(['ip', '-n', m1, 'route'])).stdout,
    ).to.equal(true);
    expect(await d1.observe(lan1)).to.include({ exists: false });
  });
});
