/**
 * BtrfsSnapshots is the btrfs driver's snapshots and clones: read-only
 * snapshots of volumes (`snapshots/<vol>/<snap>`), restoring a volume from
 * one, and instance root filesystems as writable snapshots of a cached image
 * (`rootfs/<name>`). Every verb is idempotent; restoring undoes itself on failure.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../../../lib/errors.js';
import { ensureDir, isDirectory } from '../../../lib/host/fs.js';
import { withRevert } from '../../../lib/host/revert.js';
import { checkName } from './base.js';
import { deleteSubvolume, isSubvolume, listSubvolumes, qgroupUsage } from './btrfs-host.js';
import type { BtrfsImageCache, ImageRef } from './btrfs-images.js';
import { BTRFS_TIMEOUTS as T, type BtrfsContext } from './btrfs-layout.js';
import { setQgroupLimit } from './btrfs-volumes.js';
import type { PoolSpec, SnapshotRef } from './types.js';

/** BtrfsSnapshots makes, lists, restores and deletes snapshots and image clones; see the file comment. */
export class BtrfsSnapshots {
  constructor(
    private readonly ctx: BtrfsContext,
    private readonly images: BtrfsImageCache,
  ) {}

  /** createSnapshot makes a read-only snapshot; present is success. */
  async createSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    const { runner, layout } = this.ctx;
    const target = layout.snapshot(pool, ref);
    if (await isSubvolume(target)) return;
    const source = layout.volume(pool, ref.volume);
    if (!(await isSubvolume(source))) throw new NotFoundError(`volume ${ref.volume} does not exist in pool ${pool.name}`);
    await ensureDir(layout.snapshotsOf(pool, ref.volume));
    // A snapshot appears atomically, so no temporary name is needed.
    await runner.run(['btrfs', 'subvolume', 'snapshot', '-r', source, target], { timeoutMs: T.long });
  }

  /** deleteSnapshot deletes a snapshot; absent is success. */
  async deleteSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    await deleteSubvolume(this.ctx.runner, this.ctx.layout.snapshot(pool, ref));
  }

  /** listSnapshots names the volume's snapshots, sorted. */
  async listSnapshots(pool: PoolSpec, volume: string): Promise<string[]> {
    return listSubvolumes(this.ctx.layout.snapshotsOf(pool, volume));
  }

  /** deleteSnapshotsOf deletes every snapshot of the volume and their directory; absent is success. */
  async deleteSnapshotsOf(pool: PoolSpec, volume: string): Promise<void> {
    const snaps = this.ctx.layout.snapshotsOf(pool, volume);
    for (const s of await listSubvolumes(snaps)) await deleteSubvolume(this.ctx.runner, join(snaps, s));
    if (await isDirectory(snaps)) await rm(snaps, { recursive: true, force: true });
  }

  /**
   * restoreSnapshot swaps the volume for a writable snapshot of the snapshot,
   * keeping its size limit; the old content is deleted only after the swap.
   */
  async restoreSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    const { runner, layout } = this.ctx;
    const from = layout.snapshot(pool, ref);
    const target = layout.volume(pool, ref.volume);
    if (!(await isSubvolume(from))) throw new NotFoundError(`snapshot ${ref.volume}@${ref.snapshot} does not exist in pool ${pool.name}`);
    if (!(await isSubvolume(target))) throw new NotFoundError(`volume ${ref.volume} does not exist in pool ${pool.name}`);
    const volumes = layout.volumesDir(pool);
    const tmp = join(volumes, `.restore-${ref.volume}`);
    const old = join(volumes, `.old-${ref.volume}`);
    await deleteSubvolume(runner, tmp);
    await deleteSubvolume(runner, old);
    const usage = await qgroupUsage(runner, target);
    await withRevert(async (revert) => {
      revert.add(() => deleteSubvolume(runner, tmp));
      await runner.run(['btrfs', 'subvolume', 'snapshot', from, tmp], { timeoutMs: T.long });
      if (usage?.limitBytes !== undefined) await setQgroupLimit(runner, tmp, usage.limitBytes);
      await rename(target, old);
      revert.add(() => rename(old, target));
      await rename(tmp, target);
    });
    await deleteSubvolume(runner, old);
  }

  /** cloneImage makes `rootfs/<name>` a writable snapshot of the cached image; present is success. Returns its path. */
  async cloneImage(pool: PoolSpec, opts: ImageRef & { name: string }): Promise<string> {
    const { runner, layout } = this.ctx;
    const target = join(layout.rootfsDir(pool), checkName('rootfs', opts.name));
    if (await isSubvolume(target)) return target;
    const image = await this.images.ensureImage(pool, opts);
    await ensureDir(layout.rootfsDir(pool));
    await runner.run(['btrfs', 'subvolume', 'snapshot', image, target], { timeoutMs: T.long });
    return target;
  }

  /** deleteClone deletes `rootfs/<name>` (and subvolumes nested in it); absent is success. */
  async deleteClone(pool: PoolSpec, name: string): Promise<void> {
    await deleteSubvolume(this.ctx.runner, join(this.ctx.layout.rootfsDir(pool), checkName('rootfs', name)));
  }

  /** listClones names the instance root filesystems in the pool. */
  async listClones(pool: PoolSpec): Promise<string[]> {
    return listSubvolumes(this.ctx.layout.rootfsDir(pool));
  }
}
