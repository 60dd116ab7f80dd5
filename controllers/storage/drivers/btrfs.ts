/**
 * BtrfsDriver: a pool is a btrfs filesystem — a sparse loop file
 * `<dataDir>/storage/<pool>.img` mounted at `<dataDir>/storage/<pool>`, or an
 * existing btrfs path (spec.source). Inside the pool root:
 *
 *   volumes/<vol>            one subvolume per volume, size enforced by a qgroup limit
 *   snapshots/<vol>/<snap>   read-only snapshots
 *   images/<image>           read-only image cache subvolumes (instance rootfs and image volumes clone these)
 *   rootfs/<container>       instance root filesystems, writable snapshots of an image
 *
 * Every verb is idempotent; multi-step verbs undo themselves on failure.
 */
import { rename, rm, rmdir, statfs, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCode, NotFoundError, ValidationError } from '../../../lib/errors.js';
import { ensureDir, isDirectory, pathExists } from '../../../lib/host/fs.js';
import { withRevert } from '../../../lib/host/revert.js';
import { assertPoolSize, BaseStorageDriver, checkName } from './base.js';
import { SourceRecord } from './source-record.js';
import { BTRFS_MAGIC, deleteSubvolume, isSubvolume, listSubvolumes, loopDevicesOf, mountAt, qgroupUsage } from './btrfs-host.js';
import type { PoolObservation, PoolSpec, SnapshotRef, StorageDriverInfo, VolumeObservation, VolumeRequest } from './types.js';

/** BTRFS_MIN_POOL_BYTES: mkfs.btrfs refuses devices under ~109 MiB (DUP metadata); we ask for 128 MiB. */
export const BTRFS_MIN_POOL_BYTES = 128 * 2 ** 20;
const LAYOUT = ['volumes', 'snapshots', 'images', 'rootfs'] as const;
const T = { short: 30_000, long: 10 * 60_000 };

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

/** BtrfsDriver is the btrfs storage driver; see the file comment. */
export class BtrfsDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = BTRFS_INFO;

  /** rootOf is the pool's btrfs root on this member (the mount point, or spec.source). */
  rootOf(pool: PoolSpec): string {
    return pool.source ?? join(this.storageDir, checkName('pool', pool.name));
  }
  /** imageFileOf is the loop file of a pool without spec.source. */
  imageFileOf(pool: PoolSpec): string {
    return join(this.storageDir, `${checkName('pool', pool.name)}.img`);
  }
  private vol(pool: PoolSpec, name: string): string {
    return join(this.rootOf(pool), 'volumes', checkName('volume', name));
  }
  private snap(pool: PoolSpec, ref: SnapshotRef): string {
    return join(this.rootOf(pool), 'snapshots', checkName('volume', ref.volume), checkName('snapshot', ref.snapshot));
  }

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
    const root = this.rootOf(pool);
    if (pool.source !== undefined) {
      if (!(await pathExists(pool.source))) throw new NotFoundError(`source path ${pool.source} does not exist`);
      if (!(await this.isBtrfs(pool.source))) throw new ValidationError(`source path ${pool.source} is not on a btrfs filesystem`);
    } else if (!(await mountAt(root))) {
      await this.attachLoopPool(pool);
    }
    await this.runner.run(['btrfs', 'quota', 'enable', root], { timeoutMs: T.long });
    // In a source (the administrator's directory) the layout directories Cloudlet makes are recorded, so only those go with the pool.
    const record = pool.source !== undefined ? new SourceRecord(pool.source, checkName('pool', pool.name)) : undefined;
    for (const d of LAYOUT) await (record ? record.ensureDir(d) : ensureDir(join(root, d)));
    return this.observePool(pool);
  }

  private async attachLoopPool(pool: PoolSpec): Promise<void> {
    const root = this.rootOf(pool);
    const file = this.imageFileOf(pool);
    await withRevert(async (revert) => {
      if (!(await pathExists(file))) {
        assertPoolSize(this.info, pool);
        await ensureDir(this.storageDir);
        await writeFile(file, '', { flag: 'wx' });
        revert.add(() => rm(file, { force: true }));
        await truncate(file, pool.sizeBytes);
        await this.runner.run(['mkfs.btrfs', '-q', file], { timeoutMs: T.long });
      }
      let device = (await loopDevicesOf(this.runner, file))[0];
      if (device === undefined) {
        device = (await this.runner.run(['losetup', '--find', '--show', file], { timeoutMs: T.short })).stdout.trim();
        const attached = device;
        revert.add(() => this.runner.run(['losetup', '--detach', attached], { timeoutMs: T.short }));
      }
      await ensureDir(root);
      await this.mount(device, root);
      revert.add(() => this.runner.run(['umount', root], { timeoutMs: T.long }));
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
    try {
      await this.runner.run(['mount', '-t', 'btrfs', device, root], { timeoutMs: T.long });
    } catch (err) {
      if (!isCode(err, 'HostCommand')) throw err;
      await this.runner.run(['btrfs', 'device', 'scan', '--forget'], { timeoutMs: T.short });
      await this.runner.run(['mount', '-t', 'btrfs', device, root], { timeoutMs: T.long });
    }
  }

  /** observePool reports whether the pool root is a mounted (or existing) btrfs and its capacity and usage. */
  async observePool(pool: PoolSpec): Promise<PoolObservation> {
    const root = this.rootOf(pool);
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
   */
  async deletePool(pool: PoolSpec): Promise<void> {
    const root = this.rootOf(pool);
    if (pool.source !== undefined) {
      if (!(await this.isBtrfs(root))) return;
      for (const name of await this.listVolumes(pool)) await this.deleteVolume(pool, name);
      for (const d of ['images', 'rootfs'])
        for (const s of await listSubvolumes(join(root, d))) await deleteSubvolume(this.runner, join(root, d, s));
      // Only the layout directories Cloudlet made, and only when empty now: never the source or files beside ours.
      await new SourceRecord(pool.source, checkName('pool', pool.name)).teardown(join(root, 'volumes'));
      return;
    }
    while (await mountAt(root)) await this.runner.run(['umount', root], { timeoutMs: T.long });
    const file = this.imageFileOf(pool);
    for (const dev of await loopDevicesOf(this.runner, file)) {
      // Forget the device first, so the kernel keeps no stale entry for a loop number that will be reused.
      await this.runner.run(['btrfs', 'device', 'scan', '--forget', dev], { timeoutMs: T.short }).catch(() => undefined);
      await this.runner.run(['losetup', '--detach', dev], { timeoutMs: T.short });
    }
    await rm(file, { force: true });
    if (await isDirectory(root)) await rmdir(root);
    await this.pruneStorageDir();
  }

  /** listVolumes names the volume subvolumes. */
  async listVolumes(pool: PoolSpec): Promise<string[]> {
    return listSubvolumes(join(this.rootOf(pool), 'volumes'));
  }

  /**
   * ensureVolume creates the volume when absent — empty, a writable snapshot
   * of a snapshot, or a writable snapshot of the cached image — under a
   * temporary name that is renamed into place once its limit is set; then
   * applies `sizeBytes` as the qgroup limit when it differs.
   */
  async ensureVolume(pool: PoolSpec, vol: VolumeRequest): Promise<VolumeObservation> {
    const target = this.vol(pool, vol.name);
    if (!(await isSubvolume(target))) {
      const tmp = join(this.rootOf(pool), 'volumes', `.new-${vol.name}`);
      await deleteSubvolume(this.runner, tmp);
      await withRevert(async (revert) => {
        revert.add(() => deleteSubvolume(this.runner, tmp));
        const src = vol.source;
        if (src?.kind === 'snapshot') {
          const from = this.snap(pool, src);
          if (!(await isSubvolume(from)))
            throw new NotFoundError(`snapshot ${src.volume}@${src.snapshot} does not exist in pool ${pool.name}`);
          await this.runner.run(['btrfs', 'subvolume', 'snapshot', from, tmp], { timeoutMs: T.long });
        } else if (src?.kind === 'image') {
          const image = await this.ensureImage(pool, { imageName: src.imageName, imagePath: src.imagePath });
          await this.runner.run(['btrfs', 'subvolume', 'snapshot', image, tmp], { timeoutMs: T.long });
        } else {
          await this.runner.run(['btrfs', 'subvolume', 'create', tmp], { timeoutMs: T.long });
        }
        await this.limit(tmp, vol.sizeBytes);
        await rename(tmp, target);
      });
    } else {
      const usage = await qgroupUsage(this.runner, target);
      if (usage?.limitBytes !== vol.sizeBytes) await this.limit(target, vol.sizeBytes);
    }
    return this.observeVolume(pool, vol.name);
  }

  private async limit(path: string, sizeBytes: number): Promise<void> {
    await this.runner.run(['btrfs', 'qgroup', 'limit', String(Math.floor(sizeBytes)), path], { timeoutMs: T.short });
  }

  /** observeVolume reports the subvolume, its referenced bytes, limit and snapshots. */
  async observeVolume(pool: PoolSpec, name: string): Promise<VolumeObservation> {
    const path = this.vol(pool, name);
    if (!(await isSubvolume(path))) return { exists: false, snapshots: [] };
    const usage = await qgroupUsage(this.runner, path);
    return {
      exists: true,
      path,
      sizeBytes: usage?.limitBytes,
      usedBytes: usage?.referencedBytes,
      snapshots: await this.listSnapshots(pool, name),
    };
  }

  /** resizeVolume sets the qgroup limit (shrinking below the used bytes makes further writes fail). */
  override async resizeVolume(pool: PoolSpec, name: string, sizeBytes: number): Promise<void> {
    const path = this.vol(pool, name);
    if (!(await isSubvolume(path))) throw new NotFoundError(`volume ${name} does not exist in pool ${pool.name}`);
    await this.limit(path, sizeBytes);
  }

  /** deleteVolume deletes the volume's snapshots and then its subvolume; absent is success. */
  async deleteVolume(pool: PoolSpec, name: string): Promise<void> {
    const snaps = join(this.rootOf(pool), 'snapshots', checkName('volume', name));
    for (const s of await listSubvolumes(snaps)) await deleteSubvolume(this.runner, join(snaps, s));
    if (await isDirectory(snaps)) await rm(snaps, { recursive: true, force: true });
    await deleteSubvolume(this.runner, join(this.rootOf(pool), 'volumes', `.new-${name}`));
    await deleteSubvolume(this.runner, this.vol(pool, name));
  }

  /** createSnapshot makes a read-only snapshot; present is success. */
  override async createSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    const target = this.snap(pool, ref);
    if (await isSubvolume(target)) return;
    const source = this.vol(pool, ref.volume);
    if (!(await isSubvolume(source))) throw new NotFoundError(`volume ${ref.volume} does not exist in pool ${pool.name}`);
    await ensureDir(join(this.rootOf(pool), 'snapshots', ref.volume));
    // A snapshot appears atomically, so no temporary name is needed.
    await this.runner.run(['btrfs', 'subvolume', 'snapshot', '-r', source, target], { timeoutMs: T.long });
  }

  /** deleteSnapshot deletes a snapshot; absent is success. */
  override async deleteSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    await deleteSubvolume(this.runner, this.snap(pool, ref));
  }

  /** listSnapshots names the volume's snapshots, sorted. */
  override async listSnapshots(pool: PoolSpec, volume: string): Promise<string[]> {
    return listSubvolumes(join(this.rootOf(pool), 'snapshots', checkName('volume', volume)));
  }

  /**
   * restoreSnapshot swaps the volume for a writable snapshot of the snapshot,
   * keeping its size limit; the old content is deleted only after the swap.
   */
  override async restoreSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    const from = this.snap(pool, ref);
    const target = this.vol(pool, ref.volume);
    if (!(await isSubvolume(from))) throw new NotFoundError(`snapshot ${ref.volume}@${ref.snapshot} does not exist in pool ${pool.name}`);
    if (!(await isSubvolume(target))) throw new NotFoundError(`volume ${ref.volume} does not exist in pool ${pool.name}`);
    const volumes = join(this.rootOf(pool), 'volumes');
    const tmp = join(volumes, `.restore-${ref.volume}`);
    const old = join(volumes, `.old-${ref.volume}`);
    await deleteSubvolume(this.runner, tmp);
    await deleteSubvolume(this.runner, old);
    const usage = await qgroupUsage(this.runner, target);
    await withRevert(async (revert) => {
      revert.add(() => deleteSubvolume(this.runner, tmp));
      await this.runner.run(['btrfs', 'subvolume', 'snapshot', from, tmp], { timeoutMs: T.long });
      if (usage?.limitBytes !== undefined) await this.limit(tmp, usage.limitBytes);
      await rename(target, old);
      revert.add(() => rename(old, target));
      await rename(tmp, target);
    });
    await deleteSubvolume(this.runner, old);
  }

  /**
   * ensureImage returns the read-only cache subvolume `images/<imageName>`,
   * filling it once from `imagePath` (copied with reflinks where possible).
   */
  async ensureImage(pool: PoolSpec, opts: { imageName: string; imagePath: string }): Promise<string> {
    const images = join(this.rootOf(pool), 'images');
    const target = join(images, checkName('image', opts.imageName));
    if (await isSubvolume(target)) return target;
    await ensureDir(images);
    const tmp = join(images, `.new-${opts.imageName}`);
    await deleteSubvolume(this.runner, tmp);
    await withRevert(async (revert) => {
      revert.add(() => deleteSubvolume(this.runner, tmp));
      await this.runner.run(['btrfs', 'subvolume', 'create', tmp], { timeoutMs: T.short });
      await this.runner.run(['cp', '-a', '--reflink=auto', '--', `${opts.imagePath}/.`, tmp], { timeoutMs: 30 * 60_000 });
      // Rename first: btrfs cannot move a read-only subvolume.
      await rename(tmp, target);
      revert.add(() => deleteSubvolume(this.runner, target));
      await this.runner.run(['btrfs', 'property', 'set', '-ts', target, 'ro', 'true'], { timeoutMs: T.short });
    });
    return target;
  }

  /** cloneImage makes `rootfs/<name>` a writable snapshot of the cached image; present is success. Returns its path. */
  async cloneImage(pool: PoolSpec, opts: { imageName: string; imagePath: string; name: string }): Promise<string> {
    const target = join(this.rootOf(pool), 'rootfs', checkName('rootfs', opts.name));
    if (await isSubvolume(target)) return target;
    const image = await this.ensureImage(pool, opts);
    await ensureDir(join(this.rootOf(pool), 'rootfs'));
    await this.runner.run(['btrfs', 'subvolume', 'snapshot', image, target], { timeoutMs: T.long });
    return target;
  }

  /** deleteClone deletes `rootfs/<name>` (and subvolumes nested in it); absent is success. */
  async deleteClone(pool: PoolSpec, name: string): Promise<void> {
    await deleteSubvolume(this.runner, join(this.rootOf(pool), 'rootfs', checkName('rootfs', name)));
  }

  /** listClones names the instance root filesystems in the pool. */
  async listClones(pool: PoolSpec): Promise<string[]> {
    return listSubvolumes(join(this.rootOf(pool), 'rootfs'));
  }

  /** mountVolume returns the subvolume path: it is visible while the pool is mounted. */
  async mountVolume(pool: PoolSpec, name: string): Promise<string> {
    const path = this.vol(pool, name);
    if (!(await isSubvolume(path))) throw new NotFoundError(`volume ${name} does not exist in pool ${pool.name}`);
    return path;
  }

  /** unmountVolume has nothing to undo for a subvolume. */
  async unmountVolume(_pool: PoolSpec, name: string): Promise<void> {
    checkName('volume', name);
  }
}
