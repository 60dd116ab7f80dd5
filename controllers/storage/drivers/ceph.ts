/**
 * CephDriver keeps volumes as RBD images in a RADOS pool, so every member
 * sees the same data (info.shared). The pool's spec.config names the cluster
 * (`conf`), the client (`user`, `keyring`) and the RADOS `pool`. On a member:
 *
 *   <dataDir>/storage/<pool>/rbd/<vol>       rbd-fuse mount of one image (`-r <vol>`), only while mounted
 *   <dataDir>/storage/<pool>/volumes/<vol>   the image's filesystem (loop device on the image file)
 *
 * A volume is mounted read-write on one member at a time by construction:
 * mountVolume first takes the image's RBD advisory lock with the cookie
 * `cloudlet:<member>` (`rbd lock add` is an atomic exclusive create), and a
 * lock held by another member refuses the mount with ConflictError. A lock
 * is broken only when the caller says its member is lost
 * (MountOptions.breakLocksOf, mayBreakLockOf), and the old holder's clients
 * are blocklisted first (ceph/rbd-locks.ts). Images are made with the `layering` feature
 * only, so librbd's own exclusive-lock feature does not fight the advisory lock.
 */
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConflictError, errorMessage, HostCommandError, isCode, NotFoundError, ValidationError } from '../../../lib/errors.js';
import { isDirectory } from '../../../lib/host/fs.js';
import { which } from '../../../lib/host/which.js';
import { withRevert } from '../../../lib/host/revert.js';
import {
  type CephPoolConfig,
  cephArgv,
  lockMember,
  parseCephConfig,
  parseDf,
  parseImageSize,
  parseSnapshots,
  parseUsedBytes,
  type RbdLock,
  rbdArgv,
  unreachableReason,
} from '../ceph/rbd.js';
import { RbdHost } from '../ceph/rbd-host.js';
import { RbdLocks } from '../ceph/rbd-locks.js';
import { BaseStorageDriver, checkName, type StorageDriverOptions } from './base.js';
import type { MountOptions, PoolObservation, PoolSpec, SnapshotRef, StorageDriverInfo, VolumeObservation, VolumeRequest } from './types.js';

const MiB = 2 ** 20;
const TOOLS: Array<[string, string]> = [
  ['rbd', 'ceph-common'],
  ['ceph', 'ceph-common'],
  ['rbd-fuse', 'rbd-fuse'],
  ['losetup', 'mount'],
  ['mkfs.ext4', 'e2fsprogs'],
  ['blkid', 'util-linux'],
];

/** CEPH_INFO is the ceph driver's capability object: shared (every member sees the data), snapshots, quota, no CoW clones. */
export const CEPH_INFO: Readonly<StorageDriverInfo> = {
  name: 'ceph',
  shared: true,
  snapshots: true,
  cowClone: false,
  quota: true,
  resize: true,
  minPoolBytes: 0,
};

/** CephDriver is the RBD storage driver; see the file comment. */
export class CephDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = CEPH_INFO;
  /** memberName is the name this member's RBD locks carry */
  readonly memberName: string;

  constructor(opts: StorageDriverOptions) {
    super(opts);
    this.memberName = checkName('member', opts.memberName ?? hostname());
  }

  private cfg(pool: PoolSpec): CephPoolConfig {
    checkName('pool', pool.name);
    return parseCephConfig(pool.config);
  }
  private poolDir(pool: PoolSpec): string {
    return join(this.storageDir, checkName('pool', pool.name));
  }
  private host(pool: PoolSpec): RbdHost {
    return new RbdHost(this.runner, this.cfg(pool), join(this.poolDir(pool), 'rbd'));
  }
  /** mountPointOf is where a mounted volume's filesystem is on this member. */
  mountPointOf(pool: PoolSpec, name: string): string {
    return join(this.poolDir(pool), 'volumes', checkName('volume', name));
  }

  private async rbd(pool: PoolSpec, args: string[], okExitCodes?: number[]): Promise<{ stdout: string; exitCode: number; stderr: string }> {
    const cfg = this.cfg(pool);
    return this.runner.run(rbdArgv(cfg, args), { timeoutMs: (cfg.timeoutSeconds + 10) * 1000, okExitCodes });
  }

  /** ensurePool checks the tools and that the cluster answers with this key (`rbd ls` within the pool timeout). */
  async ensurePool(pool: PoolSpec): Promise<PoolObservation> {
    const cfg = this.cfg(pool);
    for (const [tool, pkg] of TOOLS) await which(tool, { package: pkg });
    const reach = await this.reachable(pool, cfg);
    if (reach !== undefined) return { ready: false, message: reach };
    return this.observePool(pool);
  }

  /** reachable returns undefined when `rbd ls` works, or the NotReady reason. */
  private async reachable(pool: PoolSpec, cfg: CephPoolConfig): Promise<string | undefined> {
    try {
      await this.rbd(pool, ['ls']);
      return undefined;
    } catch (err) {
      if (err instanceof HostCommandError) return unreachableReason(err.stderrTail, cfg);
      if (isCode(err, 'Timeout')) return unreachableReason('timed out', cfg);
      throw err;
    }
  }

  /** observePool reports the pool's share of the cluster (`ceph df`). */
  async observePool(pool: PoolSpec): Promise<PoolObservation> {
    const cfg = this.cfg(pool);
    let df;
    try {
      df = parseDf(
        (await this.runner.run(cephArgv(cfg, ['df', '-f', 'json']), { timeoutMs: (cfg.timeoutSeconds + 10) * 1000 })).stdout,
        cfg.pool,
      );
    } catch (err) {
      return { ready: false, message: err instanceof HostCommandError ? unreachableReason(err.stderrTail, cfg) : errorMessage(err) };
    }
    if (!df) return { ready: false, message: `RADOS pool ${cfg.pool} does not exist in the ceph cluster of ${cfg.conf}` };
    return { ready: true, ...df, message: `ceph RBD pool ${cfg.pool} as client.${cfg.user}` };
  }

  /** deletePool unmounts this member's volumes (dropping its locks); the images stay in the cluster. */
  async deletePool(pool: PoolSpec): Promise<void> {
    const vols = join(this.poolDir(pool), 'volumes');
    if (await isDirectory(vols)) {
      for (const name of await readdir(vols)) await this.unmountVolume(pool, name);
      await rm(vols, { recursive: true, force: true });
    }
    if (await isDirectory(this.poolDir(pool))) await rm(this.poolDir(pool), { recursive: true, force: true });
    await this.pruneStorageDir();
  }

  /** listVolumes names the pool's images (temporary `.new-` images excluded). */
  async listVolumes(pool: PoolSpec): Promise<string[]> {
    const out: unknown = JSON.parse((await this.rbd(pool, ['ls', '--format', 'json'])).stdout || '[]');
    return Array.isArray(out) ? out.filter((n): n is string => typeof n === 'string' && !n.startsWith('.')).sort() : [];
  }

  private async imageSize(pool: PoolSpec, name: string): Promise<number | undefined> {
    const res = await this.rbd(pool, ['info', '--format', 'json', name], [0, 2]);
    return res.exitCode === 0 ? parseImageSize(res.stdout) : undefined;
  }

  /**
   * ensureVolume creates the image when absent — empty, a full copy of a
   * snapshot (`rbd deep cp`), or filled from an image directory — under a
   * temporary name renamed into place; an existing image is grown to
   * `sizeBytes` (shrinking is refused: it would cut the filesystem).
   */
  async ensureVolume(pool: PoolSpec, vol: VolumeRequest): Promise<VolumeObservation> {
    const name = checkName('volume', vol.name);
    const mib = String(Math.max(1, Math.ceil(vol.sizeBytes / MiB)));
    const size = await this.imageSize(pool, name);
    if (size === undefined) {
      const tmp = `.new-${name}`;
      await this.rbd(pool, ['rm', '--no-progress', tmp], [0, 2]);
      await withRevert(async (revert) => {
        revert.add(() => this.rbd(pool, ['rm', '--no-progress', tmp], [0, 2]));
        const src = vol.source;
        if (src?.kind === 'snapshot') {
          if (!(await this.listSnapshots(pool, src.volume)).includes(src.snapshot))
            throw new NotFoundError(`snapshot ${src.volume}@${src.snapshot} does not exist in pool ${pool.name}`);
          await this.rbd(pool, ['deep', 'cp', '--no-progress', `${src.volume}@${src.snapshot}`, tmp]);
          if (((await this.imageSize(pool, tmp)) ?? 0) < Number(mib) * MiB)
            await this.rbd(pool, ['resize', '--no-progress', '--size', `${mib}M`, tmp]);
        } else {
          await this.rbd(pool, ['create', '--size', `${mib}M`, '--image-feature', 'layering', tmp]);
          if (src?.kind === 'image') await this.fill(pool, tmp, src.imagePath);
        }
        await this.rbd(pool, ['mv', tmp, name]);
      });
    } else if (size < vol.sizeBytes) {
      await this.resizeVolume(pool, name, vol.sizeBytes);
    }
    return this.observeVolume(pool, name);
  }

  /** fill mounts a fresh (unlisted, unlocked) image here, copies `dir` into it and unmounts it. */
  private async fill(pool: PoolSpec, image: string, dir: string): Promise<void> {
    const host = this.host(pool);
    const target = join(this.poolDir(pool), 'fill', image);
    try {
      await host.attach(image, target);
      await this.runner.run(['cp', '-a', '--', `${dir}/.`, target], { timeoutMs: 30 * 60_000 });
    } finally {
      await host.detach(image, target);
      await rm(join(this.poolDir(pool), 'fill'), { recursive: true, force: true });
    }
  }

  /** observeVolume reports the image size (the enforced limit), used bytes, snapshots and the mount path when mounted here. */
  async observeVolume(pool: PoolSpec, name: string): Promise<VolumeObservation> {
    const size = await this.imageSize(pool, checkName('volume', name));
    if (size === undefined) return { exists: false, snapshots: [] };
    const du = await this.rbd(pool, ['du', '--format', 'json', name]);
    const obs: VolumeObservation = {
      exists: true,
      sizeBytes: size,
      usedBytes: parseUsedBytes(du.stdout, name),
      snapshots: await this.listSnapshots(pool, name),
    };
    const mp = this.mountPointOf(pool, name);
    if (await this.host(pool).isAttached(mp)) obs.path = mp;
    return obs;
  }

  /** resizeVolume grows the image; the filesystem grows at the next mount (rbd-fuse keeps the size it saw). Shrinking is refused. */
  override async resizeVolume(pool: PoolSpec, name: string, sizeBytes: number): Promise<void> {
    const size = await this.imageSize(pool, checkName('volume', name));
    if (size === undefined) throw new NotFoundError(`volume ${name} does not exist in pool ${pool.name}`);
    if (sizeBytes < size)
      throw new ValidationError(`volume ${name}: shrinking an RBD volume from ${size} to ${sizeBytes} bytes is not supported`);
    if (sizeBytes > size) await this.rbd(pool, ['resize', '--no-progress', '--size', `${Math.ceil(sizeBytes / MiB)}M`, name]);
  }

  /** deleteVolume unmounts it here, refuses while another member has it mounted, then removes its snapshots and the image. */
  async deleteVolume(pool: PoolSpec, name: string): Promise<void> {
    await this.rbd(pool, ['rm', '--no-progress', `.new-${checkName('volume', name)}`], [0, 2]);
    if ((await this.imageSize(pool, name)) === undefined) return;
    await this.unmountVolume(pool, name);
    const other = await this.lockSet(pool).otherHolder(name);
    if (other) throw new ConflictError(`volume ${name} is mounted on member ${lockMember(other) ?? other.locker}; unmount it there first`);
    await this.rbd(pool, ['snap', 'purge', '--no-progress', name]);
    await this.rbd(pool, ['rm', '--no-progress', name], [0, 2]);
  }

  /** createSnapshot flushes a local mount and makes `rbd snap create`; present is success. */
  override async createSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    if ((await this.listSnapshots(pool, ref.volume)).includes(checkName('snapshot', ref.snapshot))) return;
    if ((await this.imageSize(pool, ref.volume)) === undefined)
      throw new NotFoundError(`volume ${ref.volume} does not exist in pool ${pool.name}`);
    const mp = this.mountPointOf(pool, ref.volume);
    if (await this.host(pool).isAttached(mp)) await this.runner.run(['sync', '-f', mp], { timeoutMs: 120_000 });
    await this.rbd(pool, ['snap', 'create', '--no-progress', `${ref.volume}@${ref.snapshot}`]);
  }

  /** deleteSnapshot runs `rbd snap rm`; absent is success. */
  override async deleteSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    if (!(await this.listSnapshots(pool, ref.volume)).includes(checkName('snapshot', ref.snapshot))) return;
    await this.rbd(pool, ['snap', 'rm', '--no-progress', `${ref.volume}@${ref.snapshot}`]);
  }

  /** listSnapshots names the image's snapshots, sorted (none for an absent image). */
  override async listSnapshots(pool: PoolSpec, volume: string): Promise<string[]> {
    const res = await this.rbd(pool, ['snap', 'ls', '--format', 'json', checkName('volume', volume)], [0, 2]);
    return res.exitCode === 0 ? parseSnapshots(res.stdout) : [];
  }

  /** restoreSnapshot rolls the image back; a mount here is taken down and brought back, a mount elsewhere refuses. */
  override async restoreSnapshot(pool: PoolSpec, ref: SnapshotRef): Promise<void> {
    if (!(await this.listSnapshots(pool, ref.volume)).includes(checkName('snapshot', ref.snapshot)))
      throw new NotFoundError(`snapshot ${ref.volume}@${ref.snapshot} does not exist in pool ${pool.name}`);
    const wasMounted = await this.host(pool).isAttached(this.mountPointOf(pool, ref.volume));
    await this.unmountVolume(pool, ref.volume);
    const other = (await this.locks(pool, ref.volume))[0];
    if (other)
      throw new ConflictError(
        `volume ${ref.volume} is mounted on member ${lockMember(other) ?? other.locker}; it cannot be restored while in use`,
      );
    await this.rbd(pool, ['snap', 'rollback', '--no-progress', `${ref.volume}@${ref.snapshot}`]);
    if (wasMounted) await this.mountVolume(pool, ref.volume);
  }

  private lockSet(pool: PoolSpec): RbdLocks {
    return new RbdLocks(this.runner, this.cfg(pool), this.memberName);
  }

  /** locks lists the image's advisory locks. */
  async locks(pool: PoolSpec, name: string): Promise<RbdLock[]> {
    return this.lockSet(pool).list(checkName('volume', name));
  }

  /**
   * mountVolume locks the image for this member (breaking a lost member's
   * lock when `opts` allows, see RbdLocks), then attaches it (rbd-fuse,
   * loop, mkfs on first use, mount); undone on failure.
   */
  async mountVolume(pool: PoolSpec, name: string, opts: MountOptions = {}): Promise<string> {
    const target = this.mountPointOf(pool, name);
    if ((await this.imageSize(pool, name)) === undefined) throw new NotFoundError(`volume ${name} does not exist in pool ${pool.name}`);
    const locks = this.lockSet(pool);
    await withRevert(async (revert) => {
      const had = await locks.holds(name);
      await locks.take(name, opts);
      if (!had) revert.add(() => locks.release(name));
      await this.host(pool).attach(name, target);
    });
    return target;
  }

  /**
   * unmountVolume unmounts and detaches the image here and drops this
   * member's lock; not mounted is success. A mount whose lock another member
   * broke (this member was lost, its rbd-fuse is blocklisted) is aborted
   * rather than flushed: its writes could not land, and flushing them would hang.
   */
  async unmountVolume(pool: PoolSpec, name: string): Promise<void> {
    const host = this.host(pool);
    const target = this.mountPointOf(pool, name);
    const exists = (await this.imageSize(pool, name)) !== undefined;
    const locks = this.lockSet(pool);
    const attached = (await host.isAttached(target)) || (await host.fuseMounted(checkName('volume', name)));
    const broken = attached && exists && !(await locks.holds(name));
    await host.detach(name, target, { abort: broken });
    if (exists) await locks.release(name);
  }
}
