/**
 * BaseStorageDriver is the shared base of the storage drivers: every verb a
 * driver does not override throws NotSupportedError, and the helpers here
 * check the names that become paths.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isDirectory } from '../../../lib/host/fs.js';
import { NotSupportedError, ValidationError } from '../../../lib/errors.js';
import { hostRunner, type HostRunner } from '../../../lib/host/exec.js';
import type {
  MountOptions,
  PoolObservation,
  PoolSpec,
  SnapshotRef,
  StorageDriver,
  StorageDriverInfo,
  VolumeObservation,
  VolumeRequest,
} from './types.js';

/** StorageDriverOptions configure every driver: the member's data dir and the process runner. */
export interface StorageDriverOptions {
  /** dataDir is the member's data dir; pools live under `<dataDir>/storage` */
  dataDir: string;
  runner?: HostRunner;
  /** memberName names this member to shared drivers (ceph takes its RBD locks in this name); default: the host name */
  memberName?: string;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** checkName throws ValidationError unless `name` is safe as one path component. */
export function checkName(what: string, name: string): string {
  if (!NAME_RE.test(name) || name.length > 200) throw new ValidationError(`${what} "${name}" is not a valid name (letters, digits, _ . -)`);
  return name;
}

/** BaseStorageDriver implements every verb as NotSupportedError; drivers override what their `info` promises. */
export abstract class BaseStorageDriver implements StorageDriver {
  abstract readonly info: StorageDriverInfo;
  protected readonly runner: HostRunner;
  /** storageDir is `<dataDir>/storage` */
  protected readonly storageDir: string;

  constructor(opts: StorageDriverOptions) {
    this.runner = opts.runner ?? hostRunner;
    this.storageDir = join(opts.dataDir, 'storage');
  }

  /** pruneStorageDir removes `<dataDir>/storage` once no pool is left in it. */
  protected async pruneStorageDir(): Promise<void> {
    if ((await isDirectory(this.storageDir)) && (await readdir(this.storageDir)).length === 0)
      await rmdir(this.storageDir).catch(() => undefined);
  }

  protected unsupported(verb: string): never {
    throw new NotSupportedError(`the ${this.info.name} storage driver does not support ${verb}`);
  }

  abstract ensurePool(pool: PoolSpec): Promise<PoolObservation>;
  abstract observePool(pool: PoolSpec): Promise<PoolObservation>;
  abstract deletePool(pool: PoolSpec): Promise<void>;
  abstract listVolumes(pool: PoolSpec): Promise<string[]>;
  abstract ensureVolume(pool: PoolSpec, vol: VolumeRequest): Promise<VolumeObservation>;
  abstract observeVolume(pool: PoolSpec, name: string): Promise<VolumeObservation>;
  abstract deleteVolume(pool: PoolSpec, name: string): Promise<void>;
  abstract mountVolume(pool: PoolSpec, name: string, opts?: MountOptions): Promise<string>;
  abstract unmountVolume(pool: PoolSpec, name: string): Promise<void>;

  /** resizeVolume: NotSupportedError unless overridden. */
  async resizeVolume(_pool: PoolSpec, _name: string, _sizeBytes: number): Promise<void> {
    this.unsupported('resizing volumes');
  }
  /** createSnapshot: NotSupportedError unless overridden. */
  async createSnapshot(_pool: PoolSpec, _ref: SnapshotRef): Promise<void> {
    this.unsupported('snapshots');
  }
  /** deleteSnapshot: NotSupportedError unless overridden. */
  async deleteSnapshot(_pool: PoolSpec, _ref: SnapshotRef): Promise<void> {
    this.unsupported('snapshots');
  }
  /** listSnapshots: an empty list for drivers without snapshots (there are none to list). */
  async listSnapshots(_pool: PoolSpec, _volume: string): Promise<string[]> {
    return [];
  }
  /** restoreSnapshot: NotSupportedError unless overridden. */
  async restoreSnapshot(_pool: PoolSpec, _ref: SnapshotRef): Promise<void> {
    this.unsupported('snapshots');
  }
}

/** assertPoolSize throws ValidationError when a pool's requested size is below the driver's minimum. */
export function assertPoolSize(info: StorageDriverInfo, pool: PoolSpec): void {
  if (pool.sizeBytes === undefined) throw new ValidationError(`pool ${pool.name}: spec.size is required when no spec.source is given`);
  if (info.minPoolBytes > 0 && pool.sizeBytes < info.minPoolBytes) {
    throw new ValidationError(
      `pool ${pool.name}: size ${pool.sizeBytes} bytes is below the ${info.name} minimum of ${info.minPoolBytes} bytes (${info.minPoolBytes / 2 ** 20}Mi)`,
    );
  }
}
