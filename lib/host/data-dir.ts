/**
 * Permissions of the member's data directory. Instance files (root
 * filesystems, cached images, storage pools) live under it, and a root
 * filesystem holds world-writable directories (`/tmp`): if any local user
 * could traverse down to one, they could write into the instance from the
 * host. So the data dir only lets others pass through (0711), and the trees
 * holding instance files are root's alone (0700).
 *
 * Later (unprivileged instances, issue 11): the mapped root of a container
 * must be able to traverse every directory down to its rootfs. Then `rootfs/`
 * becomes 0711 and each container's rootfs moves into a directory of its own
 * owned by its mapped root with mode 0700 (as LXD does), so other users still
 * cannot get in.
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
