/**
 * The storage agent (pool and volume controllers) over a real etcd, driving
 * real btrfs on a loop file: pool Ready with capacity, volume quota, snapshot
 * and restore through spec fields, a clone from a snapshot, bad input as
 * NotReady, deletion refused while volumes exist, and a teardown that leaves
 * no mount, loop device or file.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../../lib/controller/clock.js';
import { SharedInformerFactory } from '../../../lib/controller/shared-informer-factory.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import type { StoragePool, Volume } from '../../../lib/kinds/types.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import { EtcdStore } from '../../../lib/store/etcd-store.js';
import type { KubeObject } from '../../../lib/store/types.js';
import { StorageAgent } from '../../../controllers/storage/storage-agent.js';
import { startTestEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { forceCleanup, loopsUnder, mountsUnder, requireBtrfs } from './helpers.js';
import { eventually as poll } from '../../helpers/poll.js';
const eventually = <T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> =>
  poll(what, fn, { timeoutMs: ms, everyMs: 100 }) as Promise<T>;

const api = 'cloudlet.dev/v1alpha1';
const MiB = 2 ** 20;

describe('storage agent over real etcd and real btrfs', function () {
  this.timeout(120_000);
  let etcd: TestEtcd;
  let store: EtcdStore;
  let informers: SharedInformerFactory;
  let agent: StorageAgent;
  let dataDir: string;
  const kinds = KindRegistry.load();
  const poolKind = kinds.resolve('storagepools');
  const volKind = kinds.resolve('volumes');
  const getPool = (name: string) => store.get<StoragePool>(poolKind, name);
  const getVol = (name: string) => store.get<Volume>(volKind, name, 'default');
  const volPath = (name: string) => join(dataDir, 'storage', 'local', 'volumes', `default_${name}`);

  before(async () => {
    await requireBtrfs();
    dataDir = await mkdtemp(join(tmpdir(), 'cloudlet-storage-agent-'));
    etcd = await startTestEtcd();
    store = new EtcdStore({ endpoints: etcd.endpoints, logger: silentLogger(), metrics: createMetrics() });
    const logger = silentLogger();
    const metrics = createMetrics();
    await store.create(kinds.resolve('members'), { apiVersion: api, kind: 'Member', metadata: { name: 'm1' }, spec: {} } as KubeObject);
    informers = new SharedInformerFactory({ store, logger, resyncPeriodMs: 0 });
    const host = { store, kinds, informers, logger, metrics, clock: realClock, memberName: 'm1', dataDir };
    agent = StorageAgent.onHost({
      ...host,
      slowRetryMs: 500,
      resyncMs: 1000,
    });
    const started = agent.start();
    informers.start();
    await started;
  });

  after(async () => {
    await agent?.stop();
    await informers?.stop();
    await store?.close();
    await etcd?.stop();
    if (dataDir) {
      await forceCleanup(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('brings a btrfs pool Ready on the member with capacity and usage', async () => {
    await store.create<StoragePool>(poolKind, {
      apiVersion: api,
      kind: 'StoragePool',
      metadata: { name: 'local' },
      spec: { driver: 'btrfs', size: '256Mi' },
    });
    const pool = await eventually('pool Ready', async () =>
      (await getPool('local')).status?.phase === 'Ready' ? getPool('local') : undefined,
    );
    expect(pool.status?.members?.[0]).to.include({ name: 'm1', ready: true });
    expect(pool.status?.members?.[0]?.capacity).to.equal('256Mi');
    expect(pool.status?.shared).to.equal(false);
  });

  it('reports a pool too small to format as NotReady with the reason', async () => {
    await store.create<StoragePool>(poolKind, {
      apiVersion: api,
      kind: 'StoragePool',
      metadata: { name: 'tiny' },
      spec: { driver: 'btrfs', size: '64Mi' },
    });
    const pool = await eventually('tiny NotReady', async () =>
      (await getPool('tiny')).status?.phase === 'NotReady' ? getPool('tiny') : undefined,
    );
    expect(pool.status?.message).to.match(/below the btrfs minimum/);
  });

  it('reports a missing source path as NotReady with the reason', async () => {
    await store.create<StoragePool>(poolKind, {
      apiVersion: api,
      kind: 'StoragePool',
      metadata: { name: 'nosrc' },
      spec: { driver: 'btrfs', source: '/nonexistent/cloudlet-pool' },
    });
    const pool = await eventually('nosrc NotReady', async () =>
      (await getPool('nosrc')).status?.phase === 'NotReady' ? getPool('nosrc') : undefined,
    );
    expect(pool.status?.message).to.contain('source path /nonexistent/cloudlet-pool does not exist');
  });

  it('makes a Ready volume whose size is enforced on the host', async () => {
    await store.create<Volume>(volKind, {
      apiVersion: api,
      kind: 'Volume',
      metadata: { name: 'data', namespace: 'default' },
      spec: { pool: 'local', size: '16Mi' },
    });
    const vol = await eventually('volume Ready', async () =>
      (await getVol('data')).status?.phase === 'Ready' ? getVol('data') : undefined,
    );
    expect(vol.status?.member).to.equal('m1');
    await writeFile(join(volPath('data'), 'small'), Buffer.alloc(2 * MiB, 1));
    const err = await writeFile(join(volPath('data'), 'big'), Buffer.alloc(32 * MiB, 1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as NodeJS.ErrnoException | undefined)?.errno).to.equal(-122);
    await rm(join(volPath('data'), 'big'), { force: true });
  });

  it('takes a snapshot from spec.snapshots and restores it from spec.restore', async () => {
    await writeFile(join(volPath('data'), 'note'), 'before');
    let vol = await getVol('data');
    await store.update(volKind, { ...vol, spec: { ...vol.spec, pool: 'local', size: '16Mi', snapshots: ['s1'] } });
    await eventually('snapshot listed', async () => ((await getVol('data')).status?.snapshots?.includes('s1') ? true : undefined));
    await writeFile(join(volPath('data'), 'note'), 'after');
    vol = await getVol('data');
    await store.update(volKind, { ...vol, spec: { ...vol.spec, pool: 'local', size: '16Mi', restore: { snapshot: 's1' } } });
    await eventually('restored', async () => ((await getVol('data')).status?.restored === 's1' ? true : undefined));
    expect(await readFile(join(volPath('data'), 'note'), 'utf8')).to.equal('before');
  });

  it('clones a volume from a snapshot', async () => {
    await store.create<Volume>(volKind, {
      apiVersion: api,
      kind: 'Volume',
      metadata: { name: 'copy', namespace: 'default' },
      spec: { pool: 'local', size: '16Mi', source: { snapshot: 'data@s1' } },
    });
    await eventually('clone Ready', async () => ((await getVol('copy')).status?.phase === 'Ready' ? true : undefined));
    expect(await readFile(join(volPath('copy'), 'note'), 'utf8')).to.equal('before');
  });

  it('refuses to delete the pool while volumes exist, then tears it down completely', async () => {
    await store.delete(poolKind, 'local', undefined);
    const blocked = await eventually('DeletionBlocked', async () =>
      (await getPool('local')).status?.conditions?.find((c) => c.type === 'DeletionBlocked' && c.status === 'True'),
    );
    expect(blocked.message).to.contain('default/copy').and.contain('default/data');
    expect(await mountsUnder(dataDir)).to.have.length(1);
    await store.delete(volKind, 'data', 'default');
    await store.delete(volKind, 'copy', 'default');
    await eventually(
      'pool gone',
      async () =>
        await getPool('local').then(
          () => undefined,
          (e: { code?: string }) => (e.code === 'NotFound' ? true : undefined),
        ),
    );
    for (const name of ['tiny', 'nosrc']) await store.delete(poolKind, name, undefined);
    await eventually('all pools gone', async () => ((await store.list(poolKind)).items.length === 0 ? true : undefined));
    expect(await mountsUnder(dataDir)).to.deep.equal([]);
    expect(await loopsUnder(dataDir)).to.deep.equal([]);
  });
});
