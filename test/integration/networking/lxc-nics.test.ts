import { expect } from 'chai';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import type { Instance, Network } from '../../../lib/kinds/types.js';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import type { ImageInfo } from '../../../controllers/instances/images/types.js';
import { LxcRuntime } from '../../../controllers/instances/runtimes/lxc.js';
import { CopyRootfsProvider } from '../../../controllers/instances/images/rootfs.js';
import { containerNameFor, hostnameFor } from '../../../controllers/instances/runtimes/naming.js';
import { NetworkDriverRegistry } from '../../../controllers/networking/drivers/registry.js';
import { BridgeDriver } from '../../../controllers/networking/drivers/bridge.js';
import { Ipam } from '../../../controllers/networking/ipam.js';
import { NicPlumber } from '../../../controllers/networking/nic-plumber.js';
import { hostEntries, planNetwork } from '../../../controllers/networking/network-plan.js';
import { preflight } from '../lxc/helpers.js';
import { NetnsLab, nsRunner } from './netns.js';
import { eventually } from '../../helpers/poll.js';

const kinds = KindRegistry.load();
const networkKind = kinds.resolve('networks');

describe('instance NICs in real LXC containers on a bridge network', function () {
  this.timeout(180_000);
  const lab = new NetnsLab();
  let dataDir = '';
  let runtime: LxcRuntime | undefined;
  let rootfs: CopyRootfsProvider | undefined;
  const containers: string[] = [];
  let removePlumbing: (() => Promise<void>) | undefined;

  before(async () => {
    await preflight();
    await NetnsLab.requireTools();
    dataDir = await mkdtemp(join(tmpdir(), 'cl-net-lxc-'));
  });
  after(async () => {
    for (const c of containers) {
      await nsRunner(`cn${lab.tag}m1`)
        .run(['lxc-stop', '-P', runtime?.lxcPath ?? '', '-n', c, '-k'], { okExitCodes: [0, 1, 2], timeoutMs: 30_000 })
        .catch(() => undefined);
      await runtime?.delete(c);
      await rootfs?.deleteRootfs(c);
    }
    await removePlumbing?.();
    await lab.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('plumbs veths with addresses, so instances ping each other by address and name and reach outside through NAT', async () => {
    const m1 = await lab.ns('m1');
    const outside = await lab.ns('out');
    await lab.link({ ns: m1, dev: 'uplink', cidr: '10.98.0.1/24' }, { ns: outside, dev: 'eth0', cidr: '10.98.0.2/24' });
    const host = nsRunner(m1);
    const driver = new BridgeDriver({ host });
    const store = new MemoryStore();
    const ipam = new Ipam({ raw: store.raw });
    const created = await store.create<Network>(networkKind, {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Network',
      metadata: { name: 'lan' },
      spec: { driver: 'bridge', subnet: '10.44.0.0/24', nat: true, dns: true },
    });
    const net = await store.update<Network>(
      networkKind,
      { ...created, status: { members: [{ name: 'm1', ready: true }] } },
      { subresource: 'status' },
    );
    const stateRoot = join(dataDir, 'networks');
    const ensure = async (): Promise<void> => {
      const hosts = hostEntries(await ipam.list('lan'));
      await driver.ensure(planNetwork({ network: net, driver: driver.info, scope: 'm1', stateRoot, peers: [], hosts }));
    };
    await ensure();
    removePlumbing = () =>
      driver.remove(planNetwork({ network: net, driver: driver.info, scope: 'm1', stateRoot, peers: [], hosts: [] }).names);
    const plumber = new NicPlumber({ store, networkKind, ipam, drivers: new NetworkDriverRegistry([driver]), memberName: 'm1', stateRoot });

    runtime = new LxcRuntime({ dataDir, runner: host, defaultStopTimeoutSeconds: 5 });
    rootfs = new CopyRootfsProvider({ dataDir });
    const image: ImageInfo = await new ImageStore({ imagesDir: join(dataDir, 'images') }).ensure('busybox');
    const names = ['alpha', 'beta'];
    for (const name of names) {
      const instance: Instance = {
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Instance',
        metadata: { name, namespace: 'default' },
        spec: { image: 'busybox', nics: [{ network: 'lan' }] },
      };
      const containerName = containerNameFor({ dataDir, namespace: 'default', name });
      containers.push(containerName);
      const rootfsPath = await rootfs.ensureRootfs({ containerName, image });
      const nics = await plumber.nicsFor(instance, rootfsPath);
      await runtime.ensureCreated({
        containerName,
        hostname: hostnameFor(name),
        rootfsPath,
        nics,
        mounts: [],
        distro: image.distro,
        haltSignal: image.haltSignal,
      });
    }
    // The network agent would do this on the allocation watch: DNS learns the new names.
    await ensure();
    for (const c of containers) await runtime.start(c);
    const [alpha, beta] = containers as [string, string];
    const inAlpha = async (argv: string[]): Promise<number> =>
      (runtime as LxcRuntime).exec(alpha, argv, { stdin: 'ignore', stdout: new PassThrough().resume(), timeoutMs: 20_000 });
    let obs = await runtime.observe(beta);
    await eventually(
      'beta to report 10.44.0.3',
      async () => ((obs = await (runtime as LxcRuntime).observe(beta)).addresses ?? []).includes('10.44.0.3'),
      { timeoutMs: 5_000, everyMs: 100 },
    ).catch(() => undefined);
    expect(obs.addresses).to.include('10.44.0.3');
    expect(await inAlpha(['ping', '-c', '1', '-W', '2', '10.44.0.3'])).to.equal(0);
    expect(await inAlpha(['ping', '-c', '1', '-W', '2', 'beta'])).to.equal(0);
    expect(await inAlpha(['ping', '-c', '1', '-W', '2', '10.98.0.2'])).to.equal(0);
    // The subnet's broadcast address, not whatever LXC would guess.
    const addr = new PassThrough();
    const chunks: Buffer[] = [];
    addr.on('data', (c: Buffer) => chunks.push(c));
    expect(
      await (runtime as LxcRuntime).exec(alpha, ['ip', '-4', 'addr', 'show', 'eth0'], { stdin: 'ignore', stdout: addr, timeoutMs: 20_000 }),
    ).to.equal(0);
    expect(Buffer.concat(chunks).toString('utf8')).to.match(/inet 10\.44\.0\.2\/24 brd 10\.44\.0\.255 /);
    await plumber.release({ metadata: { name: 'alpha', namespace: 'default' } });
    await plumber.release({ metadata: { name: 'beta', namespace: 'default' } });
    expect(await ipam.listAll()).to.deep.equal([]);
    await store.close();
  });
});
