/**
 * The built-in busybox image: a minimal root filesystem made from the host's
 * static busybox, with no network access. Its init is busybox init with a
 * tiny inittab; `halt` inside stops the container (busybox halt signals init
 * with SIGUSR1, which is also the runtime's halt signal for this distro).
 */
import { chmod, copyFile, readFile, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ValidationError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, pathExists, writeFileAtomic } from '../../../lib/host/fs.js';
import { which } from '../../../lib/host/which.js';

/** DEFAULT_BUSYBOX is where Debian's busybox-static puts the static binary. */
export const DEFAULT_BUSYBOX = '/bin/busybox';

const INITTAB = `# Cloudlet busybox image
::sysinit:/etc/init.d/rcS
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
`;
const RCS = `#!/bin/sh
mkdir -p /run /tmp /var/log
echo "cloudlet busybox: $(hostname) is up"
`;
const FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  'etc/hosts': '127.0.0.1 localhost\n::1 localhost\n',
  'etc/os-release': 'NAME=busybox\nID=busybox\nPRETTY_NAME="Cloudlet busybox"\n',
  'etc/inittab': INITTAB,
  'etc/hostname': 'busybox\n',
};

/**
 * needsInterpreter tells whether a 64-bit little-endian ELF image asks for a
 * program interpreter (PT_INTERP), i.e. is dynamically linked.
 */
export function needsInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > elf.length) break;
    if (elf.readUInt32LE(at) === 3) return true;
  }
  return false;
}

/**
 * buildBusyboxRootfs fills `target` (created if missing) with a busybox
 * system: the binary in /bin, a symlink per applet, /etc basics, an inittab
 * and /etc/init.d/rcS. It refuses a dynamically linked busybox, which would
 * not run inside the container.
 */
export async function buildBusyboxRootfs(target: string, opts: { runner: HostRunner; busyboxPath?: string }): Promise<void> {
  const busybox = await which(opts.busyboxPath ?? DEFAULT_BUSYBOX, { package: 'busybox-static' });
  if (needsInterpreter(await readFile(busybox))) {
    throw new ValidationError(`${busybox} is not statically linked; install it with: apt-get install busybox-static`);
  }
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/init.d', 'proc', 'sys', 'dev', 'root', 'run', 'var/log', 'tmp']) {
    await ensureDir(join(target, d));
  }
  await chmod(join(target, 'tmp'), 0o1777);
  await chmod(join(target, 'root'), 0o700);
  await copyFile(busybox, join(target, 'bin/busybox'));
  await chmod(join(target, 'bin/busybox'), 0o755);
  const { stdout } = await opts.runner.run([busybox, '--list-full'], { timeoutMs: 10_000 });
  for (const applet of stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'bin/busybox')) {
    const link = join(target, applet);
    if (await pathExists(link)) continue;
    await ensureDir(dirname(link));
    await symlink('/bin/busybox', link);
  }
  for (const [path, text] of Object.entries(FILES)) await writeFileAtomic(join(target, path), text);
  await writeFileAtomic(join(target, 'etc/init.d/rcS'), RCS, { mode: 0o755 });
}
