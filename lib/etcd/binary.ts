/**
 * Finding the etcd binary: an explicit path wins, else the first `etcd` on PATH.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NotFoundError } from '../errors.js';

/** ETCD_INSTALL_HINT tells an operator how to get etcd on Debian. */
export const ETCD_INSTALL_HINT = 'install it with `apt-get install etcd-server`';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * findEtcdBinary returns the absolute path of the etcd binary: `path` if given
 * (it must be an executable file), else the first `etcd` found on `searchPath`
 * (default: the PATH environment variable). Throws NotFoundError naming
 * `apt-get install etcd-server` when there is none.
 */
export function findEtcdBinary(opts: { path?: string; searchPath?: string } = {}): string {
  if (opts.path !== undefined) {
    if (isExecutableFile(opts.path)) return opts.path;
    throw new NotFoundError(`etcd binary ${opts.path} is not an executable file; ${ETCD_INSTALL_HINT}`);
  }
  const dirs = (opts.searchPath ?? process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const dir of dirs) {
    const candidate = join(dir, 'etcd');
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new NotFoundError(`etcd binary not found on PATH; ${ETCD_INSTALL_HINT}`);
}
