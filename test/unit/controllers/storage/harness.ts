/** Test harness for the storage reconcilers: MemoryStore, real informers, an in-memory fake driver. */
import { realClock } from '../../../../lib/controller/clock.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { ReconcileContext } from '../../../../lib/controller/reconciler.js';
import { SharedInformerFactory } from '../../../../lib/controller/shared-informer-factory.js';
import { NotFoundError } from '../../../../lib/errors.js';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import type { Instance, Member, StoragePool, Volume } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { BaseStorageDriver } from '../../../../controllers/storage/drivers/base.js';
import { STORAGE_DRIVER_INFO, StorageDriverRegistry } from '../../../../controllers/storage/drivers/registry.js';
import type {
  PoolObservation,
  PoolSpec,
  SnapshotRef,
  StorageDriverInfo,
  VolumeObservation,
  VolumeRequest,
} from '../../../../controllers/storage/drivers/types.js';
import { PoolReconciler } from '../../../../controllers/storage/pool-reconciler.js';
import { VolumeReconciler } from '../../../../controllers/storage/volume-reconciler.js';
import { eventually } from '../../../helpers/poll.js';

/** FakeDriver keeps pools and volumes in maps; `failPool` makes ensurePool throw that message. */
export class FakeDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = { ...STORAGE_DRIVER_INFO.btrfs, minPoolBytes: 0 };
  pools = new Set<string>();
  volumes = new Map<string, { size: number; snaps: Set<string>; restoredFrom?: string }>();
  failPool: string | undefined;
  calls: string[] = [];
  constructor() {
    super({ dataDir: '/nonexistent' });
  }
  async ensurePool(p: PoolSpec): Promise<PoolObservation> {
    this.calls.push(`ensurePool ${p.name}`);
    if (this.failPool) throw new NotFoundError(this.failPool);
    this.pools.add(p.name);
    return this.observePool(p);
  }
  async observePool(p: PoolSpec): Promise<PoolObservation> {
    return this.pools.has(p.name)
      ? { ready: true, capacityBytes: 1 << 30, usedBytes: 1 << 20, message: 'ok' }
      : { ready: false, message: 'absent' };
  }
  async deletePool(p: PoolSpec): Promise<void> {
    this.calls.push(`deletePool ${p.name}`);
    this.pools.delete(p.name);
  }
  async listVolumes(): Promise<string[]> {
    return [...this.volumes.keys()];
  }
  async ensureVolume(p: PoolSpec, v: VolumeRequest): Promise<VolumeObservation> {
    const cur = this.volumes.get(v.name) ?? { size: v.sizeBytes, snaps: new Set<string>() };
    cur.size = v.sizeBytes;
    this.volumes.set(v.name, cur);
    return this.observeVolume(p, v.name);
  }
  async observeVolume(_p: PoolSpec, name: string): Promise<VolumeObservation> {
    const v = this.volumes.get(name);
    return v
      ? { exists: true, path: `/fake/${name}`, sizeBytes: v.size, usedBytes: 4096, snapshots: [...v.snaps].sort() }
      : { exists: false, snapshots: [] };
  }
  async deleteVolume(_p: PoolSpec, name: string): Promise<void> {
    this.calls.push(`deleteVolume ${name}`);
    this.volumes.delete(name);
  }
  override async createSnapshot(_p: PoolSpec, r: SnapshotRef): Promise<void> {
    this.volumes.get(r.volume)?.snaps.add(r.snapshot);
  }
  override async deleteSnapshot(_p: PoolSpec, r: SnapshotRef): Promise<void> {
    this.volumes.get(r.volume)?.snaps.delete(r.snapshot);
  }
  override async restoreSnapshot(_p: PoolSpec, r: SnapshotRef): Promise<void> {
    this.calls.push(`restore ${r.volume}@${r.snapshot}`);
  }
  async mountVolume(_p: PoolSpec, name: string): Promise<string> {
    return `/fake/${name}`;
  }
  async unmountVolume(_p: PoolSpec, _name: string): Promise<void> {}
}

export const ctx: ReconcileContext = { log: silentLogger(), signal: new AbortController().signal, reconcileId: 't', controller: 'test' };

/** waitFor polls `check` until it returns true (informers are asynchronous). */
export async function waitFor(check: () => boolean, what = 'condition'): Promise<void> {
  await eventually(what, check, { timeoutMs: 2_000, everyMs: 10 });
}

/** makeHarness builds one member's storage reconcilers over a MemoryStore. */
export async function makeHarness(memberName = 'm1') {
  const store = new MemoryStore();
  const kinds = KindRegistry.load();
  const logger = silentLogger();
  const metrics = createMetrics();
  const informers = new SharedInformerFactory({ store, logger, resyncPeriodMs: 0 });
  const k = {
    pool: kinds.resolve('storagepools'),
    volume: kinds.resolve('volumes'),
    member: kinds.resolve('members'),
    instance: kinds.resolve('instances'),
  };
  const pools = informers.forKind<StoragePool>(k.pool);
  const volumes = informers.forKind<Volume>(k.volume);
  const members = informers.forKind<Member>(k.member);
  const instances = informers.forKind<Instance>(k.instance);
  const driver = new FakeDriver();
  const drivers = new StorageDriverRegistry({ dataDir: '/nonexistent' }, { btrfs: () => driver });
  const events = new EventRecorder({ store, logger, metrics, component: 'storage-agent', host: memberName, clock: realClock });
  await store.create(k.member, {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name: memberName },
    spec: {},
  } as KubeObject);
  informers.start();
  await informers.waitForSync();
  const poolR = new PoolReconciler({ store, poolKind: k.pool, pools, volumes, members, drivers, events, clock: realClock, memberName });
  const volR = new VolumeReconciler({
    store,
    volumeKind: k.volume,
    volumes,
    pools,
    instances,
    drivers,
    events,
    clock: realClock,
    memberName,
  });
  return { store, kinds, k, informers, pools, volumes, members, instances, driver, poolR, volR, stop: () => informers.stop() };
}
