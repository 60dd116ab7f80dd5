/**
 * Permissions of the member's data directory. Instance files (root
 * filesystems, cached images, storage pools) live under it, and a root
 * filesystem holds world-writable directories (`/tmp`): if any local user
 * could traverse down to one, they could write into the instance from the
 * host. So the data dir only lets others pass through (0711), and the trees
 * holding instance files are root's alone (0700).
 *
 * The mapped root of an unprivileged container must be able to traverse
 * every directory down to its rootfs and volumes (LXC mounts them as that
 * root). The LXC runtime grants exactly that uid search permission with a
 * POSIX ACL entry on the data dir's directories that need it
 * (lib/host/security.ts grantTraversal), so the modes above stay as they are
 * for every other local user.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** DATA_DIR_MODES maps each directory (relative to the data dir; '' is the data dir) to the mode it must have. */
export const DATA_DIR_MODES: ReadonlyArray<readonly [string, number]> = [
  ['', 0o711],
  ['lxc', 0o711],
  ['rootfs', 0o700],
  ['images', 0o700],
  ['storage', 0o700],
];

/** ensureMode creates `path` (and parents) when missing and sets exactly `mode` on it; returns the mode it had (undefined when made). */
export async function ensureMode(path: string, mode: number): Promise<number | undefined> {
  const before = await stat(path).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  if (before === undefined) await mkdir(path, { recursive: true, mode });
  // chmod also on a new directory: mkdir's mode goes through the umask.
  if (before !== mode) await chmod(path, mode);
  return before;
}

/** secureDataDir applies DATA_DIR_MODES under `dataDir`, creating missing directories; returns the paths whose mode it changed. */
export async function secureDataDir(dataDir: string): Promise<string[]> {
  const changed: string[] = [];
  for (const [rel, mode] of DATA_DIR_MODES) {
    const path = rel === '' ? dataDir : join(dataDir, rel);
    const before = await ensureMode(path, mode);
    if (before !== undefined && before !== mode) changed.push(path);
  }
  return changed;
}
