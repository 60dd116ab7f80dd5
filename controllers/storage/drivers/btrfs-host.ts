/**
 * Host-side helpers of the btrfs driver: parsers for /proc/self/mountinfo,
 * `losetup --list` and `btrfs qgroup show` (pure, table-tested), and the
 * subvolume verbs through lib/host.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isCode } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { isDirectory } from '../../../lib/host/fs.js';

/** BTRFS_MAGIC is the statfs type of a btrfs filesystem. */
export const BTRFS_MAGIC = 0x9123683e;
/** SUBVOLUME_INODE is the inode number of every btrfs subvolume root directory. */
export const SUBVOLUME_INODE = 256;

/** MountEntry is one line of mountinfo: mount point, filesystem type and source. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** parseMountInfo parses /proc/self/mountinfo text into entries (octal escapes decoded). */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mp = left[4];
    if (mp === undefined) continue;
    out.push({ mountPoint: unescapeMount(mp), fsType: right[0] ?? '', source: unescapeMount(right[1] ?? '') });
  }
  return out;
}

/** mountAt returns the (topmost) mount at `path`, or undefined. */
export async function mountAt(path: string): Promise<MountEntry | undefined> {
  const want = resolve(path);
  const all = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  return all.filter((m) => m.mountPoint === want).pop();
}

/** parseLoopList parses `losetup --list --noheadings --output NAME,BACK-FILE` into [device, backing file] pairs. */
export function parseLoopList(text: string): Array<{ device: string; backingFile: string }> {
  const out: Array<{ device: string; backingFile: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*\S)\s*$/.exec(line);
    if (m?.[1] && m[2]) out.push({ device: m[1], backingFile: m[2].replace(/ \(deleted\)$/, '') });
  }
  return out;
}

/** loopDevicesOf lists the loop devices attached to `file`. */
export async function loopDevicesOf(runner: HostRunner, file: string): Promise<string[]> {
  const res = await runner.run(['losetup', '--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { timeoutMs: 30_000 });
  const want = resolve(file);
  return parseLoopList(res.stdout)
    .filter((l) => l.backingFile === want)
    .map((l) => l.device);
}

/** QgroupUsage is one subvolume's referenced bytes and limit (undefined: none). */
export interface QgroupUsage {
  referencedBytes: number;
  limitBytes?: number;
}

/** parseQgroupShow parses `btrfs qgroup show --raw -rf` text and returns the entry of qgroup `0/<subvolId>`. */
export function parseQgroupShow(text: string, subvolId: number): QgroupUsage | undefined {
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] !== `0/${subvolId}`) continue;
    const referenced = Number(cols[1]);
    const limit = cols[3];
    if (!Number.isFinite(referenced)) return undefined;
    return {
      referencedBytes: referenced,
      limitBytes: limit === undefined || limit === 'none' || !/^\d+$/.test(limit) ? undefined : Number(limit),
    };
  }
  return undefined;
}

/** subvolumeId returns the btrfs subvolume id of `path`. */
export async function subvolumeId(runner: HostRunner, path: string): Promise<number> {
  const res = await runner.run(['btrfs', 'inspect-internal', 'rootid', path], { timeoutMs: 30_000 });
  return Number(res.stdout.trim());
}

/**
 * qgroupUsage reads a subvolume's referenced bytes and limit. Usage counts
 * writes up to the last transaction commit; `sync: true` commits first
 * (exact, but it costs a commit — status reporting does without).
 */
export async function qgroupUsage(runner: HostRunner, path: string, opts: { sync?: boolean } = {}): Promise<QgroupUsage | undefined> {
  const id = await subvolumeId(runner, path);
  const res = await runner.run(['btrfs', 'qgroup', 'show', '--raw', ...(opts.sync ? ['--sync'] : []), '-rf', path], { timeoutMs: 60_000 });
  return parseQgroupShow(res.stdout, id);
}

/** isSubvolume tells whether `path` is the root of a btrfs subvolume. */
export async function isSubvolume(path: string): Promise<boolean> {
  try {
    const s = await lstat(path);
    return s.isDirectory() && s.ino === SUBVOLUME_INODE;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function nestedSubvolumes(dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if (await isSubvolume(p)) out.push(p);
    await nestedSubvolumes(p, out);
  }
}

/**
 * deleteSubvolume deletes the subvolume at `path` and any subvolumes nested
 * inside it (a container may make its own, e.g. systemd's /var/lib/machines);
 * absent is success. A read-only subvolume is made writable first when it
 * holds nested ones, because their directory entries live in it.
 */
export async function deleteSubvolume(runner: HostRunner, path: string): Promise<void> {
  if (!(await isSubvolume(path))) return;
  try {
    await runner.run(['btrfs', 'subvolume', 'delete', path], { timeoutMs: 120_000 });
    return;
  } catch (err) {
    if (!isCode(err, 'HostCommand')) throw err;
    const nested: string[] = [];
    if (await isDirectory(path)) await nestedSubvolumes(path, nested);
    if (nested.length === 0) throw err;
  }
  await runner.run(['btrfs', 'property', 'set', '-ts', path, 'ro', 'false'], { timeoutMs: 30_000 });
  const nested: string[] = [];
  await nestedSubvolumes(path, nested);
  // Deepest first: a parent's directory entry for a child must outlive the child.
  for (const p of nested.sort((a, b) => b.length - a.length)) await runner.run(['btrfs', 'subvolume', 'delete', p], { timeoutMs: 120_000 });
  await runner.run(['btrfs', 'subvolume', 'delete', path], { timeoutMs: 120_000 });
}

/** listSubvolumes names the subvolume directories directly inside `dir` (skipping dot-names: work in progress). */
export async function listSubvolumes(dir: string): Promise<string[]> {
  if (!(await isDirectory(dir))) return [];
  const names: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !e.name.startsWith('.') && (await isSubvolume(join(dir, e.name)))) names.push(e.name);
  }
  return names.sort();
}
