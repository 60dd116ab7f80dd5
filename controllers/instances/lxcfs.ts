/**
 * lxcfs makes /proc/meminfo, /proc/cpuinfo, /proc/stat and friends inside a
 * container show the container's own cgroup limits, so `free` and `nproc`
 * tell the truth to a system container's users (as on LXD). LXC's common
 * config hooks it in for every container started while /var/lib/lxcfs is an
 * lxcfs mount. The daemon starts it when it is installed and not running.
 *
 * It is deliberately not stopped with the daemon: running containers keep
 * reading their /proc through it after the daemon exits, and it is shared by
 * every container on the host.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log/logger.js';
import { run, startDetached } from '../../lib/host/exec.js';
import { ensureDir } from '../../lib/host/fs.js';
import { which } from '../../lib/host/which.js';
import { errorMessage } from '../../lib/errors.js';

/** LXCFS_MOUNT is where LXC's lxcfs hook expects the filesystem. */
export const LXCFS_MOUNT = '/var/lib/lxcfs';

/** isLxcfsMounted tells whether `mountinfo` (the text of /proc/self/mountinfo) has an lxcfs mount at `path`. */
export function isLxcfsMounted(mountinfo: string, path = LXCFS_MOUNT): boolean {
  return mountinfo.split('\n').some((line) => {
    const [pre, post] = line.split(' - ');
    return pre?.split(' ')[4] === path && (post?.split(' ')[0] ?? '').includes('lxcfs');
  });
}

/** answers tells whether the lxcfs mount is served (a dead FUSE server fails every access). */
async function answers(): Promise<boolean> {
  try {
    await stat(join(LXCFS_MOUNT, 'proc', 'meminfo'));
    return true;
  } catch {
    return false;
  }
}

/** ensureLxcfs starts lxcfs at LXCFS_MOUNT unless it is mounted already or not installed; never throws. */
export async function ensureLxcfs(opts: { dataDir: string; logger: Logger }): Promise<'running' | 'started' | 'unavailable'> {
  try {
    if (isLxcfsMounted(await readFile('/proc/self/mountinfo', 'utf8'))) {
      if (await answers()) return 'running';
      // The FUSE server behind the mount died ("Transport endpoint is not connected"): drop the dead mount.
      await run(['umount', '-l', LXCFS_MOUNT], { timeoutMs: 10_000 });
    }
    try {
      await which('lxcfs');
    } catch {
      opts.logger.info('lxcfs is not installed: instances will see the host totals in /proc (apt-get install lxcfs)');
      return 'unavailable';
    }
    await ensureDir(LXCFS_MOUNT);
    const pid = await startDetached(['lxcfs', '--foreground', '--enable-cfs', '--pidfile', join(opts.dataDir, 'lxcfs.pid'), LXCFS_MOUNT], {
      logFile: join(opts.dataDir, 'lxcfs.log'),
    });
    for (let i = 0; i < 50; i++) {
      if (isLxcfsMounted(await readFile('/proc/self/mountinfo', 'utf8')) && (await answers())) {
        opts.logger.info('started lxcfs so instances see their own limits in /proc', { mount: LXCFS_MOUNT, pid });
        return 'started';
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    opts.logger.warn('lxcfs did not mount within 5 s: instances will see the host totals in /proc', {
      pid,
      log: join(opts.dataDir, 'lxcfs.log'),
    });
    return 'unavailable';
  } catch (err) {
    opts.logger.warn('could not start lxcfs: instances will see the host totals in /proc', { error: errorMessage(err) });
    return 'unavailable';
  }
}
