/**
 * The storage driver contract (DESIGN.md §4): a small interface with a
 * capability object, every verb idempotent (`ensure…` returns what exists,
 * `delete…` treats absent as success, `observe…` never changes the host).
 * Drivers never touch the store: the reconcilers hand them plain specs and
 * get plain observations back. Callers branch on `info`, never on names.
 */

/** StorageDriverName names a driver in the registry (StoragePool spec.driver). */
export type StorageDriverName = 'dir' | 'btrfs' | 'ceph';

/** StorageDriverInfo is a driver's capability object. */
export interface StorageDriverInfo {
  name: StorageDriverName;
  /** shared: every member sees the same data (volumes can move between members) */
  shared: boolean;
  /** snapshots: createSnapshot/deleteSnapshot/listSnapshots/restoreSnapshot work */
  snapshots: boolean;
  /** cowClone: cloneFrom shares blocks with its source (instant, cheap) */
  cowClone: boolean;
  /** quota: a volume's size is enforced (writes past it fail) */
  quota: boolean;
  /** resize: resizeVolume changes the enforced size of an existing volume */
  resize: boolean;
  /** minPoolBytes: smallest pool size the driver accepts when it makes the backing store itself (0: none) */
  minPoolBytes: number;
}

/** PoolSpec is the plain pool description drivers take (from StoragePool spec). */
export interface PoolSpec {
  /** name is the StoragePool name; it names the pool's files under the data dir */
  name: string;
  /** sizeBytes of the backing file a driver makes itself (btrfs loop file) */
  sizeBytes?: number;
  /** source is an existing path (dir, btrfs) to use instead of making a backing store */
  source?: string;
  /** config holds driver settings (ceph: cluster, pool, user, keyring, monitors) */
  config: Record<string, string>;
}

/** PoolObservation is what a member sees of its part of a pool. */
export interface PoolObservation {
  ready: boolean;
  capacityBytes?: number;
  usedBytes?: number;
  /** message says why the pool is not ready, or a short description when it is */
  message: string;
}

/** VolumeSource says what a new volume starts as; absent means empty. */
export type VolumeSource = { kind: 'snapshot'; volume: string; snapshot: string } | { kind: 'image'; imageName: string; imagePath: string };

/** VolumeRequest is the plain volume description drivers take. */
export interface VolumeRequest {
  /** name is unique inside the pool (the reconciler encodes namespace and name) */
  name: string;
  sizeBytes: number;
  source?: VolumeSource;
}

/** VolumeObservation is what exists of one volume on this member. */
export interface VolumeObservation {
  exists: boolean;
  /** path is where the volume's files are on the host when it is mounted or directory-backed */
  path?: string;
  /** sizeBytes is the enforced limit (quota drivers); undefined when not enforced */
  sizeBytes?: number;
  usedBytes?: number;
  snapshots: string[];
}

/** SnapshotRef names one snapshot of one volume. */
export interface SnapshotRef {
  volume: string;
  snapshot: string;
}

/** BrokenLock describes a lock mountVolume broke: whose it was and which of its clients were cut off. */
export interface BrokenLock {
  /** member held the lock */
  member: string;
  /** lock is the driver's name for it (ceph: the RBD lock cookie) */
  lock: string;
  /** blocklisted: the cluster clients of the old holder that may no longer write (ceph: addresses) */
  blocklisted: string[];
}

/** MountOptions tune mountVolume of shared drivers. */
export interface MountOptions {
  /** breakLocksOf names members known to be fenced or NotReady: their stale exclusive mount of the volume may be broken */
  breakLocksOf?: readonly string[];
  /** mayBreakLockOf is asked about the member holding the volume (see lock-break.ts); true lets its stale mount be broken too */
  mayBreakLockOf?: (member: string) => boolean;
  /** onLockBroken hears every lock this mount broke (after the old holder was cut off) */
  onLockBroken?: (broken: BrokenLock) => void;
}

/**
 * StorageDriver is the verb set every driver offers; verbs a driver cannot
 * do (see `info`) throw NotSupportedError. Every verb is idempotent and every
 * multi-step verb undoes its own partial work when it fails.
 */
export interface StorageDriver {
  readonly info: StorageDriverInfo;
  /** ensurePool makes this member's part of the pool usable (create, attach, mount) and observes it */
  ensurePool(pool: PoolSpec): Promise<PoolObservation>;
  /** observePool reports readiness, capacity and usage without changing anything */
  observePool(pool: PoolSpec): Promise<PoolObservation>;
  /** deletePool removes every trace of the pool on this member (volumes, mounts, loop devices, files); absent is success */
  deletePool(pool: PoolSpec): Promise<void>;
  /** listVolumes names the volumes present in the pool */
  listVolumes(pool: PoolSpec): Promise<string[]>;
  /** ensureVolume creates the volume (from its source) when absent and applies its size; returns the observation */
  ensureVolume(pool: PoolSpec, vol: VolumeRequest): Promise<VolumeObservation>;
  /** observeVolume reports the volume without changing anything */
  observeVolume(pool: PoolSpec, name: string): Promise<VolumeObservation>;
  /** resizeVolume sets the enforced size */
  resizeVolume(pool: PoolSpec, name: string, sizeBytes: number): Promise<void>;
  /** deleteVolume removes the volume and its snapshots; absent is success */
  deleteVolume(pool: PoolSpec, name: string): Promise<void>;
  /** createSnapshot makes a read-only point-in-time copy; present is success */
  createSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void>;
  /** deleteSnapshot removes a snapshot; absent is success */
  deleteSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void>;
  /** listSnapshots names a volume's snapshots, sorted */
  listSnapshots(pool: PoolSpec, volume: string): Promise<string[]>;
  /** restoreSnapshot replaces the volume's content with the snapshot's (the volume must not be in use) */
  restoreSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void>;
  /** mountVolume makes the volume visible on this host and returns its path (bind-mount source for instances) */
  mountVolume(pool: PoolSpec, name: string, opts?: MountOptions): Promise<string>;
  /** unmountVolume undoes mountVolume; not mounted is success. A shared driver whose lock another member broke discards what could not be written */
  unmountVolume(pool: PoolSpec, name: string): Promise<void>;
}

/**
 * RootfsCloner is the optional verb set of drivers with `info.cowClone` that
 * keep instance root filesystems as clones of a cached image in the pool.
 */
export interface RootfsCloner {
  /** cloneImage makes `name` a writable CoW clone of the cached image (caching it first); present is success; returns its path */
  cloneImage(pool: PoolSpec, opts: { imageName: string; imagePath: string; name: string }): Promise<string>;
  /** deleteClone removes the clone; absent is success */
  deleteClone(pool: PoolSpec, name: string): Promise<void>;
  /** listClones names the clones in the pool */
  listClones(pool: PoolSpec): Promise<string[]>;
}

/** isRootfsCloner tells whether a driver offers the RootfsCloner verbs (and says so with info.cowClone). */
export function isRootfsCloner(driver: StorageDriver): driver is StorageDriver & RootfsCloner {
  const d = driver as Partial<RootfsCloner>;
  return (
    driver.info.cowClone && typeof d.cloneImage === 'function' && typeof d.deleteClone === 'function' && typeof d.listClones === 'function'
  );
}
