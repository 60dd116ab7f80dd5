/** Helpers for the storage integration tests: tool checks and host leftovers (mounts, loop devices). */
import { readFile } from 'node:fs/promises';
import { run } from '../../../lib/host/exec.js';
import { which } from '../../../lib/host/which.js';
import { parseLoopList, parseMountInfo } from '../../../controllers/storage/drivers/btrfs-host.js';

/** requireBtrfs fails (never skips) with an install hint when the btrfs tools are missing. */
export async function requireBtrfs(): Promise<void> {
  await which('btrfs', { package: 'btrfs-progs' });
  await which('mkfs.btrfs', { package: 'btrfs-progs' });
  await which('losetup', { package: 'mount' });
}

/** mountsUnder lists mount points inside `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** loopsUnder lists loop devices whose backing file is inside `dir`. */
export async function loopsUnder(dir: string): Promise<string[]> {
  const res = await run(['losetup', '--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  return parseLoopList(res.stdout).filter((l) => l.backingFile.startsWith(`${dir}/`)).map((l) => l.device);
}

/** forceCleanup unmounts and detaches whatever a failed test left inside `dir` (deepest mounts first). */
export async function forceCleanup(dir: string): Promise<void> {
  for (const m of (await mountsUnder(dir)).sort((a, b) => b.length - a.length)) await run(['umount', '-l', m]).catch(() => undefined);
  for (const d of await loopsUnder(dir)) await run(['losetup', '--detach', d]).catch(() => undefined);
}
