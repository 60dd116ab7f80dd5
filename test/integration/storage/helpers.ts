/** Helpers for the storage integration tests: tool checks and host leftovers (mounts, loop devices, rbd-fuse processes). */
import { readdir, readFile } from 'node:fs/promises';
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
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** loopsUnder lists loop devices whose backing file is inside `dir`. */
export async function loopsUnder(dir: string): Promise<string[]> {
  const res = await run(['losetup', '--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  return parseLoopList(res.stdout)
    .filter((l) => l.backingFile.startsWith(`${dir}/`))
    .map((l) => l.device);
}

/** rbdFusePidsUnder lists rbd-fuse processes whose mount point is inside `dir` (exact argv from /proc/<pid>/cmdline). */
export async function rbdFusePidsUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0] === 'rbd-fuse' && argv[1]?.startsWith(`${dir}/`)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * forceCleanup unmounts and detaches whatever a failed test left inside
 * `dir` (deepest mounts first). FUSE mounts are aborted first (`umount -f`),
 * so an rbd-fuse whose client was blocklisted cannot hang the rest; rbd-fuse
 * processes still running for `dir` are killed by PID.
 */
export async function forceCleanup(dir: string): Promise<void> {
  const mounts = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountPoint.startsWith(`${dir}/`));
  for (const m of mounts.filter((x) => x.fsType.startsWith('fuse')))
    await run(['umount', '-f', m.mountPoint], { okExitCodes: [0, 32] }).catch(() => undefined);
  for (const m of (await mountsUnder(dir)).sort((a, b) => b.length - a.length)) await run(['umount', '-l', m]).catch(() => undefined);
  for (const d of await loopsUnder(dir)) await run(['losetup', '--detach', d]).catch(() => undefined);
  for (const pid of await rbdFusePidsUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
