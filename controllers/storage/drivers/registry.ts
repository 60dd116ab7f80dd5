/**
 * The explicit storage driver registry: one map from driver name to factory,
 * built at start-up and passed down (no import-time registration).
 */
import { NotSupportedError } from '../../../lib/errors.js';
import type { StorageDriverOptions } from './base.js';
import { BTRFS_INFO, BtrfsDriver } from './btrfs.js';
import { CEPH_INFO, CephDriver } from './ceph.js';
import { DIR_INFO, DirDriver } from './dir.js';
import type { StorageDriver, StorageDriverInfo, StorageDriverName } from './types.js';

/** StorageDriverFactory builds a driver for one member. */
export type StorageDriverFactory = (opts: StorageDriverOptions) => StorageDriver;

/** STORAGE_DRIVERS maps every driver name to its factory. */
export const STORAGE_DRIVERS: Partial<Record<StorageDriverName, StorageDriverFactory>> = {
  dir: (o) => new DirDriver(o),
  btrfs: (o) => new BtrfsDriver(o),
  ceph: (o) => new CephDriver(o),
};

/**
 * STORAGE_DRIVER_INFO maps every driver name to its capability object, the
 * same object each driver exposes as `info`, for code that decides from
 * capabilities without a driver on its member (the failover controller asks
 * whether a pool's driver is `shared`).
 */
export const STORAGE_DRIVER_INFO: Readonly<Record<StorageDriverName, Readonly<StorageDriverInfo>>> = {
  dir: DIR_INFO,
  btrfs: BTRFS_INFO,
  ceph: CEPH_INFO,
};

/** StorageDriverRegistry holds one driver instance per name for a member; `get` throws NotSupportedError for an unknown or unbuilt driver. */
export class StorageDriverRegistry {
  private readonly drivers = new Map<string, StorageDriver>();
  constructor(
    private readonly opts: StorageDriverOptions,
    private readonly factories: Partial<Record<StorageDriverName, StorageDriverFactory>> = STORAGE_DRIVERS,
  ) {}

  /** dataDir is the member's data dir the drivers keep their files under. */
  get dataDir(): string {
    return this.opts.dataDir;
  }

  /** get returns the (cached) driver named `name`. */
  get(name: string): StorageDriver {
    const cached = this.drivers.get(name);
    if (cached) return cached;
    const factory = (this.factories as Record<string, StorageDriverFactory | undefined>)[name];
    if (!factory) throw new NotSupportedError(`storage driver "${name}" is not available on this member`);
    const driver = factory(this.opts);
    this.drivers.set(name, driver);
    return driver;
  }
}
