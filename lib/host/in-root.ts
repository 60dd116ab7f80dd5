/**
 * Paths inside a container's root filesystem, resolved on the host without
 * ever leaving it. The rootfs belongs to whoever is root in the instance:
 * any component of a path may be a symlink they planted (`/data -> /`,
 * `/data -> ../../..`), and a host tool that follows it — `mkdir -p`, LXC's
 * `create=dir`, a plain write — acts on the host instead. Here every
 * component is looked at with lstat; a symlink is followed only as the
 * instance would see it (relative to its own `/`) and only when it stays
 * inside; one that climbs out is refused.
 */
import { lstat, mkdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { containerPathProblem, normalisedPathProblem } from '../kinds/path-rules.js';

/** MAX_SYMLINK_HOPS is how many symlinks one resolution may follow (Linux's MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

/**
 * followLink returns the container path a symlink found at `linkPath` (a
 * normalised container path) points to, or undefined when the target climbs
 * above the container's `/` (`../../..` from `/data`, or `/../etc`). Pure.
 */
export function followLink(linkPath: string, target: string): string | undefined {
  if (target === '') return undefined;
  const base = target.startsWith('/')
    ? []
    : linkPath
        .split('/')
        .filter((s) => s !== '')
        .slice(0, -1);
  const out = [...base];
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(seg);
    }
  }
  return `/${out.join('/')}`;
}

/** InRootPath is a path resolved inside a root: the container's view and the host's. */
export interface InRootPath {
  /** containerPath is symlink-free and normalised, as the instance sees it */
  containerPath: string;
  /** hostPath is `<root><containerPath>` with the root's real path */
  hostPath: string;
}

/** ResolveInRootOptions: `create` makes missing directories (mode 0755) as it walks; `mountTarget` applies the mount-path rules to the result. */
export interface ResolveInRootOptions {
  create?: boolean;
  mountTarget?: boolean;
}

function refuse(path: string, why: string): ValidationError {
  return new ValidationError(`path ${path} inside the root filesystem ${why}`);
}

/**
 * resolveInRoot resolves the container path `path` inside the root
 * filesystem `root` component by component with lstat, following symlinks
 * the way the instance would (relative to its `/`), never outside `root`.
 * Missing components are made as directories when `create` is set (mkdir
 * never follows a final symlink), else NotFound-free: the result then names
 * what would be created. Throws ValidationError when a symlink climbs out of
 * the root, when there are more than MAX_SYMLINK_HOPS, when a component is not
 * a directory, or (with `mountTarget`) when the resolved path is `/` or lies
 * in /proc, /sys or /dev.
 */
export async function resolveInRoot(root: string, path: string, opts: ResolveInRootOptions = {}): Promise<InRootPath> {
  const bad = opts.mountTarget ? containerPathProblem(path) : normalisedPathProblem(path);
  if (bad) throw refuse(JSON.stringify(path), bad);
  const realRoot = await realpath(root);
  let done: string[] = [];
  let todo = path.split('/').filter((s) => s !== '');
  let hops = 0;
  let missing = false;
  while (todo.length > 0) {
    const seg = todo.shift() as string;
    const containerPath = `/${[...done, seg].join('/')}`;
    const hostPath = join(realRoot, containerPath);
    if (missing) {
      done.push(seg);
      continue;
    }
    let st;
    try {
      st = await lstat(hostPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (opts.create) {
        await mkdir(hostPath, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
          // Made by someone else meanwhile: look again instead of trusting it.
          if (e.code !== 'EEXIST') throw e;
        });
        todo.unshift(seg);
      } else {
        missing = true;
        done.push(seg);
      }
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw refuse(path, `has more than ${MAX_SYMLINK_HOPS} symlinks to follow`);
      const target = await readlink(hostPath);
      const next = followLink(containerPath, target);
      if (next === undefined) throw refuse(path, `goes through the symlink ${containerPath} -> ${target}, which points outside it`);
      done = [];
      todo = [...next.split('/').filter((s) => s !== ''), ...todo];
      continue;
    }
    if (!st.isDirectory() && (todo.length > 0 || opts.mountTarget))
      throw refuse(path, `goes through ${containerPath}, which is not a directory`);
    done.push(seg);
  }
  const containerPath = `/${done.join('/')}`;
  if (opts.mountTarget) {
    const problem = containerPathProblem(containerPath);
    if (problem) throw refuse(path, `resolves to ${containerPath}, which ${problem}`);
  }
  return { containerPath, hostPath: containerPath === '/' ? realRoot : join(realRoot, containerPath) };
}
