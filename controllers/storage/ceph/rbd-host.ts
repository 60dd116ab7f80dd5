/**
 * RbdHost makes RBD images visible on a member without krbd or nbd: the
 * image is shown as a file by its own `rbd-fuse -r <image>` mount (one per
 * mounted volume: rbd-fuse keeps every image it has seen open, and an open
 * image cannot be removed or resized from elsewhere), the file is attached
 * to a loop device, a filesystem is made on first use, and the loop device
 * is mounted. Every step is idempotent and `detach` undoes them in reverse;
 * the caller holds the RBD lock.
 */
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isCode, UnavailableError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, isDirectory, pathExists, readFileIfExists } from '../../../lib/host/fs.js';
import { withRevert } from '../../../lib/host/revert.js';
import { loopDevicesOf, mountAt } from '../drivers/btrfs-host.js';
import { type CephPoolConfig, fuseEnv } from './rbd.js';

const T = { short: 30_000, long: 10 * 60_000 };

/** rbdFusePids lists the live rbd-fuse processes serving mount point `dir` (their argv from /proc/<pid>/cmdline; zombies have none). */
export async function rbdFusePids(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // A process may end between readdir and the read: that is not an error here.
    const argv = (await readFileIfExists(`/proc/${entry}/cmdline`).catch(() => undefined))?.split('\0') ?? [];
    if (argv[0] === 'rbd-fuse' && argv[1] === dir) pids.push(Number(entry));
  }
  return pids;
}

/** RbdHost attaches and detaches images of one pool on this member; see the file comment. */
export class RbdHost {
  constructor(
    private readonly runner: HostRunner,
    private readonly cfg: CephPoolConfig,
    /** fuseRoot holds one rbd-fuse mount per attached image: `<fuseRoot>/<image>/<image>` is the image file */
    readonly fuseRoot: string,
  ) {}

  private fuseDir(image: string): string {
    return join(this.fuseRoot, image);
  }

  /** fuseMounted tells whether the image's rbd-fuse mount is up. */
  async fuseMounted(image: string): Promise<boolean> {
    return (await mountAt(this.fuseDir(image)))?.fsType.startsWith('fuse') ?? false;
  }

  /** mountFuse starts rbd-fuse for one image unless it is already mounted (it daemonizes; unmounting stops it). */
  private async mountFuse(image: string): Promise<void> {
    const dir = this.fuseDir(image);
    if (await this.fuseMounted(image)) return;
    await ensureDir(dir);
    await this.runner.run(['rbd-fuse', dir, '-c', this.cfg.conf, '-p', this.cfg.pool, '-r', image], {
      env: fuseEnv(this.cfg, process.env.PATH),
      timeoutMs: (this.cfg.timeoutSeconds + 10) * 1000,
    });
    if (!(await this.fuseMounted(image))) throw new UnavailableError(`rbd-fuse did not mount image ${this.cfg.pool}/${image} at ${dir}`);
  }

  /** unmountFuse unmounts the image's rbd-fuse (which ends its process and closes the image) and removes the directory. */
  private async unmountFuse(image: string): Promise<void> {
    const dir = this.fuseDir(image);
    // The loop device is detached and the file synced by now: if another mount
    // namespace still pins the FUSE mount after a while, detach it lazily so
    // rbd-fuse ends when the last reference goes.
    await this.umount(dir, { lazyAfterAttempts: 40 });
    if (await isDirectory(dir)) await rmdir(dir).catch(() => undefined);
    if (await isDirectory(this.fuseRoot)) await rmdir(this.fuseRoot).catch(() => undefined);
  }

  /** umount unmounts `dir` until nothing is mounted there, retrying "busy" for a while: a detached loop device lets go of its file asynchronously. */
  private async umount(dir: string, opts: { lazyAfterAttempts?: number } = {}): Promise<void> {
    for (let attempt = 0; await mountAt(dir); attempt++) {
      const lazy = opts.lazyAfterAttempts !== undefined && attempt >= opts.lazyAfterAttempts;
      try {
        await this.runner.run(lazy ? ['umount', '-l', dir] : ['umount', dir], { timeoutMs: T.short });
      } catch (err) {
        if (!isCode(err, 'HostCommand') || attempt >= 120) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** imageFile is the image's file inside its rbd-fuse mount. */
  imageFile(image: string): string {
    return join(this.fuseDir(image), image);
  }

  /** waitForImage waits (up to the pool timeout) for rbd-fuse to show the image file. */
  private async waitForImage(image: string): Promise<string> {
    const file = this.imageFile(image);
    for (let i = 0; i < this.cfg.timeoutSeconds * 10; i++) {
      if (await pathExists(file)) return file;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new UnavailableError(`image ${this.cfg.pool}/${image} did not appear in the rbd-fuse mount ${this.fuseDir(image)}`);
  }

  /**
   * attach makes the image's filesystem visible at `target`: loop device on
   * the image file, a filesystem when the image has none, the mount, and a
   * grow of the filesystem to the image size. Undone on failure.
   */
  async attach(image: string, target: string): Promise<void> {
    if (await mountAt(target)) return;
    await withRevert(async (revert) => {
      await this.mountFuse(image);
      revert.add(() => this.unmountFuse(image));
      const file = await this.waitForImage(image);
      let dev = (await loopDevicesOf(this.runner, file))[0];
      if (dev === undefined) {
        dev = (await this.runner.run(['losetup', '--find', '--show', file], { timeoutMs: T.short })).stdout.trim();
        const attached = dev;
        revert.add(() => this.runner.run(['losetup', '--detach', attached], { timeoutMs: T.short }));
      }
      const fs = await this.fsType(dev);
      if (fs === undefined) await this.mkfs(dev);
      if (fs === 'ext4') await this.growExt4(dev);
      await ensureDir(target);
      await this.runner.run(['mount', '-t', fs ?? this.cfg.fs, dev, target], { timeoutMs: T.long });
      revert.add(() => this.runner.run(['umount', target], { timeoutMs: T.long }));
      if ((fs ?? this.cfg.fs) === 'btrfs') await this.runner.run(['btrfs', 'filesystem', 'resize', 'max', target], { timeoutMs: T.long });
    });
  }

  /**
   * detach unmounts `target`, detaches the image's loop devices, stops its
   * rbd-fuse and removes the mount points; absent is success. With `abort`
   * (another member broke this member's lock and blocklisted its rbd-fuse,
   * so every write through it would hang) the FUSE connection is aborted
   * first — `umount -f` on a FUSE mount fails pending and later I/O at once,
   * even while the loop device keeps the mount busy — and its rbd-fuse is
   * killed (abortFuse); nothing is flushed: what was not written could not land.
   */
  async detach(image: string, target: string, opts: { abort?: boolean } = {}): Promise<void> {
    const file = this.imageFile(image);
    // Looked up before an abort: once the FUSE mount is cut off, the loop devices'
    // backing file no longer resolves to the image file and they would be left attached.
    const loops = (await this.fuseMounted(image)) ? await loopDevicesOf(this.runner, file) : [];
    if (opts.abort) await this.abortFuse(image);
    await this.umount(target);
    for (const dev of loops) {
      if (!opts.abort) await this.runner.run(['blockdev', '--flushbufs', dev], { timeoutMs: T.long }).catch(() => undefined);
      await this.runner.run(['losetup', '--detach', dev], { timeoutMs: T.short, okExitCodes: [0, 1] });
    }
    // Push the fuse file's dirty pages to rbd-fuse (and so to the OSDs) before it is unmounted.
    if (!opts.abort && (await this.fuseMounted(image))) await this.runner.run(['sync', file], { timeoutMs: T.long }).catch(() => undefined);
    await this.unmountFuse(image);
    if (await isDirectory(target)) await rmdir(target).catch(async () => rm(target, { recursive: false, force: true }));
  }

  /**
   * abortFuse cuts the image's rbd-fuse off for good: `umount -f` aborts the
   * FUSE connection, and the process is killed — an rbd-fuse with writes in
   * flight sits in librbd retrying them (the OSDs drop a blocklisted
   * client's requests), and would send them once the blocklist entry expires.
   */
  private async abortFuse(image: string): Promise<void> {
    const dir = this.fuseDir(image);
    if (await this.fuseMounted(image)) await this.runner.run(['umount', '-f', dir], { timeoutMs: T.short, okExitCodes: [0, 32] });
    const pids = await rbdFusePids(dir);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    for (let i = 0; i < 100 && (await rbdFusePids(dir)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const left = await rbdFusePids(dir);
    if (left.length > 0) throw new UnavailableError(`rbd-fuse ${left.join(', ')} for ${dir} did not end after SIGKILL`);
  }

  /** isAttached tells whether `target` is mounted. */
  async isAttached(target: string): Promise<boolean> {
    return (await mountAt(target)) !== undefined;
  }

  private async fsType(dev: string): Promise<string | undefined> {
    try {
      const res = await this.runner.run(['blkid', '-p', '-o', 'value', '-s', 'TYPE', dev], { timeoutMs: T.short, okExitCodes: [0, 2] });
      const t = res.stdout.trim();
      return res.exitCode === 0 && t !== '' ? t : undefined;
    } catch (err) {
      if (isCode(err, 'HostCommand')) return undefined;
      throw err;
    }
  }

  private async mkfs(dev: string): Promise<void> {
    const argv =
      this.cfg.fs === 'btrfs'
        ? ['mkfs.btrfs', '-q', dev]
        : ['mkfs.ext4', '-q', '-m', '0', '-E', 'nodiscard,lazy_itable_init=1,lazy_journal_init=1', dev];
    await this.runner.run(argv, { timeoutMs: T.long });
  }

  /**
   * growExt4 grows an unmounted ext4 to the image when the image is bigger
   * (a resize made while unmounted takes effect here). Offline, because
   * online resizing needs CAP_SYS_RESOURCE, which containers often lack.
   */
  private async growExt4(dev: string): Promise<void> {
    const devBytes = Number((await this.runner.run(['blockdev', '--getsize64', dev], { timeoutMs: T.short })).stdout.trim());
    const head = (await this.runner.run(['dumpe2fs', '-h', dev], { timeoutMs: T.short })).stdout;
    const count = Number(/^Block count:\s+(\d+)/m.exec(head)?.[1] ?? '0');
    const size = Number(/^Block size:\s+(\d+)/m.exec(head)?.[1] ?? '0');
    if (count === 0 || devBytes - count * size < 2 ** 20) return;
    // resize2fs wants a freshly checked filesystem; e2fsck exits 1 when it fixed something.
    await this.runner.run(['e2fsck', '-f', '-p', dev], { timeoutMs: T.long, okExitCodes: [0, 1] });
    await this.runner.run(['resize2fs', dev], { timeoutMs: T.long });
  }
}
