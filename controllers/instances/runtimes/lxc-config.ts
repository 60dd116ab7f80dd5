/**
 * Rendering an LXC container configuration from a ContainerSpec — a pure
 * function, so what we ask of LXC is unit-tested without LXC.
 */
import type { CgroupLayout } from '../../../lib/host/cgroup.js';
import type { ContainerSpec, Limits } from './types.js';
import { ValidationError } from '../../../lib/errors.js';
import { formatIp, parseSubnet, type Subnet } from '../../../lib/ipv4.js';

/** CPU_PERIOD_US is the CFS period used for cpu limits (100 ms). */
export const CPU_PERIOD_US = 100000;

/** CgroupSetting is one cgroup file and value, e.g. ['memory.max', '268435456']. */
export type CgroupSetting = [key: string, value: string];

/**
 * limitSettings turns limits into cgroup file settings for the layout: v2
 * memory.max and cpu.max, or v1 memory.limit_in_bytes and cpu.cfs_*; an
 * undefined limit becomes the "unlimited" value so updates can lift limits.
 * Controllers missing from the layout are left out.
 */
export function limitSettings(limits: Limits, layout: CgroupLayout): CgroupSetting[] {
  const out: CgroupSetting[] = [];
  const mem = limits.memoryBytes === undefined ? undefined : String(Math.floor(limits.memoryBytes));
  if (layout.memory === 2) out.push(['memory.max', mem ?? 'max']);
  if (layout.memory === 1) out.push(['memory.limit_in_bytes', mem ?? '-1']);
  const quota = limits.cpu === undefined ? undefined : Math.max(1000, Math.round(limits.cpu * CPU_PERIOD_US));
  if (layout.cpu === 2) out.push(['cpu.max', `${quota ?? 'max'} ${CPU_PERIOD_US}`]);
  if (layout.cpu === 1) {
    out.push(['cpu.cfs_period_us', String(CPU_PERIOD_US)]);
    out.push(['cpu.cfs_quota_us', String(quota ?? -1)]);
  }
  if (limits.processes !== undefined && layout.pids !== undefined) out.push(['pids.max', String(Math.floor(limits.processes))]);
  return out;
}

/** cgroupConfigKey is the LXC config key of a cgroup setting for the layout (`lxc.cgroup2.memory.max`). */
function cgroupConfigKey(key: string, layout: CgroupLayout): string {
  const controller = key.split('.')[0];
  const version =
    controller === 'memory' ? layout.memory : controller === 'cpu' ? layout.cpu : controller === 'pids' ? layout.pids : undefined;
  return `lxc.cgroup${version === 2 ? '2' : ''}.${key}`;
}

/** defaultHaltSignal is the signal that asks each distro's init for a clean shutdown. */
export function defaultHaltSignal(spec: ContainerSpec): string {
  if (spec.haltSignal) return spec.haltSignal;
  if (spec.distro === 'busybox') return 'SIGUSR1';
  if (spec.distro === 'debian') return 'SIGRTMIN+3';
  return 'SIGPWR';
}

function fstabEscape(path: string): string {
  return path.replace(/\\/g, '\\134').replace(/ /g, '\\040').replace(/\t/g, '\\011');
}

/** LxcConfigInput is what renderLxcConfig needs besides the spec. */
export interface LxcConfigInput {
  spec: ContainerSpec;
  /** containerDir is <lxcpath>/<name> */
  containerDir: string;
  layout: CgroupLayout;
  /** include is the distro common config to include, when present on the host */
  include?: string;
  /** apparmor: the host has AppArmor; containers get LXC's generated profile (else none, reported on the Member) */
  apparmor?: boolean;
}

/**
 * securityLines harden every container: LXC's default seccomp policy (no
 * module loading, kexec or open_by_handle_at), /proc and /sys mounted
 * read-only but for the container's own net sysfs (`mixed`, as LXD), its
 * own cgroup writable and nothing above it, the host's capabilities to set
 * the clock, load modules and do raw I/O dropped, the device allowlist of
 * LXC's common.conf kept (LXC's userns.conf, meant for containers started
 * by unprivileged users, is not included: Cloudlet starts them as root, so
 * the devices cgroup still applies), and an AppArmor profile when the host
 * has AppArmor. An unprivileged container also gets its id map and an
 * idmapped root filesystem. Kernel log reads (syslog(2)) are
 * refused by the user namespace for unprivileged containers and by the
 * host's kernel.dmesg_restrict for privileged ones (LXC drops
 * CAP_SYSLOG only with that sysctl).
 */
export function securityLines(input: Pick<LxcConfigInput, 'spec' | 'apparmor'>): string[] {
  const { spec } = input;
  const out: string[] = [];
  if (spec.idmap) {
    const { hostId, size } = spec.idmap;
    out.push(`lxc.idmap = u 0 ${hostId} ${size}`, `lxc.idmap = g 0 ${hostId} ${size}`, 'lxc.rootfs.options = idmap=container');
    // The mapped root cannot move bind mounts of ttys into /dev/lxc (LXC's userns.conf does the same).
    out.push('lxc.tty.dir =');
  }
  out.push(
    'lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp',
    // Whatever an include said: /proc/sys and /sys read-only. cgroup:mixed leaves a cgroup-namespaced
    // container's cgroups to its init (systemd mounts its own), never the host's hierarchy writable.
    'lxc.mount.auto =',
    'lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed',
    'lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio',
    input.apparmor ? 'lxc.apparmor.profile = generated' : 'lxc.apparmor.profile = unconfined',
  );
  if (input.apparmor) out.push('lxc.apparmor.allow_nesting = 0');
  return out;
}

/**
 * renderLxcConfig writes the full config file text: rootfs, hostname,
 * the security lines (id map, seccomp, read-only /proc and /sys, LSM),
 * console log and lxc log in the container dir, the halt signal, limits
 * for this host's cgroup layout, bind mounts (their targets must already be
 * resolved inside the rootfs and exist; idmapped for an unprivileged
 * container), and the NICs (a veth per plumbed NIC, or only a loopback
 * when there is none).
 */
export function renderLxcConfig(input: LxcConfigInput): string {
  const { spec, containerDir } = input;
  const lines: string[] = ['# Written by Cloudlet; changes here are overwritten.'];
  if (input.include) lines.push(`lxc.include = ${input.include}`);
  lines.push(
    `lxc.rootfs.path = dir:${spec.rootfsPath}`,
    `lxc.uts.name = ${spec.hostname}`,
    ...securityLines(input),
    `lxc.console.logfile = ${containerDir}/console.log`,
    `lxc.log.file = ${containerDir}/lxc.log`,
    'lxc.log.level = WARN',
    `lxc.signal.halt = ${defaultHaltSignal(spec)}`,
    'lxc.autodev = 1',
  );
  for (const [key, value] of limitSettings({ cpu: spec.cpu, memoryBytes: spec.memoryBytes, processes: spec.processes }, input.layout)) {
    lines.push(`${cgroupConfigKey(key, input.layout)} = ${value}`);
  }
  lines.push(...nicLines(spec));
  // Targets arrive resolved inside the rootfs and already made (runtimes/mount-targets.ts): no create=dir,
  // which would let LXC make directories along a symlink the instance planted. An idmapped bind mount shows a
  // volume's on-disk owners unchanged inside, whatever the container's map.
  const idmapped = spec.idmap ? ',idmap=container' : '';
  for (const m of input.spec.mounts) {
    const target = m.path.replace(/^\/+/, '');
    lines.push(`lxc.mount.entry = ${fstabEscape(m.source)} ${fstabEscape(target)} none bind${m.readOnly ? ',ro' : ''}${idmapped} 0 0`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * withBroadcast renders `A.B.C.D/P` as `A.B.C.D/P BROADCAST`. LXC 5 left to
 * itself configures the broadcast as 0.0.0.255 for a /24 (seen with
 * `ip addr` inside a container), so the broadcast is always spelled out.
 * Anything that is not an IPv4 CIDR is returned unchanged.
 */
export function withBroadcast(cidr: string): string {
  let subnet: Subnet;
  try {
    subnet = parseSubnet(cidr, 'address');
  } catch (err) {
    if (err instanceof ValidationError) return cidr;
    throw err;
  }
  return `${cidr} ${formatIp(subnet.broadcast)}`;
}

/**
 * nicLines renders `lxc.net.N.*` for every plumbed NIC: a veth named after
 * the NIC, up, with its MAC, MTU and static address; the first NIC with a
 * gateway gets the default route. A NIC with a host bridge gets `link`; a
 * NIC with hooks (an Open vSwitch port) gets no link, its fixed host name
 * (`veth.pair`), `script.up`/`script.down` and its `lxc.hook.start-host`
 * line. No plumbed NIC: loopback only.
 */
export function nicLines(spec: ContainerSpec): string[] {
  const nics = spec.nics.filter((n) => n.link || n.hooks);
  if (nics.length === 0) return ['lxc.net.0.type = empty'];
  const out: string[] = [];
  let routed = false;
  nics.forEach((n, i) => {
    out.push(`lxc.net.${i}.type = veth`);
    if (n.link) out.push(`lxc.net.${i}.link = ${n.link}`);
    if (n.hostInterface) out.push(`lxc.net.${i}.veth.pair = ${n.hostInterface}`);
    out.push(`lxc.net.${i}.name = ${n.name}`, `lxc.net.${i}.flags = up`);
    if (n.mac) out.push(`lxc.net.${i}.hwaddr = ${n.mac}`);
    if (n.mtu) out.push(`lxc.net.${i}.mtu = ${n.mtu}`);
    if (n.address) out.push(`lxc.net.${i}.ipv4.address = ${withBroadcast(n.address)}`);
    if (n.gateway && !routed) {
      out.push(`lxc.net.${i}.ipv4.gateway = ${n.gateway}`);
      routed = true;
    }
    if (n.hooks) out.push(`lxc.net.${i}.script.up = ${n.hooks.up}`, `lxc.net.${i}.script.down = ${n.hooks.down}`);
    if (n.hooks?.startHost) out.push(`lxc.hook.start-host = ${n.hooks.startHost}`);
  });
  return out;
}
