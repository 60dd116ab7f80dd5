/**
 * Network benchmark (bench/network). In one run, on two "members" (network
 * namespaces joined by a plain veth pair, the underlay):
 * - ping round-trip and TCP throughput (iperf3) between two endpoints on a
 *   vxlan network and on an ovn network (OVS userspace datapath, VXLAN
 *   encapsulation) across the members, against the same between the two
 *   member namespaces over the plain veth pair (the ratio is the overlay's
 *   cost). The ovn samples come after the others: building OVN moves each
 *   member's underlay address onto br-phy;
 * - time from `lxc-start` of a busybox instance with a NIC on a bridge
 *   network to its address answering ping from the member.
 * Prints a table and writes bench/results/network.json.
 *
 *   node --import tsx bench/network/run.ts [--samples 3] [--seconds 3]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/host/exec.js';
import { which } from '../../lib/host/which.js';
import { MemoryStore } from '../../lib/store/memory-store.js';
import { KindRegistry } from '../../lib/kinds/registry.js';
import type { Instance, Network } from '../../lib/kinds/types.js';
import { VxlanDriver } from '../../controllers/networking/drivers/vxlan.js';
import { BridgeDriver } from '../../controllers/networking/drivers/bridge.js';
import { NetworkDriverRegistry } from '../../controllers/networking/drivers/registry.js';
import { planNetwork } from '../../controllers/networking/network-plan.js';
import { Ipam } from '../../controllers/networking/ipam.js';
import { NicPlumber } from '../../controllers/networking/nic-plumber.js';
import { LxcRuntime } from '../../controllers/instances/runtimes/lxc.js';
import { CopyRootfsProvider } from '../../controllers/instances/images/rootfs.js';
import { ImageStore } from '../../controllers/instances/images/image-store.js';
import { containerNameFor } from '../../controllers/instances/runtimes/naming.js';
import { NetnsLab, nsRunner } from '../../test/integration/networking/netns.js';
import { percentile, printTable, ratio } from '../common.js';
import { buildOvnPair } from './ovn-pair.js';
import { OvnSupervisor } from '../../controllers/networking/ovn/supervisor.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function net(name: string, spec: Network['spec']): Network {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Network', metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' }, spec };
}

/** pingRtt sends `count` quick pings and returns the average round trip (ms). */
async function pingRtt(ns: string, target: string, count: number): Promise<number> {
  const r = await run(['ip', 'netns', 'exec', ns, 'busybox', 'ping', '-q', '-c', String(count), '-i', '0.05', target]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  if (!m) throw new Error(`unexpected ping output: ${r.stdout}`);
  return Number(m[1]);
}

/** throughput runs iperf3 for `seconds` from client namespace to server namespace; Gbit/s received. */
async function throughput(server: string, client: string, address: string, seconds: number): Promise<number> {
  const port = String(5201 + Math.floor(Math.random() * 1000));
  const srv = run(['ip', 'netns', 'exec', server, 'iperf3', '-s', '-1', '-p', port, '-B', address], { timeoutMs: (seconds + 30) * 1000 });
  for (let attempt = 0; ; attempt++) {
    const r = await run(['ip', 'netns', 'exec', client, 'iperf3', '-c', address, '-p', port, '-t', String(seconds), '-J'], {
      okExitCodes: [0, 1],
    });
    if (r.exitCode === 0) {
      await srv;
      const doc = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
      return (doc.end?.sum_received?.bits_per_second ?? NaN) / 1e9;
    }
    if (attempt > 20) throw new Error(`iperf3 client failed: ${r.stdout.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function main(): Promise<void> {
  const samples = arg('samples', 3);
  const seconds = arg('seconds', 3);
  await NetnsLab.requireTools();
  await which('iperf3', { package: 'iperf3' });
  await which('ethtool');
  await OvnSupervisor.requireTools(true);
  const lab = new NetnsLab();
  const dataDir = await mkdtemp(join(tmpdir(), 'cl-bench-net-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const m1 = await lab.ns('m1');
    const m2 = await lab.ns('m2');
    await lab.link({ ns: m1, dev: 'under', cidr: '10.97.0.1/24' }, { ns: m2, dev: 'under', cidr: '10.97.0.2/24' });
    const d1 = new VxlanDriver({ host: nsRunner(m1) });
    const d2 = new VxlanDriver({ host: nsRunner(m2) });
    const wide = net('wide', { driver: 'vxlan', subnet: '10.43.0.0/24', dns: false });
    const p1 = planNetwork({
      network: wide,
      driver: d1.info,
      scope: 'm1',
      stateRoot: join(dataDir, 'm1'),
      localAddress: '10.97.0.1',
      peers: ['10.97.0.2'],
      hosts: [],
    });
    const p2 = planNetwork({
      network: wide,
      driver: d2.info,
      scope: 'm2',
      stateRoot: join(dataDir, 'm2'),
      localAddress: '10.97.0.2',
      peers: ['10.97.0.1'],
      hosts: [],
    });
    cleanups.push(
      () => d1.remove(p1.names),
      () => d2.remove(p2.names),
    );
    await d1.ensure(p1);
    await d2.ensure(p2);
    const epA = await lab.endpointOn(m1, p1, { suffix: 'a', cidr: '10.43.0.2/24', gateway: '10.43.0.1' });
    const epB = await lab.endpointOn(m2, p2, { suffix: 'b', cidr: '10.43.0.3/24', gateway: '10.43.0.1' });
    await pingRtt(epA, '10.43.0.3', 3);
    await pingRtt(m1, '10.97.0.2', 3);

    const rtt = { veth: [] as number[], vxlan: [] as number[], ovn: [] as number[] };
    const gbps = { veth: [] as number[], vxlan: [] as number[], ovn: [] as number[] };
    for (let i = 0; i < samples; i++) {
      rtt.veth.push(await pingRtt(m1, '10.97.0.2', 50));
      rtt.vxlan.push(await pingRtt(epA, '10.43.0.3', 50));
      gbps.veth.push(await throughput(m2, m1, '10.97.0.2', seconds));
      gbps.vxlan.push(await throughput(epB, epA, '10.43.0.3', seconds));
    }

    const ovn = await buildOvnPair({
      lab,
      dataDir,
      m1: { ns: m1, name: 'm1', address: '10.97.0.1' },
      m2: { ns: m2, name: 'm2', address: '10.97.0.2' },
    });
    cleanups.push(ovn.cleanup);
    // Flows arrive asynchronously after the ports bind.
    for (
      let tries = 0;
      (await run(['ip', 'netns', 'exec', ovn.a.ns, 'busybox', 'ping', '-c', '1', '-W', '1', ovn.b.address], { okExitCodes: [0, 1] }))
        .exitCode !== 0;
      tries++
    ) {
      if (tries > 30) throw new Error('the ovn endpoints never answered each other');
    }
    for (let i = 0; i < samples; i++) {
      rtt.ovn.push(await pingRtt(ovn.a.ns, ovn.b.address, 50));
      gbps.ovn.push(await throughput(ovn.b.ns, ovn.a.ns, ovn.b.address, seconds));
    }

    // Instance start → its address answers ping, on a bridge network in m1.
    const bridge = new BridgeDriver({ host: nsRunner(m1) });
    const kinds = KindRegistry.load();
    const networkKind = kinds.resolve('networks');
    const store = new MemoryStore();
    const created = await store.create<Network>(networkKind, net('lan', { driver: 'bridge', subnet: '10.44.0.0/24', dns: false }));
    const lan = await store.update<Network>(
      networkKind,
      { ...created, status: { members: [{ name: 'm1', ready: true }] } },
      { subresource: 'status' },
    );
    const lanPlan = planNetwork({ network: lan, driver: bridge.info, scope: 'm1', stateRoot: join(dataDir, 'net'), peers: [], hosts: [] });
    cleanups.push(() => bridge.remove(lanPlan.names));
    await bridge.ensure(lanPlan);
    const plumber = new NicPlumber({
      store,
      networkKind,
      ipam: new Ipam({ raw: store.raw }),
      drivers: new NetworkDriverRegistry([bridge]),
      memberName: 'm1',
      stateRoot: join(dataDir, 'net'),
    });
    const runtime = new LxcRuntime({ dataDir, runner: nsRunner(m1), defaultStopTimeoutSeconds: 5 });
    const rootfs = new CopyRootfsProvider({ dataDir });
    const image = await new ImageStore({ imagesDir: join(dataDir, 'images') }).ensure('busybox');
    const startToPing: number[] = [];
    for (let i = 0; i < samples; i++) {
      const name = `bench${i}`;
      const containerName = containerNameFor({ dataDir, namespace: 'default', name });
      cleanups.push(async () => {
        await nsRunner(m1)
          .run(['lxc-stop', '-P', runtime.lxcPath, '-n', containerName, '-k'], { okExitCodes: [0, 1, 2] })
          .catch(() => undefined);
        await runtime.delete(containerName);
        await rootfs.deleteRootfs(containerName);
      });
      const instance: Instance = {
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Instance',
        metadata: { name, namespace: 'default' },
        spec: { image: 'busybox', nics: [{ network: 'lan' }] },
      };
      const rootfsPath = await rootfs.ensureRootfs({ containerName, image });
      const nics = await plumber.nicsFor(instance, rootfsPath);
      await runtime.ensureCreated({
        containerName,
        hostname: name,
        rootfsPath,
        nics,
        mounts: [],
        distro: image.distro,
        haltSignal: image.haltSignal,
      });
      const address = (nics[0]?.address ?? '').split('/')[0] ?? '';
      const t0 = performance.now();
      await runtime.start(containerName);
      // Poll with single pings that wait at most 1 s for an answer.
      for (let tries = 0; ; tries++) {
        const r = await run(['ip', 'netns', 'exec', m1, 'busybox', 'ping', '-c', '1', '-W', '1', address], { okExitCodes: [0, 1] });
        if (r.exitCode === 0) break;
        if (tries > 60) throw new Error(`${address} never answered`);
      }
      startToPing.push(performance.now() - t0);
      await runtime.stop(containerName, { force: true });
    }
    await store.close();

    const med = (xs: number[]): number => percentile(xs, 50);
    // A measure's row: the median per path, then vxlan and ovn against plain veth.
    const row = (label: string, xs: typeof rtt, digits: number): string[] => {
      const [veth, vxlan, ovn] = [med(xs.veth), med(xs.vxlan), med(xs.ovn)];
      return [
        label,
        veth.toFixed(digits),
        vxlan.toFixed(digits),
        ovn.toFixed(digits),
        ratio(vxlan, veth).toFixed(2),
        ratio(ovn, veth).toFixed(2),
      ];
    };
    const rows = [row('ping RTT (ms, median of avg)', rtt, 3), row('TCP throughput (Gbit/s, median)', gbps, 2)];
    printTable(['measure', 'plain veth', 'vxlan', 'ovn', 'vxlan/veth', 'ovn/veth'], rows);
    printTable(
      ['instance start → address answers ping (ms)', 'median', 'max'],
      [['bridge network, busybox', med(startToPing).toFixed(0), Math.max(...startToPing).toFixed(0)]],
    );
    const result = {
      when: new Date().toISOString(),
      samples,
      iperfSeconds: seconds,
      pingRttMs: { veth: rtt.veth, vxlan: rtt.vxlan, ratio: ratio(med(rtt.vxlan), med(rtt.veth)) },
      tcpGbps: { veth: gbps.veth, vxlan: gbps.vxlan, ratio: ratio(med(gbps.vxlan), med(gbps.veth)) },
      ovn: {
        pingRttMs: rtt.ovn,
        tcpGbps: gbps.ovn,
        rttRatio: ratio(med(rtt.ovn), med(rtt.veth)),
        tcpRatio: ratio(med(gbps.ovn), med(gbps.veth)),
      },
      instanceStartToPingMs: startToPing,
      notes:
        'two network namespaces on one kernel joined by a veth pair (underlay); vxlan endpoints are namespaces on each member bridge; ovn endpoints are namespaces whose veth is a br-int port (OVS userspace datapath, VXLAN encap, TX checksum offload off), measured after the others; machine shared with other jobs',
    };
    await mkdir(join(process.cwd(), 'bench', 'results'), { recursive: true });
    await writeFile(join(process.cwd(), 'bench', 'results', 'network.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup failed:', err));
    await lab.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
