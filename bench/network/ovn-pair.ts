/**
 * OvnPair builds, for the network bench, one OVN network across two member
 * namespaces (central databases on the first) and an endpoint namespace on
 * each member whose eth0 is a br-int port bound to its logical port — the
 * same plumbing an LXC instance NIC gets from ovn/port-hook.ts, TX checksum
 * offload off included (TCP over the userspace datapath needs it).
 */
import { join } from 'node:path';
import { run } from '../../lib/host/exec.js';
import type { Network } from '../../lib/kinds/types.js';
import { OvnDriver } from '../../controllers/networking/drivers/ovn.js';
import type { LogicalPortPlan } from '../../controllers/networking/drivers/types.js';
import { nicMac } from '../../controllers/networking/naming.js';
import { planNetwork } from '../../controllers/networking/network-plan.js';
import { logicalPortName } from '../../controllers/networking/ovn/northbound.js';
import type { NetnsLab } from '../../test/integration/networking/netns.js';
import { nsRunner } from '../../test/integration/networking/netns.js';

/** OvnMember is one member namespace and its underlay address. */
export interface OvnMember {
  ns: string;
  name: string;
  address: string;
}

/** OvnPairResult: the two endpoint namespaces and addresses, and a cleanup that removes the network and stops every daemon. */
export interface OvnPairResult {
  a: { ns: string; address: string };
  b: { ns: string; address: string };
  cleanup: () => Promise<void>;
}

/** buildOvnPair makes network `ovbench` (10.47.0.0/24) on members `m1` (central) and `m2`, with endpoints .2 on m1 and .3 on m2. */
export async function buildOvnPair(o: { lab: NetnsLab; dataDir: string; m1: OvnMember; m2: OvnMember }): Promise<OvnPairResult> {
  const network: Network = {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Network',
    metadata: { name: 'ovbench', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { driver: 'ovn', subnet: '10.47.0.0/24' },
  };
  const port = (instance: string, address: string): LogicalPortPlan => ({
    name: logicalPortName({ network: 'ovbench', namespace: 'default', instance, nic: 0 }),
    mac: nicMac({ namespace: 'default', instance, nic: 0 }),
    address,
  });
  const ports = [port('a', '10.47.0.2'), port('b', '10.47.0.3')] as const;
  const sides = [o.m1, o.m2].map((m, i) => {
    const dataDir = join(o.dataDir, `ovn-${m.name}`);
    const driver = new OvnDriver({ memberName: m.name, dataDir, host: nsRunner(m.ns) });
    const peer = i === 0 ? o.m2 : o.m1;
    const plan = {
      ...planNetwork({
        network,
        driver: driver.info,
        scope: m.name,
        stateRoot: join(dataDir, 'networks'),
        localAddress: m.address,
        peers: [peer.address],
        hosts: [],
      }),
      central: { member: o.m1.name, address: o.m1.address, local: i === 0 },
      ports: [...ports],
    };
    return { m, driver, plan, port: ports[i] as LogicalPortPlan, suffix: i === 0 ? 'oa' : 'ob' };
  });
  const cleanup = async (): Promise<void> => {
    for (const s of [...sides].reverse()) await s.driver.remove(s.plan.names).catch(() => s.driver.shutdown());
  };
  try {
    for (const s of sides) await s.driver.ensure(s.plan);
    const eps: Array<{ ns: string; address: string }> = [];
    for (const s of sides) {
      const ep = await o.lab.ns(s.suffix);
      const hostDev = `ve${o.lab.tag}${s.suffix}`;
      await o.lab.link({ ns: s.m.ns, dev: hostDev }, { ns: ep, dev: 'eth0' });
      await run(['ip', '-n', ep, 'link', 'set', 'eth0', 'address', s.port.mac, 'mtu', String(s.plan.mtu)]);
      await run(['ip', '-n', ep, 'addr', 'add', `${s.port.address}/${s.plan.prefix}`, 'dev', 'eth0']);
      await run(['ip', 'netns', 'exec', ep, 'ethtool', '-K', 'eth0', 'tx', 'off']);
      await s.driver.plug({ device: hostDev, port: s.port.name, network: 'ovbench' });
      eps.push({ ns: ep, address: s.port.address });
    }
    const [a, b] = eps as [{ ns: string; address: string }, { ns: string; address: string }];
    return { a, b, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
