/**
 * Finding host programs, with an error that says which Debian package to
 * install when one is missing.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { NotFoundError } from '../errors.js';

/** DEBIAN_PACKAGES names the Debian package that provides each host program Cloudlet uses. */
export const DEBIAN_PACKAGES: Record<string, string> = {
  'lxc-start': 'lxc',
  'lxc-stop': 'lxc',
  'lxc-info': 'lxc',
  'lxc-attach': 'lxc',
  'lxc-cgroup': 'lxc',
  'lxc-wait': 'lxc',
  'lxc-checkconfig': 'lxc',
  debootstrap: 'debootstrap',
  busybox: 'busybox-static',
  tar: 'tar',
  cp: 'coreutils',
  btrfs: 'btrfs-progs',
  ip: 'iproute2',
  nft: 'nftables',
  etcd: 'etcd-server',
  dnsmasq: 'dnsmasq-base',
  bridge: 'iproute2',
  iperf3: 'iperf3',
};

/** WhichOptions: `path` overrides $PATH; `package` overrides the Debian package named in the error. */
export interface WhichOptions {
  path?: string;
  package?: string;
}

/**
 * which returns the absolute path of the executable `cmd` found on PATH (or
 * `cmd` itself when it is an absolute executable path). When it is missing it
 * throws NotFoundError saying `apt-get install <package>`.
 */
export async function which(cmd: string, opts: WhichOptions = {}): Promise<string> {
  const candidates = cmd.includes('/')
    ? [cmd]
    : (opts.path ?? process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // Not here; try the next directory.
    }
  }
  const pkg = opts.package ?? DEBIAN_PACKAGES[cmd.split('/').pop() ?? cmd];
  const hint = pkg ? `install it with: apt-get install ${pkg}` : 'install the package that provides it';
  throw new NotFoundError(`host program "${cmd}" was not found; ${hint}`);
}
