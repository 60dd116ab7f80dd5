/**
 * DirDriver keeps volumes as plain directories: `<root>/volumes/<name>`,
 * where root is spec.source or `<dataDir>/storage/<pool>`. It enforces no
 * size (info.quota is false), has no snapshots, and makes image-sourced
 * volumes by copying (reflinks where the filesystem has them).
 *
 * A `spec.source` directory is the administrator's: what Cloudlet makes in
 * it is recorded (source-record.ts) and only that is ever deleted — the
 * source itself, files already there and files put beside ours stay.
 */
import { statfs, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, NotSupportedError } from '../../../lib/errors.js';
import { ensureDir, isDirectory, pathExists, removeTree } from '../../../lib/host/fs.js';
import { withRevert } from '../../../lib/host/revert.js';
import { BaseStorageDriver, checkName } from './base.js';
import { SourceRecord } from './source-record.js';
import type { PoolObservation, PoolSpec, StorageDriverInfo, VolumeObservation, VolumeRequest } from './types.js';

/** DIR_INFO is the dir driver's capability object: local, no snapshots, clones or quota. */
export const DIR_INFO: Readonly<StorageDriverInfo> = {
  name: 'dir',
  shared: false,
  snapshots: false,
  cowClone: false,
  quota: false,
  resize: false,
  minPoolBytes: 0,
};

/** DirDriver is the directory-backed local driver; see the file comment. */
export class DirDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = DIR_INFO;

  /** rootOf is the pool's directory on this member. */
  rootOf(pool: PoolSpec): string {
    return pool.source ?? join(this.storageDir, checkName('pool', pool.name));
  }

  private volumePath(pool: PoolSpec, name: string): string {
    return join(this.rootOf(pool), 'volumes', checkName('volume', name));
  }

  private readonly records = new Map<string, SourceRecord>();

  /** recordOf is the record of what Cloudlet made in the pool's source (one object per source and pool, so its updates queue). */
  private recordOf(pool: PoolSpec & { source: string }): SourceRecord {
    const key = `${pool.source}\u0000${checkName('pool', pool.name)}`;
    let r = this.records.get(key);
    if (!r) {
      r = new SourceRecord(pool.source, pool.name);
      this.records.set(key, r);
    }
    return r;
  }

  /** ensurePool creates the pool directory (or, in spec.source, the recorded `volumes` directory) and observes it. */
  async ensurePool(pool: PoolSpec): Promise<PoolObservation> {
    if (pool.source !== undefined) {
      if (!(await isDirectory(pool.source))) throw new NotFoundError(`source path ${pool.source} does not exist or is not a directory`);
      await this.recordOf({ ...pool, source: pool.source }).ensureDir('volumes');
      return this.observePool(pool);
    }
    await ensureDir(join(this.rootOf(pool), 'volumes'));
    return this.observePool(pool);
  }

  /** observePool reports the filesystem holding the pool directory. */
  async observePool(pool: PoolSpec): Promise<PoolObservation> {
    const root = this.rootOf(pool);
    if (!(await isDirectory(join(root, 'volumes')))) return { ready: false, message: `pool directory ${root} does not exist` };
    const s = await statfs(root);
    return { ready: true, capacityBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize, message: `directory ${root}` };
  }

  /** deletePool removes the pool directory, or in spec.source only what Cloudlet recorded making there. */
  async deletePool(pool: PoolSpec): Promise<void> {
    if (pool.source !== undefined) {
      if (!(await isDirectory(pool.source))) return;
      await this.recordOf({ ...pool, source: pool.source }).teardown(join(pool.source, 'volumes'));
      return;
    }
    await removeTree(this.rootOf(pool), { root: this.storageDir });
    await this.pruneStorageDir();
  }

  /** listVolumes names the volume directories (not half-made ones); in spec.source only those Cloudlet made. */
  async listVolumes(pool: PoolSpec): Promise<string[]> {
    if (pool.source !== undefined)
      return (await isDirectory(pool.source)) ? (await this.recordOf({ ...pool, source: pool.source }).read()).volumes : [];
    const dir = join(this.rootOf(pool), 'volumes');
    if (!(await isDirectory(dir))) return [];
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }

  /** ensureVolume makes the directory (copying the image in first when asked); size is recorded, not enforced. */
  async ensureVolume(pool: PoolSpec, vol: VolumeRequest): Promise<VolumeObservation> {
    const target = this.volumePath(pool, vol.name);
    if (!(await isDirectory(target))) {
      if (vol.source?.kind === 'snapshot') throw new NotSupportedError('the dir storage driver has no snapshots to restore from');
      const volumes = join(this.rootOf(pool), 'volumes');
      await ensureDir(volumes);
      const tmp = join(volumes, `.new-${vol.name}`);
      await withRevert(async (revert) => {
        await removeTree(tmp, { root: volumes });
        revert.add(() => removeTree(tmp, { root: volumes }));
        if (vol.source?.kind === 'image') {
          await this.runner.run(['cp', '-a', '--reflink=auto', '--', vol.source.imagePath, tmp], { timeoutMs: 30 * 60_000 });
        } else {
          await ensureDir(tmp);
        }
        await rename(tmp, target);
      });
      // Recorded once made: a crash before this leaks a directory rather than ever deleting one that is not ours.
      if (pool.source !== undefined) await this.recordOf({ ...pool, source: pool.source }).addVolume(vol.name);
    }
    return this.observeVolume(pool, vol.name);
  }

  /** observeVolume reports the directory and its size on disk (`du`). */
  async observeVolume(pool: PoolSpec, name: string): Promise<VolumeObservation> {
    const path = this.volumePath(pool, name);
    if (!(await isDirectory(path))) return { exists: false, snapshots: [] };
    const du = await this.runner.run(['du', '-s', '-B1', '--', path], { timeoutMs: 120_000 });
    const used = Number(du.stdout.split(/\s/)[0]);
    return { exists: true, path, usedBytes: Number.isFinite(used) ? used : undefined, snapshots: [] };
  }

  /** deleteVolume removes the directory (in spec.source: only when Cloudlet recorded making it); absent is success. */
  async deleteVolume(pool: PoolSpec, name: string): Promise<void> {
    const root = this.rootOf(pool);
    if (!(await pathExists(root))) return;
    if (pool.source !== undefined) {
      await this.recordOf({ ...pool, source: pool.source }).removeVolume(checkName('volume', name), join(root, 'volumes'));
      return;
    }
    await removeTree(this.volumePath(pool, name), { root });
  }

  /** mountVolume returns the directory: it is already visible on the host. */
  async mountVolume(pool: PoolSpec, name: string): Promise<string> {
    const path = this.volumePath(pool, name);
    if (!(await isDirectory(path))) throw new NotFoundError(`volume ${name} does not exist in pool ${pool.name}`);
    return path;
  }

  /** unmountVolume has nothing to undo. */
  async unmountVolume(_pool: PoolSpec, name: string): Promise<void> {
    checkName('volume', name);
  }
}
