/**
 * BtrfsImageCache is the btrfs driver's image cache: one read-only subvolume
 * `images/<image>` per image, filled once from the image's files; volumes
 * and instance root filesystems are writable snapshots of it (see
 * btrfs-volumes.ts and btrfs-snapshots.ts).
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir } from '../../../lib/host/fs.js';
import { withRevert } from '../../../lib/host/revert.js';
import { checkName } from './base.js';
import { deleteSubvolume, isSubvolume } from './btrfs-host.js';
import { BTRFS_TIMEOUTS as T, type BtrfsContext } from './btrfs-layout.js';
import type { PoolSpec } from './types.js';

/** ImageRef names a cached image and where its files are on the host. */
export interface ImageRef {
  imageName: string;
  imagePath: string;
}

/** BtrfsImageCache keeps the pool's read-only image subvolumes; see the file comment. */
export class BtrfsImageCache {
  constructor(private readonly ctx: BtrfsContext) {}

  /**
   * ensureImage returns the read-only cache subvolume `images/<imageName>`,
   * filling it once from `imagePath` (copied with reflinks where possible).
   */
  async ensureImage(pool: PoolSpec, opts: ImageRef): Promise<string> {
    const { runner, layout } = this.ctx;
    const images = layout.imagesDir(pool);
    const target = join(images, checkName('image', opts.imageName));
    if (await isSubvolume(target)) return target;
    await ensureDir(images);
    const tmp = join(images, `.new-${opts.imageName}`);
    await deleteSubvolume(runner, tmp);
    await withRevert(async (revert) => {
      revert.add(() => deleteSubvolume(runner, tmp));
      await runner.run(['btrfs', 'subvolume', 'create', tmp], { timeoutMs: T.short });
      await runner.run(['cp', '-a', '--reflink=auto', '--', `${opts.imagePath}/.`, tmp], { timeoutMs: 30 * 60_000 });
      // Rename first: btrfs cannot move a read-only subvolume.
      await rename(tmp, target);
      revert.add(() => deleteSubvolume(runner, target));
      await runner.run(['btrfs', 'property', 'set', '-ts', target, 'ro', 'true'], { timeoutMs: T.short });
    });
    return target;
  }
}
