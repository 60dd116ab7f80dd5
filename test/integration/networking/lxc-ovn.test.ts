import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CopyRootfsProvider } from '../../../controllers/instances/images/rootfs.js';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import type { ImageInfo } from '../../../controllers/instances/images/types.js';
import { LxcRuntime } from '../../../controllers/instances/runtimes/lxc.js';
import { containerNameFor, hostnameFor } from '../../../controllers/instances/runtimes/naming.js';
import { OvnDriver } from '../../../controllers/networking/drivers/ovn.js';
import { NetworkDriverRegistry } from '../../../controllers/networking/drivers/registry.js';
import { Ipam } from '../../../controllers/networking/ipam.js';
import { logicalPorts, planNetwork } from '../../../controllers/networking/network-plan.js';
import { NicPlumber } from '../../../controllers/networking/nic-plumber.js';
import { OvnSupervisor } from '../../../controllers/networking/ovn/supervisor.js';
import { run } from '../../../lib/host/exec.js';
import { which } from '../../../lib/host/which.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import type { Instance, Network } from '../../../lib/kinds/types.js';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import { preflight } from '../lxc/helpers.js';
import { NetnsLab, nsRunner } from './netns.js';

const kinds = KindRegistry.load();
const networkKind = kinds.resolve('networks');

/** Member is one member namespace with its OVN driver, NIC plumber and LXC runtime. */
interface Member {
  name: string;
  ns: string;
  address: string;
  driver: OvnDriver;
  plumber: NicPlumber;
  runtime: LxcRuntime;
  rootfs: CopyRootfsProvider;
  dataDir: string;
}

describe('instance NICs in real LXC containers on an ovn network across two members', function () {
  this.timeout(300_000);
  const lab = new NetnsLab();
  let root = '';
  const members: Member[] = [];
  const containers: Array<{ m: Member; name: string }> = [];

  before(async () => {
    await preflight();
    await NetnsLab.requireTools();
    await OvnSupervisor.requireTools(true);
    await which('ethtool');
    root = await mkdtemp(join(tmpdir(), 'cl-lxc-ovn-'));
  });
  after(async () => {
    for (const { m, name } of containers) {
      await m.runtime.stop(name, { force: true }).catch(() => undefined);
      await m.runtime.delete(name).catch(() => undefined);
      await m.rootfs.deleteRootfs(name).catch(() => undefined);
    }
    for (const m of members) await m.driver.shutdown().catch(() => undefined);
    await lab.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('lets busybox containers on two members ping each other over the overlay, isolates a second network, and unplugs their ports when they stop', async () => {
    const store = new MemoryStore();
    const ipam = new Ipam({ raw: store.raw });
    const m1ns = await lab.ns('m1');
    const m2ns = await lab.ns('m2');
    await lab.link({ ns: m1ns, dev: 'under', cidr: '10.97.0.1/24' }, { ns: m2ns, dev: 'under', cidr: '10.97.0.2/24' });
    for (const [name, ns, address] of [
      ['m1', m1ns, '10.97.0.1'],
      ['m2', m2ns, '10.97.0.2'],
    ] as const) {
      const dataDir = join(root, name);
      const host = nsRunner(ns);
      const driver = new OvnDriver({ memberName: name, dataDir, host });
      const plumber = new NicPlumber({
        store,
        networkKind,
        ipam,
        drivers: new NetworkDriverRegistry([driver]),
        memberName: name,
        stateRoot: join(dataDir, 'networks'),
      });
      members.push({
        name,
        ns,
        address,
        driver,
        plumber,
        dataDir,
        runtime: new LxcRuntime({ dataDir, runner: host, defaultStopTimeoutSeconds: 5 }),
        rootfs: new CopyRootfsProvider({ dataDir }),
      });
    }
    const [m1, m2] = members as [Member, Member];
    const networks: Network[] = [];
    for (const [name, subnet] of [
      ['lan', '10.45.0.0/24'],
      ['other', '10.46.0.0/24'],
    ] as const) {
      const n = await store.create<Network>(networkKind, {
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Network',
        metadata: { name },
        spec: { driver: 'ovn', subnet },
      });
      networks.push(
        await store.update<Network>(
          networkKind,
          {
            ...n,
            status: {
              members: [
                { name: 'm1', ready: true },
                { name: 'm2', ready: true },
              ],
            },
          },
          { subresource: 'status' },
        ),
      );
    }
    // What the network agents do: plan every network with the central member m1 and the logical ports from IPAM.
    const ensureAll = async (): Promise<void> => {
      for (const net of networks) {
        for (const m of [m1, m2]) {
          const peer = m === m1 ? m2 : m1;
          const plan = planNetwork({
            network: net,
            driver: m.driver.info,
            scope: m.name,
            stateRoot: join(m.dataDir, 'networks'),
            localAddress: m.address,
            peers: [peer.address],
            hosts: [],
          });
          await m.driver.ensure({
            ...plan,
            central: { member: 'm1', address: m1.address, local: m === m1 },
            ports: logicalPorts(net.metadata.name, await ipam.list(net.metadata.name)),
          });
        }
      }
    };
    await ensureAll();

    const image: ImageInfo = await new ImageStore({ imagesDir: join(root, 'images') }).ensure('busybox');
    const define = async (m: Member, name: string, network: string): Promise<string> => {
      const instance: Instance = {
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Instance',
        metadata: { name, namespace: 'default' },
        spec: { image: 'busybox', nics: [{ network }] },
      };
      const containerName = containerNameFor({ dataDir: m.dataDir, namespace: 'default', name });
      containers.push({ m, name: containerName });
      const rootfsPath = await m.rootfs.ensureRootfs({ containerName, image });
      const nics = await m.plumber.nicsFor(instance, rootfsPath);
      await m.runtime.ensureCreated({
        containerName,
        hostname: hostnameFor(name),
        rootfsPath,
        nics,
        mounts: [],
        distro: image.distro,
        haltSignal: image.haltSignal,
      });
      return containerName;
    };
    const alpha = await define(m1, 'alpha', 'lan');
    const beta = await define(m2, 'beta', 'lan');
    const gamma = await define(m2, 'gamma', 'other');
    await ensureAll();
    for (const { m, name } of containers) await m.runtime.start(name);

    const exec = (m: Member, c: string, argv: string[]): Promise<number> =>
      m.runtime.exec(c, argv, { stdin: 'ignore', stdout: new PassThrough().resume(), timeoutMs: 20_000 });
    const pingEventually = async (m: Member, c: string, target: string): Promise<boolean> => {
      // Flows arrive asynchronously after ovn-controller binds a port: allow a few rounds.
      for (let i = 0; i < 20; i++) if ((await exec(m, c, ['ping', '-c', '1', '-W', '1', target])) === 0) return true;
      return false;
    };
    const addressOf = async (network: string, instance: string): Promise<string> =>
      (await ipam.list(network)).find((x) => x.owner.instance === instance)?.address ?? '';
    const [alphaIp, betaIp, gammaIp] = [await addressOf('lan', 'alpha'), await addressOf('lan', 'beta'), await addressOf('other', 'gamma')];
    expect([alphaIp, betaIp, gammaIp]).to.deep.equal(['10.45.0.2', '10.45.0.3', '10.46.0.2']);
    expect((await m2.runtime.observe(beta)).addresses).to.include(betaIp);

    expect(await pingEventually(m1, alpha, betaIp)).to.equal(true);
    expect(await pingEventually(m2, beta, alphaIp)).to.equal(true);
    // TCP across the overlay: needs TX checksum offload off in the containers (the start-host hook, with ethtool).
    expect(await exec(m2, beta, ['sh', '-c', 'nc -l -p 7000 </dev/null >/tmp/got 2>&1 & sleep 0.3'])).to.equal(0);
    const sent = await exec(m1, alpha, ['sh', '-c', 'echo over-tcp | nc -w 3 ' + betaIp + ' 7000']);
    await new Promise((r) => setTimeout(r, 500));
    expect({ sent, got: await exec(m2, beta, ['grep', '-q', 'over-tcp', '/tmp/got']) }).to.deep.equal({ sent: 0, got: 0 });
    // Isolation: gamma treats lan's subnet as on-link, so only a shared segment could answer; beta sits on gamma's own member.
    expect(await exec(m2, gamma, ['ip', 'route', 'add', '10.45.0.0/24', 'dev', 'eth0'])).to.equal(0);
    expect(await exec(m2, gamma, ['ping', '-c', '2', '-W', '1', betaIp])).to.not.equal(0);
    expect(await exec(m2, gamma, ['ping', '-c', '2', '-W', '1', alphaIp])).to.not.equal(0);

    // The up hook bound each veth to its logical port in the member's own database; the down hook removes it on stop.
    const ports = async (m: Member): Promise<string> =>
      (
        await run([
          'ip',
          'netns',
          'exec',
          m.ns,
          'ovs-vsctl',
          `--db=${m.driver.layout.ovsDb}`,
          '--bare',
          '--columns=name,external_ids',
          'find',
          'interface',
          'external_ids:cloudlet-network=lan',
        ])
      ).stdout;
    expect(await ports(m1)).to.match(/iface-id="?cl-lan-default-alpha-0/);
    for (const { m, name } of containers) await m.runtime.stop(name, { force: true });
    expect((await ports(m1)).trim()).to.equal('');
    expect((await ports(m2)).trim()).to.equal('');
    await store.close();
  });
});
