/**
 * BtrfsVolumes is the btrfs driver's volumes and quota: one subvolume
 * `volumes/<vol>` per volume — empty, a writable snapshot of a snapshot, or
 * a writable snapshot of a cached image — whose size is enforced by a qgroup
 * limit. A new volume is made under a temporary name and renamed into place
 * once complete; every verb is idempotent.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { withRevert } from '../../../lib/host/revert.js';
import { checkName } from './base.js';
import { deleteSubvolume, isSubvolume, listSubvolumes, qgroupUsage } from './btrfs-host.js';
import type { BtrfsImageCache } from './btrfs-images.js';
import { BTRFS_TIMEOUTS as T, type BtrfsContext } from './btrfs-layout.js';
import type { BtrfsSnapshots } from './btrfs-snapshots.js';
import type { PoolSpec, VolumeObservation, VolumeRequest } from './types.js';

/** setQgroupLimit sets the qgroup limit of the subvolume at `path` (whole bytes). */
export async function setQgroupLimit(runner: HostRunner, path: string, sizeBytes: number): Promise<void> {
  await runner.run(['btrfs', 'qgroup', 'limit', String(Math.floor(sizeBytes)), path], { timeoutMs: T.short });
}

/** BtrfsVolumes makes, observes, resizes and deletes volume subvolumes; see the file comment. */
export class BtrfsVolumes {
  constructor(
    private readonly ctx: BtrfsContext,
    private readonly images: BtrfsImageCache,
    private readonly snapshots: BtrfsSnapshots,
  ) {}

  /** listVolumes names the volume subvolumes. */
  async listVolumes(pool: PoolSpec): Promise<string[]> {
    return listSubvolumes(this.ctx.layout.volumesDir(pool));
  }

  /**
   * ensureVolume creates the volume when absent — empty, a writable snapshot
   * of a snapshot, or a writable snapshot of the cached image — under a
   * temporary name that is renamed into place once its limit is set; then
   * applies `sizeBytes` as the qgroup limit when it differs.
   */
  async ensureVolume(pool: PoolSpec, vol: VolumeRequest): Promise<VolumeObservation> {
    const { runner, layout } = this.ctx;
    const target = layout.volume(pool, vol.name);
    if (!(await isSubvolume(target))) {
      const tmp = join(layout.volumesDir(pool), `.new-${vol.name}`);
      await deleteSubvolume(runner, tmp);
      await withRevert(async (revert) => {
        revert.add(() => deleteSubvolume(runner, tmp));
        const src = vol.source;
        if (src?.kind === 'snapshot') {
          const from = layout.snapshot(pool, src);
          if (!(await isSubvolume(from)))
            throw new NotFoundError(`snapshot ${src.volume}@${src.snapshot} does not exist in pool ${pool.name}`);
          await runner.run(['btrfs', 'subvolume', 'snapshot', from, tmp], { timeoutMs: T.long });
        } else if (src?.kind === 'image') {
          const image = await this.images.ensureImage(pool, { imageName: src.imageName, imagePath: src.imagePath });
          await runner.run(['btrfs', 'subvolume', 'snapshot', image, tmp], { timeoutMs: T.long });
        } else {
          await runner.run(['btrfs', 'subvolume', 'create', tmp], { timeoutMs: T.long });
        }
        await setQgroupLimit(runner, tmp, vol.sizeBytes);
        await rename(tmp, target);
      });
    } else {
      const usage = await qgroupUsage(runner, target);
      if (usage?.limitBytes !== vol.sizeBytes) await setQgroupLimit(runner, target, vol.sizeBytes);
    }
    return this.observeVolume(pool, vol.name);
  }

  /** observeVolume reports the subvolume, its referenced bytes, limit and snapshots. */
  async observeVolume(pool: PoolSpec, name: string): Promise<VolumeObservation> {
    const path = this.ctx.layout.volume(pool, name);
    if (!(await isSubvolume(path))) return { exists: false, snapshots: [] };
    const usage = await qgroupUsage(this.ctx.runner, path);
    return {
      exists: true,
      path,
      sizeBytes: usage?.limitBytes,
      usedBytes: usage?.referencedBytes,
      snapshots: await this.snapshots.listSnapshots(pool, name),
    };
  }

  /** resizeVolume sets the qgroup limit (shrinking below the used bytes makes further writes fail). */
  async resizeVolume(pool: PoolSpec, name: string, sizeBytes: number): Promise<void> {
    await setQgroupLimit(this.ctx.runner, await this.existing(pool, name), sizeBytes);
  }

  /** deleteVolume deletes the volume's snapshots and then its subvolume; absent is success. */
  async deleteVolume(pool: PoolSpec, name: string): Promise<void> {
    const { runner, layout } = this.ctx;
    await this.snapshots.deleteSnapshotsOf(pool, name);
    await deleteSubvolume(runner, join(layout.volumesDir(pool), `.new-${name}`));
    await deleteSubvolume(runner, layout.volume(pool, name));
  }

  /** mountVolume returns the subvolume path: it is visible while the pool is mounted. */
  async mountVolume(pool: PoolSpec, name: string): Promise<string> {
    return this.existing(pool, name);
  }

  /** unmountVolume has nothing to undo for a subvolume. */
  async unmountVolume(_pool: PoolSpec, name: string): Promise<void> {
    checkName('volume', name);
  }

  /** existing returns the volume's subvolume path, or throws NotFoundError. */
  private async existing(pool: PoolSpec, name: string): Promise<string> {
    const path = this.ctx.layout.volume(pool, name);
    if (!(await isSubvolume(path))) throw new NotFoundError(`volume ${name} does not exist in pool ${pool.name}`);
    return path;
  }
}
