/**
 * BtrfsLayout names the paths of a btrfs pool on this member, shared by the
 * btrfs driver's parts (btrfs-pool.ts, btrfs-volumes.ts, btrfs-snapshots.ts,
 * btrfs-images.ts). Inside the pool root:
 *
 *   volumes/<vol>            one subvolume per volume, size enforced by a qgroup limit
 *   snapshots/<vol>/<snap>   read-only snapshots
 *   images/<image>           read-only image cache subvolumes (instance rootfs and image volumes clone these)
 *   rootfs/<container>       instance root filesystems, writable snapshots of an image
 *
 * Every name that becomes a path component is checked (checkName).
 */
import { join } from 'node:path';
import type { HostRunner } from '../../../lib/host/exec.js';
import { checkName } from './base.js';
import type { PoolSpec, SnapshotRef } from './types.js';

/** BTRFS_LAYOUT names the directories every pool root holds. */
export const BTRFS_LAYOUT = ['volumes', 'snapshots', 'images', 'rootfs'] as const;

/** BTRFS_TIMEOUTS are the host command timeouts: `short` for metadata verbs, `long` for ones that may write a lot. */
export const BTRFS_TIMEOUTS = { short: 30_000, long: 10 * 60_000 } as const;

/** BtrfsLayout maps pools, volumes, snapshots, images and clones to their paths under `storageDir`. */
export class BtrfsLayout {
  /** storageDir is `<dataDir>/storage` */
  constructor(readonly storageDir: string) {}

  /** rootOf is the pool's btrfs root on this member (the mount point, or spec.source). */
  rootOf(pool: PoolSpec): string {
    return pool.source ?? join(this.storageDir, checkName('pool', pool.name));
  }
  /** imageFileOf is the loop file of a pool without spec.source. */
  imageFileOf(pool: PoolSpec): string {
    return join(this.storageDir, `${checkName('pool', pool.name)}.img`);
  }
  /** volumesDir is the directory of the pool's volume subvolumes (and their temporary names). */
  volumesDir(pool: PoolSpec): string {
    return join(this.rootOf(pool), 'volumes');
  }
  /** volume is the subvolume of volume `name`. */
  volume(pool: PoolSpec, name: string): string {
    return join(this.volumesDir(pool), checkName('volume', name));
  }
  /** snapshotsOf is the directory of volume `volume`'s snapshots. */
  snapshotsOf(pool: PoolSpec, volume: string): string {
    return join(this.rootOf(pool), 'snapshots', checkName('volume', volume));
  }
  /** snapshot is the read-only subvolume of one snapshot. */
  snapshot(pool: PoolSpec, ref: SnapshotRef): string {
    return join(this.snapshotsOf(pool, ref.volume), checkName('snapshot', ref.snapshot));
  }
  /** imagesDir is the directory of the image cache subvolumes. */
  imagesDir(pool: PoolSpec): string {
    return join(this.rootOf(pool), 'images');
  }
  /** rootfsDir is the directory of the instance root filesystems. */
  rootfsDir(pool: PoolSpec): string {
    return join(this.rootOf(pool), 'rootfs');
  }
}

/** BtrfsContext is what every part of the btrfs driver shares: the host runner and the layout. */
export interface BtrfsContext {
  runner: HostRunner;
  layout: BtrfsLayout;
}
