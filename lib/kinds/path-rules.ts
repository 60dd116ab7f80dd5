/**
 * Rules for the fields that name a path — inside an instance (volume mount
 * paths) or on a member (image files, pool sources). Pure functions, shared
 * by the API (refused with 422 before anything is written) and by the agents
 * that check again before they touch the host.
 */

/** KERNEL_TREES are the container paths the runtime itself fills; nothing is mounted at or below them. */
export const KERNEL_TREES = ['/proc', '/sys', '/dev'] as const;

/** MAX_PATH_LENGTH is the longest path accepted (PATH_MAX on Linux). */
export const MAX_PATH_LENGTH = 4096;

/**
 * normalisedPathProblem says why `path` is not an absolute, normalised path,
 * or returns undefined when it is: it must start with `/`, hold no NUL or
 * other control character (a newline would split an LXC config line), no
 * empty (`//`), `.` or `..` segment, no trailing `/` (except `/` itself),
 * and be at most MAX_PATH_LENGTH bytes.
 */
export function normalisedPathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (Buffer.byteLength(path) > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} bytes long`;
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain a NUL, newline or other control character';
  if (!path.startsWith('/')) return 'must be an absolute path (start with "/")';
  if (path === '/') return undefined;
  if (path.endsWith('/')) return 'must not end with "/"';
  for (const seg of path.slice(1).split('/')) {
    if (seg === '') return 'must not contain an empty segment ("//")';
    if (seg === '..') return 'must not contain a ".." segment';
    if (seg === '.') return 'must not contain a "." segment';
  }
  return undefined;
}

/** isAtOrBelow tells whether normalised absolute `path` is `tree` or lies below it. */
export function isAtOrBelow(path: string, tree: string): boolean {
  return path === tree || path.startsWith(`${tree}/`);
}

/**
 * containerPathProblem says why `path` may not be a mount target inside an
 * instance, or returns undefined: it must be normalised (see
 * normalisedPathProblem), must not be `/`, and must not be `/proc`, `/sys`,
 * `/dev` or lie below them.
 */
export function containerPathProblem(path: string): string | undefined {
  const bad = normalisedPathProblem(path);
  if (bad) return bad;
  if (path === '/') return 'must not be "/" (the instance\'s root)';
  const tree = KERNEL_TREES.find((t) => isAtOrBelow(path, t));
  if (tree) return `must not be ${tree} or below it (the runtime owns ${tree})`;
  return undefined;
}

/**
 * hostPathProblem says why `path` may not name a directory or file on a
 * member (a pool source), or returns undefined: normalised, not `/`, and
 * not inside `/proc`, `/sys` or `/dev`.
 */
export function hostPathProblem(path: string): string | undefined {
  const bad = normalisedPathProblem(path);
  if (bad) return bad;
  if (path === '/') return 'must not be "/"';
  const tree = KERNEL_TREES.find((t) => isAtOrBelow(path, t));
  if (tree) return `must not be ${tree} or below it`;
  return undefined;
}

/** FileImagePath is the result of reading a `file://` image reference: its path, or why it is refused. */
export type FileImagePath = { path: string; problem?: undefined } | { path?: undefined; problem: string };

/**
 * fileImagePath reads the path of a `file:///…` image reference
 * (percent-decoded) and checks it with hostPathProblem, so
 * `file:///tmp/../etc/shadow` and `file:///tmp/%2e%2e/etc/shadow` are both
 * refused. Whether the file lies in the member's image directory is checked
 * on the member, which knows that directory.
 */
export function fileImagePath(ref: string): FileImagePath {
  if (!ref.startsWith('file:///')) return { problem: 'must start with file:///' };
  let path: string;
  try {
    path = decodeURIComponent(ref.slice('file://'.length));
  } catch {
    return { problem: 'is not a valid percent-encoded file:// URL' };
  }
  const problem = hostPathProblem(path);
  return problem ? { problem } : { path };
}
