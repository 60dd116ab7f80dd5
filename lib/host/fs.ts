/**
 * File helpers for drivers: directories, atomic writes and guarded removal.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile, realpath, lstat } from 'node:fs/promises';
import { dirname, basename, join, resolve, sep } from 'node:path';
import { ValidationError } from '../errors.js';

/** ensureDir creates `path` and its parents if missing (mode applies to created dirs); existing is success. */
export async function ensureDir(path: string, mode = 0o755): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}

/** pathExists tells whether anything (file, dir, symlink) is at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** isDirectory tells whether `path` is a directory (following symlinks); missing is false. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** readFileIfExists returns the file's text, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * writeFileAtomic writes `data` to a temporary file beside `path` and renames
 * it into place, so readers see the old content or the new, never a mix.
 * The parent directory must exist.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { mode: opts.mode ?? 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** isStrictlyUnder tells whether absolute `path` lies inside `root` (and is not `root` itself), lexically. */
export function isStrictlyUnder(path: string, root: string): boolean {
  const p = resolve(path);
  const r = resolve(root);
  return p !== r && p.startsWith(r.endsWith(sep) ? r : r + sep);
}

/**
 * removeTree deletes `path` recursively, but only when it lies strictly inside
 * `root` — checked both on the given paths and on their real paths, so a
 * symlink cannot redirect the removal outside. Missing is success. Anything
 * else throws ValidationError and removes nothing.
 */
export async function removeTree(path: string, opts: { root: string }): Promise<void> {
  if (!isStrictlyUnder(path, opts.root)) {
    throw new ValidationError(`refusing to remove ${path}: it is not inside ${opts.root}`);
  }
  if (!(await pathExists(path))) return;
  const realRoot = await realpath(opts.root);
  // Resolve the parent, not the path itself: removing a symlink removes the link, not its target.
  const realParent = await realpath(dirname(resolve(path)));
  const realPath = join(realParent, basename(path));
  if (!isStrictlyUnder(realPath, realRoot)) {
    throw new ValidationError(`refusing to remove ${path}: it resolves to ${realPath}, outside ${realRoot}`);
  }
  await rm(realPath, { recursive: true, force: true });
}
