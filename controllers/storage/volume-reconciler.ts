/**
 * VolumeReconciler is the host-agent half of Volume. For a local pool one
 * member holds each volume (status.member, claimed by compare-and-swap on
 * the status write; the member of an instance using it goes first); only
 * the holder acts. It creates the volume (empty, from a snapshot or from an
 * image), keeps its size, snapshots (spec.snapshots) and restores
 * (spec.restore), and reports phase, used bytes and attachedTo. A volume
 * that an Instance names in spec.volumes is never deleted: the finalizer
 * stays and condition InUse names the instance.
 */
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import type { Informer } from '../../lib/controller/informer.js';
import { getCondition, removeCondition, setCondition } from '../../lib/controller/conditions.js';
import { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from '../../lib/controller/finalizers.js';
import { updateStatus } from '../../lib/controller/status.js';
import { errorMessage, isCode, NotSupportedError } from '../../lib/errors.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import { formatBytes, parseQuantity } from '../../lib/kinds/quantity.js';
import type { Instance, StoragePool, Volume, VolumeStatus } from '../../lib/kinds/types.js';
import type { ImageInfo } from '../instances/images/types.js';
import type { PoolSpec, StorageDriver, VolumeRequest, VolumeSource } from './drivers/types.js';
import { toPoolSpec } from './pool-plan.js';
import { storageRequeue, type StorageReconcilerOptions, type StorageRequeue } from './storage-reconciler.js';
import {
  decideHolder,
  parseSnapshotSource,
  type HolderDecision,
  restoreKey,
  snapshotPlan,
  VOLUME_FINALIZER,
  volumeKey,
  volumeUsers,
} from './volume-plan.js';

/** ImageSource resolves an image reference to a cached image (the member's ImageStore). */
export interface ImageSource {
  ensure(ref: string): Promise<ImageInfo>;
}

/** VolumeReconcilerOptions wire the reconciler for one member. */
export interface VolumeReconcilerOptions extends StorageReconcilerOptions {
  volumeKind: KindInfo;
  volumes: Informer<Volume>;
  pools: Informer<StoragePool>;
  instances: Informer<Instance>;
  images?: ImageSource;
}

/** VolumeReconciler drives the volumes this member holds; see the file comment. */
export class VolumeReconciler implements Reconciler {
  private readonly requeue: StorageRequeue;
  constructor(private readonly o: VolumeReconcilerOptions) {
    this.requeue = storageRequeue(o);
  }

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const cached = this.o.volumes.get({ namespace: req.namespace, name: req.name });
    if (!cached) return {};
    const me = this.o.memberName;
    const users = this.users(cached);
    const pool = this.o.pools.get({ name: cached.spec?.pool ?? '' });
    const readyHere = pool?.status?.members?.some((m) => m.name === me && m.ready === true) ?? false;
    const userMembers = users.map((u) => this.o.instances.get({ namespace: cached.metadata.namespace, name: u })?.status?.member ?? '');
    const poolName = cached.spec?.pool ?? '';
    const holder = decideHolder({
      me,
      holder: cached.status?.member,
      userMembers,
      poolName,
      poolExists: pool !== undefined,
      poolReadyHere: readyHere,
    });
    if (holder.action === 'wait') {
      if (!cached.status?.member && !isBeingDeleted(cached)) await this.waiting(cached, holder);
      return isBeingDeleted(cached) && !cached.status?.member
        ? this.dropUnheld(cached, users)
        : cached.status?.member
          ? {}
          : this.requeue.slow;
    }
    let vol = cached;
    if (holder.action === 'claim') {
      try {
        vol = await this.o.store.update<Volume>(
          this.o.volumeKind,
          { ...cached, status: { ...cached.status, member: me, phase: 'Creating', message: `placed on member ${me}` } },
          { subresource: 'status' },
        );
      } catch (err) {
        if (isCode(err, 'Conflict')) return { requeueAfter: 100 };
        throw err;
      }
    }
    if (isBeingDeleted(vol)) return this.delete(vol, pool, users);
    if (!pool) return this.fail(vol, 'Pending', `StoragePool "${poolName}" does not exist`);
    if (!readyHere) return this.fail(vol, 'Pending', `pool ${pool.metadata.name} is not ready on member ${me}`);
    if (!hasFinalizer(vol, VOLUME_FINALIZER))
      vol = await this.o.store.update<Volume>(this.o.volumeKind, addFinalizer(vol, VOLUME_FINALIZER));
    try {
      return await this.ensure(vol, pool, users);
    } catch (err) {
      void this.o.events.warning(vol, 'VolumeFailed', errorMessage(err));
      return this.fail(vol, 'Failed', errorMessage(err));
    }
  }

  /**
   * waiting reports why an unheld volume waits: Pending with the reason; for
   * a missing pool also a Ready=False condition (PoolNotFound) and a Warning
   * Event, written once by whichever member writes the change first.
   */
  private async waiting(vol: Volume, holder: Extract<HolderDecision, { action: 'wait' }>): Promise<void> {
    const missing = holder.missingPool !== undefined;
    const message = missing ? holder.reason : `waiting for a member: ${holder.reason}`;
    if (vol.status?.phase === 'Pending' && vol.status.message === message) return;
    const written = await this.writeStatus(vol, (s) => {
      s.phase = 'Pending';
      s.message = message;
      if (missing) {
        s.conditions = setCondition(
          s.conditions,
          { type: 'Ready', status: 'False', reason: 'PoolNotFound', message, observedGeneration: vol.metadata.generation },
          this.o.clock.now(),
        );
      } else if (getCondition(s.conditions, 'Ready')?.reason === 'PoolNotFound') {
        s.conditions = removeCondition(s.conditions, 'Ready');
      }
    });
    if (missing && written.metadata.resourceVersion !== vol.metadata.resourceVersion) {
      void this.o.events.warning(written, 'PoolNotFound', `${message}; the volume waits until it is created`);
    }
  }

  private users(vol: Volume): string[] {
    return volumeUsers(vol, this.o.instances.list());
  }

  private async ensure(vol: Volume, pool: StoragePool, users: string[]): Promise<Result> {
    const driver = this.o.drivers.get(pool.spec?.driver ?? '');
    const poolSpec = toPoolSpec(pool);
    const ns = vol.metadata.namespace ?? 'default';
    const key = volumeKey(ns, vol.metadata.name);
    const request: VolumeRequest = { name: key, sizeBytes: parseQuantity(vol.spec?.size, 'spec.size') };
    const source = await this.source(vol);
    if (source) request.source = source;
    let obs = await driver.ensureVolume(poolSpec, request);
    const notes: string[] = [];
    let restored = vol.status?.restored;
    if (driver.info.snapshots) {
      const plan = snapshotPlan(vol.spec?.snapshots, obs.snapshots);
      for (const s of plan.create) await driver.createSnapshot(poolSpec, { volume: key, snapshot: s });
      for (const s of plan.delete) await driver.deleteSnapshot(poolSpec, { volume: key, snapshot: s });
      restored = await this.restore(vol, driver, poolSpec, key, users, notes);
      obs = await driver.observeVolume(poolSpec, key);
    } else if ((vol.spec?.snapshots ?? []).length > 0 || vol.spec?.restore) {
      notes.push(`pool ${pool.metadata.name} (${driver.info.name}) has no snapshots`);
    }
    if (!driver.info.quota) notes.push(`size is not enforced by the ${driver.info.name} driver`);
    await this.writeStatus(vol, (s) => {
      s.phase = 'Ready';
      s.member = this.o.memberName;
      if (obs.usedBytes !== undefined) s.used = formatBytes(obs.usedBytes);
      s.snapshots = obs.snapshots;
      if (restored !== undefined) s.restored = restored;
      if (users[0] !== undefined) s.attachedTo = users.join(',');
      else delete s.attachedTo;
      s.message = notes.length > 0 ? notes.join('; ') : `ready on member ${this.o.memberName}`;
      s.conditions = setCondition(
        s.conditions,
        { type: 'Ready', status: 'True', reason: 'Ready', message: s.message, observedGeneration: vol.metadata.generation },
        this.o.clock.now(),
      );
      s.conditions = removeCondition(s.conditions, 'InUse');
    });
    return this.requeue.resync;
  }

  private async restore(
    vol: Volume,
    driver: StorageDriver,
    pool: PoolSpec,
    key: string,
    users: string[],
    notes: string[],
  ): Promise<string | undefined> {
    const want = restoreKey(vol);
    const snapshot = vol.spec?.restore?.snapshot;
    if (want === undefined || snapshot === undefined || want === vol.status?.restored) return vol.status?.restored;
    if (users.length > 0) {
      notes.push(`restore of ${snapshot} waits: the volume is used by ${users.join(', ')}`);
      return vol.status?.restored;
    }
    await driver.restoreSnapshot(pool, { volume: key, snapshot });
    void this.o.events.normal(vol, 'Restored', `restored snapshot ${snapshot}`);
    return want;
  }

  private async source(vol: Volume): Promise<VolumeSource | undefined> {
    const src = vol.spec?.source;
    if (src?.snapshot) {
      const s = parseSnapshotSource(src.snapshot);
      return { kind: 'snapshot', volume: volumeKey(vol.metadata.namespace ?? 'default', s.volume), snapshot: s.snapshot };
    }
    if (src?.image) {
      if (!this.o.images) throw new NotSupportedError('this member has no image store for image-sourced volumes');
      const image = await this.o.images.ensure(src.image);
      return { kind: 'image', imageName: `${image.name}-vol`, imagePath: image.rootfsPath };
    }
    return undefined;
  }

  /** delete removes the held volume unless an instance uses it, then drops the finalizer. */
  private async delete(vol: Volume, pool: StoragePool | undefined, users: string[]): Promise<Result> {
    if (!hasFinalizer(vol, VOLUME_FINALIZER)) return {};
    if (users.length > 0) return this.blockInUse(vol, users);
    if (pool) {
      try {
        await this.o.drivers
          .get(pool.spec?.driver ?? '')
          .deleteVolume(toPoolSpec(pool), volumeKey(vol.metadata.namespace ?? 'default', vol.metadata.name));
      } catch (err) {
        return this.fail(vol, 'Deleting', `deleting the data failed: ${errorMessage(err)}`);
      }
    }
    await this.o.store.update<Volume>(this.o.volumeKind, removeFinalizer(vol, VOLUME_FINALIZER));
    return {};
  }

  /** dropUnheld finishes deleting a volume no member ever held (nothing on any host to remove). */
  private async dropUnheld(vol: Volume, users: string[]): Promise<Result> {
    if (!hasFinalizer(vol, VOLUME_FINALIZER)) return {};
    if (users.length > 0) return this.blockInUse(vol, users);
    await this.o.store.update<Volume>(this.o.volumeKind, removeFinalizer(vol, VOLUME_FINALIZER));
    return {};
  }

  private async blockInUse(vol: Volume, users: string[]): Promise<Result> {
    const message = `volume is in use by instance(s) ${users.map((u) => `${vol.metadata.namespace}/${u}`).join(', ')}; it is deleted once no instance names it`;
    await this.writeStatus(vol, (s) => {
      s.phase = 'Deleting';
      s.message = message;
      s.conditions = setCondition(s.conditions, { type: 'InUse', status: 'True', reason: 'UsedByInstance', message }, this.o.clock.now());
    });
    void this.o.events.warning(vol, 'VolumeInUse', message);
    return this.requeue.slow;
  }

  private async fail(vol: Volume, phase: NonNullable<VolumeStatus['phase']>, message: string): Promise<Result> {
    await this.writeStatus(vol, (s) => {
      s.phase = phase;
      s.message = message;
      s.conditions = setCondition(
        s.conditions,
        { type: 'Ready', status: 'False', reason: phase, message, observedGeneration: vol.metadata.generation },
        this.o.clock.now(),
      );
    });
    return this.requeue.slow;
  }

  /** writeStatus applies `change` to the latest status and writes it when it changed (a conflict re-reads, four writes at most). */
  private async writeStatus(vol: Volume, change: (s: VolumeStatus) => void): Promise<Volume> {
    const key = { name: vol.metadata.name, namespace: vol.metadata.namespace };
    const written = await updateStatus<Volume>(
      this.o.store,
      this.o.volumeKind,
      key,
      (latest) => {
        const status: VolumeStatus = structuredClone(latest.status ?? {});
        change(status);
        status.observedGeneration = latest.metadata.generation;
        return status;
      },
      { latest: vol, attempts: 4 },
    );
    // updateStatus resolves undefined only with ifGone: 'skip'.
    return written ?? vol;
  }
}
