/**
 * Instances on storage, end to end on one member: the storage agent and the
 * instance agent over a MemoryStore, real btrfs and real LXC. The instance's
 * root filesystem is a CoW snapshot in the pool (spec.rootfs.pool), its
 * volume is bind-mounted at /data, writing past the volume size fails inside
 * the container, and the volume cannot be deleted while the instance uses it.
 */
import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { realClock } from '../../../lib/controller/clock.js';
import { EventRecorder } from '../../../lib/controller/events.js';
import { SharedInformerFactory } from '../../../lib/controller/shared-informer-factory.js';
import { run } from '../../../lib/host/exec.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import type { Instance, StoragePool, Volume } from '../../../lib/kinds/types.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../lib/store/types.js';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import { CopyRootfsProvider } from '../../../controllers/instances/images/rootfs.js';
import { InstanceAgent } from '../../../controllers/instances/instance-agent.js';
import { LxcRuntime } from '../../../controllers/instances/runtimes/lxc.js';
import { isSubvolume } from '../../../controllers/storage/drivers/btrfs-host.js';
import { StorageAgent } from '../../../controllers/storage/storage-agent.js';
import { preflight } from '../lxc/helpers.js';
import { forceCleanup, loopsUnder, mountsUnder, requireBtrfs } from './helpers.js';
import { eventually as poll } from '../../helpers/poll.js';
const eventually = <T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> =>
  poll(what, fn, { timeoutMs: ms, everyMs: 200 }) as Promise<T>;

const api = 'cloudlet.dev/v1alpha1';

describe('instances with a CoW rootfs and a quota volume (real btrfs, real LXC)', function () {
  this.timeout(300_000);
  const kinds = KindRegistry.load();
  const k = {
    pool: kinds.resolve('storagepools'),
    vol: kinds.resolve('volumes'),
    inst: kinds.resolve('instances'),
    member: kinds.resolve('members'),
  };
  const store = new MemoryStore();
  const logger = silentLogger();
  const metrics = createMetrics();
  let dataDir = '';
  let informers: SharedInformerFactory;
  let storage: StorageAgent;
  let agent: InstanceAgent;
  let runtime: LxcRuntime;

  before(async () => {
    await preflight();
    await requireBtrfs();
    dataDir = await mkdtemp(join(tmpdir(), 'cl-inst-storage-'));
    // Unprivileged instances: their mapped root must be able to walk to its rootfs (mkdtemp makes 0700).
    await chmod(dataDir, 0o711);
    await store.create(k.member, { apiVersion: api, kind: 'Member', metadata: { name: 'm1' }, spec: {} } as KubeObject);
    informers = new SharedInformerFactory({ store, logger, resyncPeriodMs: 0 });
    const host = { store, kinds, informers, logger, metrics, clock: realClock, memberName: 'm1', dataDir };
    storage = StorageAgent.onHost({
      ...host,
      slowRetryMs: 500,
      resyncMs: 2000,
    });
    runtime = new LxcRuntime({ dataDir, defaultStopTimeoutSeconds: 5 });
    agent = new InstanceAgent({
      store,
      instanceKind: k.inst,
      instances: informers.forKind<Instance>(k.inst),
      memberName: 'm1',
      dataDir,
      runtime,
      images: new ImageStore({ imagesDir: join(dataDir, 'images') }),
      rootfs: storage.rootfsProvider(new CopyRootfsProvider({ dataDir })),
      volumes: storage.volumeMounter(),
      events: new EventRecorder({ store, logger, metrics, component: 'instance-agent', host: 'm1' }),
      logger,
      metrics,
      clock: realClock,
      stopTimeoutSeconds: 5,
    });
    const started = Promise.all([storage.start(), agent.start()]);
    informers.start();
    await started;
  });

  after(async () => {
    await agent?.stop();
    await storage?.stop();
    await informers?.stop();
    if (dataDir) {
      for (const name of await runtime.list()) {
        await run(['lxc-stop', '-P', runtime.lxcPath, '-n', name, '-k'], { okExitCodes: [0, 1, 2], timeoutMs: 30_000 }).catch(
          () => undefined,
        );
        await runtime.delete(name).catch(() => undefined);
      }
      await forceCleanup(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('runs an instance on a pool rootfs with its volume mounted and the size enforced inside', async () => {
    await store.create<StoragePool>(k.pool, {
      apiVersion: api,
      kind: 'StoragePool',
      metadata: { name: 'local' },
      spec: { driver: 'btrfs', size: '512Mi' },
    });
    await store.create<Volume>(k.vol, {
      apiVersion: api,
      kind: 'Volume',
      metadata: { name: 'data', namespace: 'default' },
      spec: { pool: 'local', size: '16Mi' },
    });
    await eventually('volume Ready', async () =>
      (await store.get<Volume>(k.vol, 'data', 'default')).status?.phase === 'Ready' ? true : undefined,
    );
    const created = await store.create<Instance>(k.inst, {
      apiVersion: api,
      kind: 'Instance',
      metadata: { name: 'web', namespace: 'default' },
      spec: { image: 'busybox', state: 'Running', rootfs: { pool: 'local' }, volumes: [{ name: 'data', path: '/data' }] },
    });
    await store.update<Instance>(
      k.inst,
      { ...created, status: { phase: 'Scheduled', member: 'm1', placementEpoch: 1, observedGeneration: 1 } },
      { subresource: 'status' },
    );
    const web = await eventually('instance Running', async () => {
      const i = await store.get<Instance>(k.inst, 'web', 'default');
      return i.status?.phase === 'Running' ? i : undefined;
    });
    const container = web.status?.containerName ?? '';
    expect(await isSubvolume(join(dataDir, 'storage', 'local', 'rootfs', container))).to.equal(true);

    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (b: Buffer) => chunks.push(b));
    const quiet = { stdin: 'ignore' as const, stdout: out, stderr: out, timeoutMs: 60_000 };
    expect(await runtime.exec(container, ['/bin/sh', '-c', 'echo hello > /data/hello'], quiet)).to.equal(0);
    expect(await readFile(join(dataDir, 'storage', 'local', 'volumes', 'default_data', 'hello'), 'utf8')).to.equal('hello\n');
    const code = await runtime.exec(container, ['/bin/sh', '-c', 'dd if=/dev/zero of=/data/big bs=1M count=32 && sync'], quiet);
    expect(code).to.not.equal(0);
    expect(Buffer.concat(chunks).toString()).to.match(/quota exceeded/i);
    const attached = await eventually('attachedTo', async () =>
      (await store.get<Volume>(k.vol, 'data', 'default')).status?.attachedTo === 'web' ? true : undefined,
    );
    expect(attached).to.equal(true);
  });

  it('keeps the volume while the instance uses it and frees everything after', async () => {
    await store.delete(k.vol, 'data', 'default');
    const inUse = await eventually('InUse', async () =>
      (await store.get<Volume>(k.vol, 'data', 'default')).status?.conditions?.find((c) => c.type === 'InUse'),
    );
    expect(inUse.message).to.contain('default/web');
    await store.delete(k.inst, 'web', 'default');
    await eventually(
      'instance gone',
      async () =>
        await store.get(k.inst, 'web', 'default').then(
          () => undefined,
          () => true,
        ),
    );
    await eventually(
      'volume gone',
      async () =>
        await store.get(k.vol, 'data', 'default').then(
          () => undefined,
          () => true,
        ),
    );
    await store.delete(k.pool, 'local', undefined);
    await eventually(
      'pool gone',
      async () =>
        await store.get(k.pool, 'local').then(
          () => undefined,
          () => true,
        ),
    );
    expect(await mountsUnder(dataDir)).to.deep.equal([]);
    expect(await loopsUnder(dataDir)).to.deep.equal([]);
  });
});
