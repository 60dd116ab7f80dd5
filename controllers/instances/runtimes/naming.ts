/**
 * Container and host names. Many Cloudlet daemons may share one kernel (the
 * lab runs every member on one machine), and LXC cgroups and abstract sockets
 * are named after the container, so a container name must be unique per
 * kernel, not just per LXC path: it carries a tag derived from the daemon's
 * data directory.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/** MAX_CONTAINER_NAME is the longest container name we make (a DNS label's length). */
export const MAX_CONTAINER_NAME = 63;

function hex8(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** dataDirTag is 8 hex digits identifying a data directory (hash of its absolute path). */
export function dataDirTag(dataDir: string): string {
  return hex8(resolve(dataDir));
}

/** containerNamePrefix is the prefix of every container owned by the daemon using `dataDir`: `cl-<tag>-`. */
export function containerNamePrefix(dataDir: string): string {
  return `cl-${dataDirTag(dataDir)}-`;
}

/**
 * containerNameFor names the container of instance namespace/name for the
 * daemon using `dataDir`: `cl-<tag>-<namespace>_<name>` (namespaces and
 * names cannot contain `_`, so the pair is unambiguous). When that exceeds 63
 * characters the readable part is cut and 8 hex of a hash of namespace/name
 * keep it unique. Deterministic: the same inputs give the same name.
 */
export function containerNameFor(opts: { dataDir: string; namespace: string; name: string }): string {
  const prefix = containerNamePrefix(opts.dataDir);
  const readable = `${opts.namespace}_${opts.name}`;
  const full = prefix + readable;
  if (full.length <= MAX_CONTAINER_NAME) return full;
  const suffix = `-${hex8(`${opts.namespace}/${opts.name}`)}`;
  const room = MAX_CONTAINER_NAME - prefix.length - suffix.length;
  return prefix + readable.slice(0, room).replace(/[-._]+$/, '') + suffix;
}

/**
 * hostnameFor makes a valid hostname (a DNS label, at most 63 characters)
 * from an instance name: the name itself when it is one; otherwise its first
 * label, lower-cased, cut to 63 characters.
 */
export function hostnameFor(name: string): string {
  const label = name.toLowerCase().split('.')[0] ?? '';
  const cleaned = label
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return cleaned === '' ? 'instance' : cleaned;
}
