/**
 * BtrfsDriver: a pool is a btrfs filesystem — a sparse loop file
 * `<dataDir>/storage/<pool>.img` mounted at `<dataDir>/storage/<pool>`, or an
 * existing btrfs path (spec.source); the paths inside it are in
 * btrfs-layout.ts. The driver composes one part per capability:
 * - btrfs-pool.ts: the filesystem (loop file, mount, quotas, layout);
 * - btrfs-volumes.ts: volumes as subvolumes, their size as a qgroup limit;
 * - btrfs-snapshots.ts: read-only snapshots, restore, and CoW clones of images;
 * - btrfs-images.ts: the read-only image cache the clones are made from.
 *
 * Every verb is idempotent; multi-step verbs undo themselves on failure.
 */
import { BaseStorageDriver, type StorageDriverOptions } from './base.js';
import { BtrfsImageCache, type ImageRef } from './btrfs-images.js';
import { BtrfsLayout } from './btrfs-layout.js';
import { BtrfsPool } from './btrfs-pool.js';
import { BtrfsSnapshots } from './btrfs-snapshots.js';
import { BtrfsVolumes } from './btrfs-volumes.js';
import type { PoolObservation, PoolSpec, SnapshotRef, StorageDriverInfo, VolumeObservation, VolumeRequest } from './types.js';

/** BTRFS_MIN_POOL_BYTES: mkfs.btrfs refuses devices under ~109 MiB (DUP metadata); we ask for 128 MiB. */
export const BTRFS_MIN_POOL_BYTES = 128 * 2 ** 20;

/** BTRFS_INFO is the btrfs driver's capability object: local, snapshots, CoW clones, quota. */
export const BTRFS_INFO: Readonly<StorageDriverInfo> = {
  name: 'btrfs',
  shared: false,
  snapshots: true,
  cowClone: true,
  quota: true,
  resize: true,
  minPoolBytes: BTRFS_MIN_POOL_BYTES,
};

/** BtrfsDriver is the btrfs storage driver; see the file comment. Each verb is its part's. */
export class BtrfsDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = BTRFS_INFO;
  private readonly layout: BtrfsLayout;
  private readonly images: BtrfsImageCache;
  private readonly snapshots: BtrfsSnapshots;
  private readonly volumes: BtrfsVolumes;
  private readonly pool: BtrfsPool;

  constructor(opts: StorageDriverOptions) {
    super(opts);
    this.layout = new BtrfsLayout(this.storageDir);
    const ctx = { runner: this.runner, layout: this.layout };
    this.images = new BtrfsImageCache(ctx);
    this.snapshots = new BtrfsSnapshots(ctx, this.images);
    this.volumes = new BtrfsVolumes(ctx, this.images, this.snapshots);
    this.pool = new BtrfsPool(ctx, { info: this.info, volumes: this.volumes });
  }

  /** rootOf is the pool's btrfs root on this member (the mount point, or spec.source). */
  rootOf(pool: PoolSpec): string {
    return this.layout.rootOf(pool);
  }
  /** imageFileOf is the loop file of a pool without spec.source. */
  imageFileOf(pool: PoolSpec): string {
    return this.layout.imageFileOf(pool);
  }

  /** ensurePool: see BtrfsPool.ensurePool. */
  async ensurePool(pool: PoolSpec): Promise<PoolObservation> {
    return this.pool.ensurePool(pool);
  }
  /** observePool: see BtrfsPool.observePool. */
  async observePool(pool: PoolSpec): Promise<PoolObservation> {
    return this.pool.observePool(pool);
  }
  /** deletePool deletes the pool (BtrfsPool.deletePool), then the storage directory once no loop-file pool is left in it. */
  async deletePool(pool: PoolSpec): Promise<void> {
    await this.pool.deletePool(pool);
    if (pool.source === undefined) await this.pruneStorageDir();
  }

  /** listVolumes: see BtrfsVolumes.listVolumes. */
  async listVolumes(pool: PoolSpec): Promise<string[]> {
    return this.volumes.listVolumes(pool);
  }
  /** ensureVolume: see BtrfsVolumes.ensureVolume. */
  async ensureVolume(pool: PoolSpec, vol: VolumeRequest): Promise<VolumeObservation> {
    return this.volumes.ensureVolume(pool, vol);
  }
  /** observeVolume: see BtrfsVolumes.observeVolume. */
  async observeVolume(pool: PoolSpec, name: string): Promise<VolumeObservation> {
    return this.volumes.observeVolume(pool, name);
  }
  /** resizeVolume: see BtrfsVolumes.resizeVolume. */
  override async resizeVolume(pool: PoolSpec, name: string, sizeBytes: number): Promise<void> {
    return this.volumes.resizeVolume(pool, name, sizeBytes);
  }
  /** deleteVolume: see BtrfsVolumes.deleteVolume. */
  async deleteVolume(pool: PoolSpec, name: string): Promise<void> {
    return this.volumes.deleteVolume(pool, name);
  }
  /** mountVolume: see BtrfsVolumes.mountVolume. */
  async mountVolume(pool: PoolSpec, name: string): Promise<string> {
    return this.volumes.mountVolume(pool, name);
  }
  /** unmountVolume: see BtrfsVolumes.unmountVolume. */
  async unmountVolume(pool: PoolSpec, name: string): Promise<void> {
    return this.volumes.unmountVolume(pool, name);
  }

  /** createSnapshot: see BtrfsSnapshots.createSnapshot. */
  override async createSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    return this.snapshots.createSnapshot(pool, ref);
  }
  /** deleteSnapshot: see BtrfsSnapshots.deleteSnapshot. */
  override async deleteSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    return this.snapshots.deleteSnapshot(pool, ref);
  }
  /** listSnapshots: see BtrfsSnapshots.listSnapshots. */
  override async listSnapshots(pool: PoolSpec, volume: string): Promise<string[]> {
    return this.snapshots.listSnapshots(pool, volume);
  }
  /** restoreSnapshot: see BtrfsSnapshots.restoreSnapshot. */
  override async restoreSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    return this.snapshots.restoreSnapshot(pool, ref);
  }

  /** ensureImage: see BtrfsImageCache.ensureImage. */
  async ensureImage(pool: PoolSpec, opts: ImageRef): Promise<string> {
    return this.images.ensureImage(pool, opts);
  }
  /** cloneImage: see BtrfsSnapshots.cloneImage. */
  async cloneImage(pool: PoolSpec, opts: ImageRef & { name: string }): Promise<string> {
    return this.snapshots.cloneImage(pool, opts);
  }
  /** deleteClone: see BtrfsSnapshots.deleteClone. */
  async deleteClone(pool: PoolSpec, name: string): Promise<void> {
    return this.snapshots.deleteClone(pool, name);
  }
  /** listClones: see BtrfsSnapshots.listClones. */
  async listClones(pool: PoolSpec): Promise<string[]> {
    return this.snapshots.listClones(pool);
  }
}
