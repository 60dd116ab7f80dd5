/**
 * RbdLocks keeps the one-writer rule of ceph volumes with the images' RBD
 * advisory locks: a member takes the image's exclusive lock with the cookie
 * `cloudlet:<member>` before it mounts the image (`rbd lock add` is an
 * atomic exclusive create on the image header), keeps its own lock across
 * re-mounts, and drops it after unmounting.
 *
 * Breaking another member's lock is fencing, not bookkeeping. `rbd lock rm`
 * makes librbd blocklist the address that took the lock
 * (`rbd_blocklist_on_break_lock`, on by default, for
 * `rbd_blocklist_expire_seconds`, default one hour) — but that address is
 * the short-lived `rbd lock add` process, not the old member's rbd-fuse,
 * which keeps the image open and can still write (checked on a real cluster:
 * after `rbd lock rm` the blocklist held only the locker's address and a
 * write through the old rbd-fuse reached the OSDs). So `breakLock` first
 * puts every client watching the image (its rbd-fuse) on the OSD blocklist
 * for BLOCKLIST_SECONDS, and only then removes the lock: from that point the
 * old member's writes, including dirty pages its kernel flushes late, never
 * reach the image the new holder mounts.
 */
import { ConflictError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import type { BrokenLock, MountOptions } from '../drivers/types.js';
import {
  BLOCKLIST_SECONDS,
  type CephPoolConfig,
  cephArgv,
  lockCookie,
  lockMember,
  parseLocks,
  parseWatchers,
  type RbdLock,
  rbdArgv,
} from './rbd.js';

/** RbdLocks takes, drops and breaks one pool's image locks for one member; see the file comment. */
export class RbdLocks {
  constructor(
    private readonly runner: HostRunner,
    private readonly cfg: CephPoolConfig,
    private readonly memberName: string,
  ) {}

  private async rbd(args: string[], okExitCodes?: number[]): Promise<{ stdout: string; exitCode: number }> {
    return this.runner.run(rbdArgv(this.cfg, args), { timeoutMs: (this.cfg.timeoutSeconds + 10) * 1000, okExitCodes });
  }

  /** list returns the image's advisory locks. */
  async list(image: string): Promise<RbdLock[]> {
    return parseLocks((await this.rbd(['lock', 'ls', '--format', 'json', image])).stdout);
  }

  /** holds tells whether this member holds the image's lock. */
  async holds(image: string): Promise<boolean> {
    return (await this.list(image)).some((l) => lockMember(l) === this.memberName);
  }

  /**
   * take takes the image's exclusive lock for this member. Our own lock is
   * kept (re-mount after a restart); another member's lock refuses with
   * ConflictError unless `opts` says that member may be broken
   * (`breakLocksOf`, `mayBreakLockOf`); a lock Cloudlet did not take is never broken.
   */
  async take(image: string, opts: MountOptions): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const held = await this.list(image);
      if (held.some((l) => lockMember(l) === this.memberName)) return;
      const other = held[0];
      if (other !== undefined) {
        const member = lockMember(other);
        const breakable = member !== undefined && ((opts.breakLocksOf ?? []).includes(member) || opts.mayBreakLockOf?.(member) === true);
        if (member === undefined || !breakable) {
          throw new ConflictError(
            `volume ${image} is already mounted read-write on member ${member ?? other.locker} (RBD lock ${other.id}); a second read-write mount is refused`,
          );
        }
        const broken = await this.breakLock(image, other, member);
        if (broken) opts.onLockBroken?.(broken);
        continue;
      }
      const res = await this.rbd(['lock', 'add', image, lockCookie(this.memberName)], [0, 16]);
      if (res.exitCode === 0) return;
    }
    const holder = (await this.list(image))[0];
    throw new ConflictError(
      `volume ${image} is already mounted read-write on member ${holder ? (lockMember(holder) ?? holder.locker) : 'another member'}; a second read-write mount is refused`,
    );
  }

  /**
   * breakLock cuts the lock holder's clients off (OSD blocklist) and removes
   * its lock; undefined when the lock changed meanwhile (the caller looks again).
   */
  private async breakLock(image: string, lock: RbdLock, member: string): Promise<BrokenLock | undefined> {
    const watchers = parseWatchers((await this.rbd(['status', '--format', 'json', image])).stdout);
    // Only the holder mounts the image, so its watchers are the holder's; make sure it still is that holder.
    if (!(await this.list(image)).some((l) => l.id === lock.id && l.locker === lock.locker)) return undefined;
    for (const addr of watchers)
      await this.runner.run(cephArgv(this.cfg, ['osd', 'blocklist', 'add', addr, String(BLOCKLIST_SECONDS)]), {
        timeoutMs: (this.cfg.timeoutSeconds + 10) * 1000,
      });
    const res = await this.rbd(['lock', 'rm', image, lock.id, lock.locker], [0, 2]);
    return res.exitCode === 0 ? { member, lock: lock.id, blocklisted: watchers } : undefined;
  }

  /**
   * release drops this member's lock on the image; absent is success. No
   * blocklisting here: the locker is our own finished `rbd lock add`, and
   * every entry would change the OSD map for nothing.
   */
  async release(image: string): Promise<void> {
    for (const l of await this.list(image)) {
      if (lockMember(l) === this.memberName)
        await this.rbd(['--rbd_blocklist_on_break_lock=false', 'lock', 'rm', image, l.id, l.locker], [0, 2]);
    }
  }

  /** otherHolder returns the lock of another member (or any foreign lock), if one is held. */
  async otherHolder(image: string): Promise<RbdLock | undefined> {
    return (await this.list(image)).find((l) => lockMember(l) !== this.memberName);
  }
}
