/**
 * Pure helpers of the ceph storage driver: the pool's `spec.config` keys,
 * the argv and environment of `rbd`/`ceph`/`rbd-fuse` calls, parsers of
 * their JSON output, the advisory-lock cookie that names a member, and the
 * translation of a failed call into a NotReady reason.
 */
import { isAbsolute } from 'node:path';
import { ValidationError } from '../../../lib/errors.js';
import { isJsonMap } from '../../../lib/json.js';

/** CephPoolConfig is a ceph pool's `spec.config`, checked and defaulted. */
export interface CephPoolConfig {
  /** conf is the cluster's ceph.conf path (key `conf`, alias `cluster`) */
  conf: string;
  /** keyring is the client keyring path (key `keyring`) */
  keyring: string;
  /** user is the cephx user without `client.` (key `user`, default `admin`) */
  user: string;
  /** pool is the RADOS pool that holds the images (key `pool`, default `rbd`) */
  pool: string;
  /** fs is the filesystem made on first mount (key `fs`: ext4 or btrfs, default ext4) */
  fs: 'ext4' | 'btrfs';
  /** timeoutSeconds bounds every cluster call (key `timeoutSeconds`, default 20) */
  timeoutSeconds: number;
}

const SIMPLE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** parseCephConfig reads a pool's config; missing or bad keys throw ValidationError naming them. */
export function parseCephConfig(config: Record<string, string>): CephPoolConfig {
  const conf = config.conf ?? config.cluster;
  const keyring = config.keyring;
  const missing = [conf === undefined ? 'conf' : '', keyring === undefined ? 'keyring' : ''].filter((k) => k !== '');
  if (conf === undefined || keyring === undefined)
    throw new ValidationError(
      `ceph pool: spec.config.${missing.join(' and spec.config.')} is required (the cluster's ceph.conf and the client keyring paths)`,
    );
  if (!isAbsolute(conf) || !isAbsolute(keyring))
    throw new ValidationError('ceph pool: spec.config.conf and spec.config.keyring must be absolute paths');
  const user = (config.user ?? 'admin').replace(/^client\./, '');
  const pool = config.pool ?? 'rbd';
  if (!SIMPLE.test(user)) throw new ValidationError(`ceph pool: spec.config.user "${user}" is not a valid cephx user name`);
  if (!SIMPLE.test(pool)) throw new ValidationError(`ceph pool: spec.config.pool "${pool}" is not a valid RADOS pool name`);
  const fs = config.fs ?? 'ext4';
  if (fs !== 'ext4' && fs !== 'btrfs') throw new ValidationError(`ceph pool: spec.config.fs "${fs}" must be ext4 or btrfs`);
  const timeoutSeconds = Number(config.timeoutSeconds ?? '20');
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1)
    throw new ValidationError('ceph pool: spec.config.timeoutSeconds must be a positive integer');
  return { conf, keyring, user, pool, fs, timeoutSeconds };
}

/** clientArgs are the options every rbd/ceph call gets: cluster, identity, and a bounded connect time. */
export function clientArgs(cfg: CephPoolConfig): string[] {
  return [
    '--conf',
    cfg.conf,
    '--id',
    cfg.user,
    '--keyring',
    cfg.keyring,
    `--client_mount_timeout=${cfg.timeoutSeconds}`,
    '--log_to_stderr=false',
    '--err_to_stderr=true',
  ];
}

/** rbdArgv builds an `rbd` call on the pool: `rbd <client args> --pool <pool> ...args`. */
export function rbdArgv(cfg: CephPoolConfig, args: string[]): string[] {
  return ['rbd', ...clientArgs(cfg), '--pool', cfg.pool, ...args];
}

/** cephArgv builds a `ceph` call: `ceph <client args> --connect-timeout N ...args`. */
export function cephArgv(cfg: CephPoolConfig, args: string[]): string[] {
  return ['ceph', ...clientArgs(cfg), '--connect-timeout', String(cfg.timeoutSeconds), ...args];
}

/**
 * fuseEnv is the environment of `rbd-fuse`, which has no identity options of
 * its own: CEPH_ARGS carries the user and keyring, and turns librbd's cache
 * off so every write reaches the OSDs before the next member mounts.
 */
export function fuseEnv(cfg: CephPoolConfig, path: string | undefined): Record<string, string> {
  const args = ['--id', cfg.user, '--keyring', cfg.keyring, '--rbd_cache=false', `--client_mount_timeout=${cfg.timeoutSeconds}`];
  return { PATH: path ?? '/usr/sbin:/usr/bin:/sbin:/bin', CEPH_ARGS: args.join(' ') };
}

/** LOCK_COOKIE_PREFIX starts the advisory-lock id (cookie) Cloudlet takes for a member. */
export const LOCK_COOKIE_PREFIX = 'cloudlet:';

/** lockCookie is the advisory-lock id of `member`. */
export function lockCookie(member: string): string {
  return LOCK_COOKIE_PREFIX + member;
}

/** RbdLock is one advisory lock of an image (`rbd lock ls --format json`). */
export interface RbdLock {
  /** id is the cookie given to `rbd lock add` */
  id: string;
  /** locker is the client that took it (client.N), needed by `rbd lock rm` */
  locker: string;
  address: string;
}

/** parseLocks reads `rbd lock ls --format json` (an array, or an object keyed by id on older releases). */
export function parseLocks(text: string): RbdLock[] {
  const data: unknown = JSON.parse(text.trim() === '' ? '[]' : text);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  if (Array.isArray(data)) return data.filter(isJsonMap).map((l) => ({ id: str(l.id), locker: str(l.locker), address: str(l.address) }));
  if (isJsonMap(data))
    return Object.entries(data)
      .filter((e): e is [string, Record<string, unknown>] => isJsonMap(e[1]))
      .map(([id, l]) => ({ id, locker: str(l.locker), address: str(l.address) }));
  return [];
}

/** lockMember names the member holding a Cloudlet lock, or undefined for a lock Cloudlet did not take. */
export function lockMember(lock: RbdLock): string | undefined {
  return lock.id.startsWith(LOCK_COOKIE_PREFIX) ? lock.id.slice(LOCK_COOKIE_PREFIX.length) : undefined;
}

/** parseWatchers reads the client addresses watching an image from `rbd status --format json` (its open handles: rbd-fuse mounts, running rbd calls). */
export function parseWatchers(text: string): string[] {
  const data: unknown = JSON.parse(text.trim() === '' ? '{}' : text);
  if (!isJsonMap(data) || !Array.isArray(data.watchers)) return [];
  return data.watchers
    .filter(isJsonMap)
    .map((w) => (typeof w.address === 'string' ? w.address : ''))
    .filter((a) => a !== '');
}

/**
 * BLOCKLIST_SECONDS is how long a client cut off by a lock break stays on
 * the OSD blocklist: a week. Its blocked writes are retried by librados for
 * as long as the process lives and would land once the entry expires, so
 * the entry must outlive any partition the old member comes back from (it
 * then aborts that client when it unmounts; see RbdHost.detach).
 */
export const BLOCKLIST_SECONDS = 7 * 24 * 3600;

/** parseSnapshots reads `rbd snap ls --format json` into sorted user snapshot names. */
export function parseSnapshots(text: string): string[] {
  const data: unknown = JSON.parse(text.trim() === '' ? '[]' : text);
  if (!Array.isArray(data)) return [];
  return data
    .filter(isJsonMap)
    .filter((s) => s.namespace === undefined || (isJsonMap(s.namespace) ? s.namespace.type === 'user' : s.namespace === 'user'))
    .map((s) => (typeof s.name === 'string' ? s.name : ''))
    .filter((n) => n !== '')
    .sort();
}

/** parseImageSize reads the size in bytes from `rbd info --format json`. */
export function parseImageSize(text: string): number | undefined {
  const data: unknown = JSON.parse(text);
  return isJsonMap(data) && typeof data.size === 'number' ? data.size : undefined;
}

/** parseUsedBytes reads the image's used bytes from `rbd du --format json <image>`. */
export function parseUsedBytes(text: string, image: string): number | undefined {
  const data: unknown = JSON.parse(text);
  if (!isJsonMap(data) || !Array.isArray(data.images)) return undefined;
  const head = data.images.filter(isJsonMap).find((i) => i.name === image && i.snapshot === undefined);
  return head && typeof head.used_size === 'number' ? head.used_size : undefined;
}

/** PoolUsage is the pool's share of the cluster: what can still be stored and what is stored. */
export interface PoolUsage {
  capacityBytes: number;
  usedBytes: number;
}

/** parseDf reads `ceph df -f json` for one pool: capacity = stored + max_avail, used = stored. */
export function parseDf(text: string, pool: string): PoolUsage | undefined {
  const data: unknown = JSON.parse(text);
  if (!isJsonMap(data) || !Array.isArray(data.pools)) return undefined;
  const p = data.pools.filter(isJsonMap).find((x) => x.name === pool);
  if (!p || !isJsonMap(p.stats)) return undefined;
  const stored = typeof p.stats.stored === 'number' ? p.stats.stored : 0;
  const avail = typeof p.stats.max_avail === 'number' ? p.stats.max_avail : 0;
  return { capacityBytes: stored + avail, usedBytes: stored };
}

/** unreachableReason turns a failed cluster call's stderr into a short NotReady reason. */
export function unreachableReason(stderr: string, cfg: CephPoolConfig): string {
  const where = `ceph cluster of ${cfg.conf} as client.${cfg.user}`;
  if (
    /handle_auth_bad_method|permission denied|\(1\) Operation not permitted|\(13\)|auth.*(failed|error)|unable to find a keyring|no keyring found/i.test(
      stderr,
    )
  ) {
    return `${where}: authentication failed (wrong key, user or keyring ${cfg.keyring})`;
  }
  if (
    /\(110\)|timed out|Connection timed out|error connecting to the cluster|TimeoutError|\(2\) No such file or directory.*conf|did not load config/i.test(
      stderr,
    )
  ) {
    return `${where}: monitors unreachable (${lastLine(stderr) || 'connection timed out'})`;
  }
  if (/\(2\) No such file or directory|error opening pool/i.test(stderr)) return `${where}: pool ${cfg.pool} does not exist`;
  return `${where}: ${lastLine(stderr) || 'unreachable'}`;
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .pop()
      ?.slice(0, 300) ?? ''
  );
}
