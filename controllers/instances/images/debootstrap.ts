/**
 * Debian images built with debootstrap from the configured mirror: a minbase
 * system plus systemd-sysv (so the instance boots its own init) and iproute2.
 */
import { join } from 'node:path';
import { HostCommandError, UnavailableError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { removeTree } from '../../../lib/host/fs.js';
import { which } from '../../../lib/host/which.js';
import type { ImageProgress, ImageProgressPhase } from './types.js';

/** DEFAULT_DEBIAN_MIRROR is used when no mirror is configured. */
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/** DEBIAN_PACKAGES_EXTRA are installed on top of minbase. */
export const DEBIAN_PACKAGES_EXTRA = ['systemd-sysv', 'iproute2'];

/** parseDebootstrapLine turns one debootstrap output line into a progress phase, or undefined for noise. */
export function parseDebootstrapLine(line: string): { phase: ImageProgressPhase; message: string } | undefined {
  const m = /^([IWE]): (.*)$/.exec(line.trim());
  if (!m) return undefined;
  const [, level, text = ''] = m;
  if (level === 'E') return { phase: 'failed', message: text };
  if (level === 'W') return { phase: 'warning', message: text };
  if (/^(Retrieving|Validating|Checking Release|Valid Release|Resolving|Checking component|Found)/.test(text))
    return { phase: 'downloading', message: text };
  if (/^Extracting/.test(text)) return { phase: 'extracting', message: text };
  if (/^(Installing|Unpacking)/.test(text)) return { phase: 'installing', message: text };
  if (/^Configuring/.test(text)) return { phase: 'configuring', message: text };
  if (/^Base system installed successfully/.test(text)) return { phase: 'finishing', message: text };
  return { phase: 'downloading', message: text };
}

/**
 * buildDebianRootfs runs `debootstrap --variant=minbase` for `suite` into
 * `target`, reporting progress as it goes, then prepares the tree for a
 * container (no host hostname, no leftover packages). An unreachable mirror
 * throws UnavailableError naming the mirror; an aborted `signal` its reason;
 * other failures HostCommandError.
 */
export async function buildDebianRootfs(
  target: string,
  opts: {
    suite: string;
    mirror?: string;
    runner: HostRunner;
    image: string;
    onProgress?: (p: ImageProgress) => void;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<void> {
  const debootstrap = await which('debootstrap');
  const mirror = opts.mirror ?? DEFAULT_DEBIAN_MIRROR;
  let retrieved = 0;
  const onLine = (line: string): void => {
    const p = parseDebootstrapLine(line);
    if (!p || !opts.onProgress) return;
    if (p.phase === 'downloading' && p.message.startsWith('Retrieving ')) retrieved++;
    opts.onProgress({ image: opts.image, phase: p.phase, message: p.message, packages: retrieved });
  };
  const argv = [
    debootstrap,
    '--variant=minbase',
    `--include=${DEBIAN_PACKAGES_EXTRA.join(',')}`,
    '--components=main',
    opts.suite,
    target,
    mirror,
  ];
  try {
    // dieWithParent: debootstrap and every dpkg it starts go with the daemon; `signal` cancels the build.
    await opts.runner.run(argv, {
      timeoutMs: opts.timeoutMs ?? 30 * 60_000,
      onStdoutLine: onLine,
      onStderrLine: onLine,
      maxBuffer: 64 * 1024 * 1024,
      dieWithParent: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (
      err instanceof HostCommandError &&
      /(Failed getting release file|Temporary failure resolving|Could not resolve|Connection refused|unable to connect|Network is unreachable)/i.test(
        err.stderrTail,
      )
    ) {
      throw new UnavailableError(`the Debian mirror ${mirror} is unreachable for ${opts.suite}: ${err.stderrTail}`, { cause: err });
    }
    throw err;
  }
  // The runtime writes each instance's hostname; debootstrap copied the host's.
  await removeTree(join(target, 'etc', 'hostname'), { root: target });
  await removeTree(join(target, 'debootstrap'), { root: target });
}
