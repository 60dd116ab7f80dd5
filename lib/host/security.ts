/**
 * Host security facts: whether the kernel has AppArmor, and whether a
 * user-namespace root can walk to a path (LXC refuses to start an
 * unprivileged container whose rootfs its mapped root cannot reach).
 */
import { lstat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UnavailableError } from '../errors.js';
import { readFileIfExists } from './fs.js';

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
      throw new UnavailableError(`the root filesystem ${path} cannot be reached by the instance's root (host uid ${uid}): ${d} has mode ${(st.mode & 0o7777).toString(8)}; let others search it (chmod o+x ${d})`);
    }
  }
}
