/**
 * Host security facts: whether the kernel has AppArmor, and whether a
 * user-namespace root can walk to a path (LXC refuses to start an
 * unprivileged container whose rootfs its mapped root cannot reach).
 */
import { lstat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UnavailableError } from '../errors.js';
import type { HostRunner } from './exec.js';
import { isStrictlyUnder, readFileIfExists } from './fs.js';

/** APPARMOR_ENABLED is the kernel's switch for AppArmor ('Y' when it confines). */
export const APPARMOR_ENABLED = '/sys/module/apparmor/parameters/enabled';

/** hostHasAppArmor tells whether the running kernel has AppArmor enabled. */
export async function hostHasAppArmor(path = APPARMOR_ENABLED): Promise<boolean> {
  return ((await readFileIfExists(path)) ?? '').trim() === 'Y';
}

/** canTraverse tells whether `uid` (in no group of the directory) may search a directory of `mode` owned by `owner`/`group`. */
export function canTraverse(st: { mode: number; uid: number; gid: number }, uid: number): boolean {
  if (st.uid === uid) return (st.mode & 0o100) !== 0;
  if (st.gid === uid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * requireTraversable checks every directory above `path` for search
 * permission by `uid` and throws an UnavailableError (the agent retries, saying why) naming the first one
 * that blocks it and the fix. ACLs are not read: a directory opened to the
 * uid only by an ACL is reported too (grant o+x, or check it by hand).
 */
export async function requireTraversable(path: string, uid: number): Promise<void> {
  let dir = dirname(resolve(path));
  const dirs: string[] = [];
  for (;;) {
    dirs.unshift(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of dirs) {
    const st = await lstat(d);
    if (st.isDirectory() && !canTraverse(st, uid)) {
      throw new UnavailableError(
        `the root filesystem ${path} cannot be reached by the instance's root (host uid ${uid}): ${d} has mode ${(st.mode & 0o7777).toString(8)}; let others search it (chmod o+x ${d})`,
      );
    }
  }
}

/** ancestorsOf lists the directories above `path`, from `/` down to its parent. */
function ancestorsOf(path: string): string[] {
  const dirs: string[] = [];
  for (let dir = dirname(resolve(path)); ;) {
    dirs.unshift(dir);
    const up = dirname(dir);
    if (up === dir) return dirs;
    dir = up;
  }
}

/**
 * grantTraversal lets the user-namespace root `uid` walk down to `path`
 * without opening the way to anyone else. Directories Cloudlet owns (the
 * data dir and below) that its mode does not let `uid` search get a POSIX
 * ACL entry `u:<uid>:--x` (setfacl; idempotent), so the data dir's trees
 * stay 0700 for other local users. Directories above the data dir are not
 * Cloudlet's to change: they are checked (requireTraversable) and an
 * UnavailableError names the one that blocks and the fix.
 */
export async function grantTraversal(opts: {
  path: string;
  uid: number;
  dataDir: string;
  runner: HostRunner;
  /** granted remembers `<uid>:<dir>:<inode>` triples this process already granted, so setfacl runs once per directory and uid */
  granted?: Set<string>;
}): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  const outside = ancestorsOf(opts.path).filter((d) => d !== dataDir && !isStrictlyUnder(d, dataDir));
  for (const d of outside) {
    const st = await lstat(d);
    if (st.isDirectory() && !canTraverse(st, opts.uid)) {
      throw new UnavailableError(
        `the root filesystem ${opts.path} cannot be reached by the instance's root (host uid ${opts.uid}): ${d} has mode ${(st.mode & 0o7777).toString(8)}; let others search it (chmod o+x ${d}) or move the data dir`,
      );
    }
  }
  for (const d of ancestorsOf(opts.path).filter((x) => x === dataDir || isStrictlyUnder(x, dataDir))) {
    const st = await lstat(d);
    // Keyed by inode too: a directory deleted and made again (a pool re-created) has no ACL entry yet.
    const key = `${opts.uid}:${d}:${st.ino}`;
    if (opts.granted?.has(key)) continue;
    // The mode alone does not show an ACL entry granted earlier: setfacl is idempotent, and `granted` spares repeats.
    if (st.isDirectory() && !canTraverse(st, opts.uid)) {
      await opts.runner.run(['setfacl', '-m', `u:${opts.uid}:x`, d], { timeoutMs: 10_000 });
    }
    opts.granted?.add(key);
  }
}
