/**
 * Network namespaces for networking integration tests: "members" and
 * "instance endpoints" on one kernel, a HostRunner that runs commands inside
 * a namespace, and cleanup of everything made.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { run, spawnAttached, type HostRunner } from '../../../lib/host/exec.js';
import { which } from '../../../lib/host/which.js';
import type { NetworkPlan } from '../../../controllers/networking/drivers/types.js';

/**
 * MEMBER_SHELL enters a private mount namespace in which /sys shows the
 * current network namespace (LXC reads /sys/class/net) while the host's
 * cgroup tree stays at /sys/fs/cgroup (LXC needs it): `ip netns exec` alone
 * remounts /sys and loses the cgroups. $0 is a scratch mount point.
 */
const MEMBER_SHELL = 'mount --rbind /sys/fs/cgroup "$0" && mount -t sysfs sysfs /sys && mount --rbind "$0" /sys/fs/cgroup && exec "$@"';

/** SCRATCH is an empty directory of our own used only as a mount point inside private mount namespaces. */
export const SCRATCH = '/var/tmp/cloudlet-netns-scratch';

/** nsRunner runs every command inside the named network namespace as a member daemon would see it. */
export function nsRunner(ns: string, scratch = SCRATCH): HostRunner {
  const enter = [
    'nsenter',
    `--net=/run/netns/${ns}`,
    '--',
    'unshare',
    '-m',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    MEMBER_SHELL,
    scratch,
  ];
  return {
    run: (argv, opts) => run([...enter, ...argv], opts),
    spawnAttached: (argv, opts) => spawnAttached([...enter, ...argv], opts),
  };
}

/** NetnsLab makes namespaces and veth links and removes them all in `cleanup`. */
export class NetnsLab {
  readonly tag = randomBytes(2).toString('hex');
  private readonly made: string[] = [];

  /** requireTools fails with an install hint when ip, nft, bridge or dnsmasq is missing. */
  static async requireTools(): Promise<void> {
    await which('ip');
    await which('nft');
    await which('bridge', { package: 'iproute2' });
    await which('dnsmasq', { package: 'dnsmasq-base' });
    await which('busybox');
    await which('nsenter', { package: 'util-linux' });
    await mkdir(SCRATCH, { recursive: true });
  }

  /** ns creates a namespace named `cn<tag><suffix>` with loopback up and returns its name. */
  async ns(suffix: string): Promise<string> {
    const name = `cn${this.tag}${suffix}`;
    await run(['ip', 'netns', 'add', name]);
    this.made.push(name);
    await run(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** link joins two namespaces with a veth pair and addresses each end (CIDR). */
  async link(a: { ns: string; dev: string; cidr?: string }, b: { ns: string; dev: string; cidr?: string }): Promise<void> {
    await run(['ip', 'link', 'add', a.dev, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns]);
    for (const end of [a, b]) {
      if (end.cidr) await run(['ip', '-n', end.ns, 'addr', 'add', end.cidr, 'dev', end.dev]);
      await run(['ip', '-n', end.ns, 'link', 'set', end.dev, 'up']);
    }
  }

  /** endpoint makes an "instance": a namespace with eth0 (address, gateway, MTU) whose peer joins `bridge` in `member`. */
  async endpoint(opts: { member: string; bridge: string; suffix: string; cidr: string; gateway: string; mtu: number }): Promise<string> {
    const ep = await this.ns(opts.suffix);
    const hostDev = `ve${this.tag}${opts.suffix}`;
    await this.link({ ns: opts.member, dev: hostDev }, { ns: ep, dev: 'eth0', cidr: opts.cidr });
    await run(['ip', '-n', opts.member, 'link', 'set', hostDev, 'master', opts.bridge, 'mtu', String(opts.mtu)]);
    await run(['ip', '-n', ep, 'link', 'set', 'eth0', 'mtu', String(opts.mtu)]);
    await run(['ip', '-n', ep, 'route', 'add', 'default', 'via', opts.gateway]);
    return ep;
  }

  /** endpointOn makes an endpoint on `plan`'s bridge in `member`, with the plan's instance MTU. */
  endpointOn(member: string, plan: NetworkPlan, opts: { suffix: string; cidr: string; gateway: string }): Promise<string> {
    return this.endpoint({ member, bridge: plan.names.bridge, mtu: plan.mtu, ...opts });
  }

  /** ping sends `count` pings from a namespace and says whether any answer came back. */
  async ping(ns: string, target: string, count = 2): Promise<boolean> {
    const r = await run(['ip', 'netns', 'exec', ns, 'busybox', 'ping', '-c', String(count), '-W', '1', target], { okExitCodes: [0, 1, 2] });
    return r.exitCode === 0;
  }

  /** resolve asks the DNS server at `server` for `name` from inside a namespace; undefined when it fails. */
  async resolve(ns: string, name: string, server: string): Promise<string | undefined> {
    const r = await run(['ip', 'netns', 'exec', ns, 'busybox', 'nslookup', name, server], { okExitCodes: [0, 1] });
    if (r.exitCode !== 0) return undefined;
    const after = r.stdout.split(/Name:\s+\S+/)[1] ?? '';
    return /Address(?: \d+)?:\s+([\d.]+)/.exec(after)?.[1];
  }

  /** cleanup deletes every namespace made (their veths go with them). */
  async cleanup(): Promise<void> {
    for (const ns of this.made.reverse()) await run(['ip', 'netns', 'del', ns], { okExitCodes: [0, 1] });
    this.made.length = 0;
  }
}
