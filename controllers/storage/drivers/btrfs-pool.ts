/**
 * BtrfsPool is the btrfs driver's pool: a btrfs filesystem — a sparse loop
 * file `<dataDir>/storage/<pool>.img` mounted at `<dataDir>/storage/<pool>`,
 * or an existing btrfs path (spec.source) — with quotas enabled and the
 * layout directories of btrfs-layout.ts. Every verb is idempotent; attaching
 * a loop pool undoes itself on failure.
 */
import { rm, rmdir, statfs, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCode, NotFoundError, ValidationError } from '../../../lib/errors.js';
import { ensureDir, isDirectory, pathExists } from '../../../lib/host/fs.js';
import { withRevert } from '../../../lib/host/revert.js';
import { assertPoolSize, checkName } from './base.js';
import { BTRFS_MAGIC, deleteSubvolume, listSubvolumes, loopDevicesOf, mountAt } from './btrfs-host.js';
import { BTRFS_LAYOUT, BTRFS_TIMEOUTS as T, type BtrfsContext } from './btrfs-layout.js';
import type { BtrfsVolumes } from './btrfs-volumes.js';
import { SourceRecord } from './source-record.js';
import type { PoolObservation, PoolSpec, StorageDriverInfo } from './types.js';

/** BtrfsPoolOptions wire the pool part: the driver's capability object (for the minimum size) and its volumes. */
export interface BtrfsPoolOptions {
  info: StorageDriverInfo;
  volumes: BtrfsVolumes;
}

/** BtrfsPool makes, observes and deletes btrfs pools; see the file comment. */
export class BtrfsPool {
  constructor(
    private readonly ctx: BtrfsContext,
    private readonly o: BtrfsPoolOptions,
  ) {}

  private async isBtrfs(path: string): Promise<boolean> {
    return (await isDirectory(path)) && (await statfs(path)).type === BTRFS_MAGIC;
  }

  /**
   * ensurePool makes the pool usable: for a loop-file pool it creates and
   * formats the file if missing, attaches a loop device if none is attached
   * (after a reboot) and mounts it; for a source pool it checks the path is
   * btrfs. Then it enables quotas and makes the layout directories.
   */
  async ensurePool(pool: PoolSpec): Promise<PoolObservation> {
    const root = this.ctx.layout.rootOf(pool);
    if (pool.source !== undefined) {
      if (!(await pathExists(pool.source))) throw new NotFoundError(`source path ${pool.source} does not exist`);
      if (!(await this.isBtrfs(pool.source))) throw new ValidationError(`source path ${pool.source} is not on a btrfs filesystem`);
    } else if (!(await mountAt(root))) {
      await this.attachLoopPool(pool);
    }
    await this.ctx.runner.run(['btrfs', 'quota', 'enable', root], { timeoutMs: T.long });
    // In a source (the administrator's directory) the layout directories Cloudlet makes are recorded, so only those go with the pool.
    const record = pool.source !== undefined ? new SourceRecord(pool.source, checkName('pool', pool.name)) : undefined;
    for (const d of BTRFS_LAYOUT) await (record ? record.ensureDir(d) : ensureDir(join(root, d)));
    return this.observePool(pool);
  }

  private async attachLoopPool(pool: PoolSpec): Promise<void> {
    const { runner, layout } = this.ctx;
    const root = layout.rootOf(pool);
    const file = layout.imageFileOf(pool);
    await withRevert(async (revert) => {
      if (!(await pathExists(file))) {
        assertPoolSize(this.o.info, pool);
        await ensureDir(layout.storageDir);
        await writeFile(file, '', { flag: 'wx' });
        revert.add(() => rm(file, { force: true }));
        await truncate(file, pool.sizeBytes);
        await runner.run(['mkfs.btrfs', '-q', file], { timeoutMs: T.long });
      }
      let device = (await loopDevicesOf(runner, file))[0];
      if (device === undefined) {
        device = (await runner.run(['losetup', '--find', '--show', file], { timeoutMs: T.short })).stdout.trim();
        const attached = device;
        revert.add(() => runner.run(['losetup', '--detach', attached], { timeoutMs: T.short }));
      }
      await ensureDir(root);
      await this.mount(device, root);
      revert.add(() => runner.run(['umount', root], { timeoutMs: T.long }));
    });
  }

  /**
   * mount mounts the pool's device. The kernel remembers which device each
   * btrfs filesystem was last seen on; when a loop device number has moved
   * (detached and re-attached elsewhere) that stale entry makes the mount
   * fail, so on failure unmounted stale entries are forgotten and the mount
   * is tried once more.
   */
  private async mount(device: string, root: string): Promise<void> {
    const { runner } = this.ctx;
    try {
      await runner.run(['mount', '-t', 'btrfs', device, root], { timeoutMs: T.long });
    } catch (err) {
      if (!isCode(err, 'HostCommand')) throw err;
      await runner.run(['btrfs', 'device', 'scan', '--forget'], { timeoutMs: T.short });
      await runner.run(['mount', '-t', 'btrfs', device, root], { timeoutMs: T.long });
    }
  }

  /** observePool reports whether the pool root is a mounted (or existing) btrfs and its capacity and usage. */
  async observePool(pool: PoolSpec): Promise<PoolObservation> {
    const root = this.ctx.layout.rootOf(pool);
    if (pool.source === undefined && !(await mountAt(root)))
      return { ready: false, message: `pool ${pool.name} is not mounted at ${root}` };
    if (!(await this.isBtrfs(root))) return { ready: false, message: `${root} is not a btrfs filesystem` };
    if (!(await isDirectory(join(root, 'volumes')))) return { ready: false, message: `pool ${pool.name} layout is missing at ${root}` };
    const s = await statfs(root);
    return { ready: true, capacityBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize, message: `btrfs at ${root}` };
  }

  /**
   * deletePool: for a loop-file pool, unmounts it, detaches every loop device
   * of its file and removes the file and mount point; for a source pool,
   * deletes every subvolume in its layout directories and the layout
   * directories it recorded making (source-record.ts) once they are empty.
   * The driver prunes the storage directory after a loop-file pool.
   */
  async deletePool(pool: PoolSpec): Promise<void> {
    const { runner, layout } = this.ctx;
    const root = layout.rootOf(pool);
    if (pool.source !== undefined) {
      if (!(await this.isBtrfs(root))) return;
      for (const name of await this.o.volumes.listVolumes(pool)) await this.o.volumes.deleteVolume(pool, name);
      for (const d of ['images', 'rootfs'])
        for (const s of await listSubvolumes(join(root, d))) await deleteSubvolume(runner, join(root, d, s));
      // Only the layout directories Cloudlet made, and only when empty now: never the source or files beside ours.
      await new SourceRecord(pool.source, checkName('pool', pool.name)).teardown(layout.volumesDir(pool));
      return;
    }
    while (await mountAt(root)) await runner.run(['umount', root], { timeoutMs: T.long });
    const file = layout.imageFileOf(pool);
    for (const dev of await loopDevicesOf(runner, file)) {
      // Forget the device first, so the kernel keeps no stale entry for a loop number that will be reused.
      await runner.run(['btrfs', 'device', 'scan', '--forget', dev], { timeoutMs: T.short }).catch(() => undefined);
      await runner.run(['losetup', '--detach', dev], { timeoutMs: T.short });
    }
    await rm(file, { force: true });
    if (await isDirectory(root)) await rmdir(root);
  }
}
