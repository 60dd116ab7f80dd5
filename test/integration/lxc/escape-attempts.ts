/**
 * The escape attempts of test/integration/lxc/escape.test.ts as a table:
 * each is a shell script run as root inside the container (exit 0 = the
 * attempt worked) plus, where the container's own word is not proof, a
 * check on the host. Every attempt is harmless if it works: it writes values
 * the host already has, reads a few bytes, or triggers sysrq 'h' (help).
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { readCgroupLimits } from '../../../lib/host/cgroup.js';

/** HostFacts are what the attempts aim at, read on the host before the run. */
export interface HostFacts {
  /** blockDevice is the host's root disk as major:minor */
  blockDevice: string;
  /** hostPid is a process of the test on the host, to see and signal */
  hostPid: number;
  /** secretPath is a file in the member's data dir */
  secretPath: string;
  secret: string;
  swappiness: string;
  hostname: string;
}

/** HostView is what a host check may look at after an attempt. */
export interface HostView {
  facts: HostFacts;
  /** initPid is the container's init on the host */
  initPid: number;
  containerName: string;
  memoryBytes: number | undefined;
}

/**
 * EscapeAttempt is one row: what is tried and how it is judged. The attempt
 * worked when its script exits 0 (unless `hostDecides`) or when `hostCheck`
 * finds the host changed (it returns what it saw, or undefined).
 */
export interface EscapeAttempt {
  name: string;
  script: (f: HostFacts) => string;
  hostDecides?: boolean;
  hostCheck?: (v: HostView) => Promise<string | undefined>;
}

/** ESCAPE_ATTEMPTS is the table; the order is the order of docs/security.md. */
export const ESCAPE_ATTEMPTS: EscapeAttempt[] = [
  { name: 'write /proc/sysrq-trigger', script: () => 'echo h > /proc/sysrq-trigger' },
  {
    name: 'mknod the host root disk and read it',
    script: (f) => `mknod /tmp/disk b ${f.blockDevice.replace(':', ' ')} && dd if=/tmp/disk of=/dev/null bs=512 count=1`,
  },
  // No module file is needed: the capability and seccomp checks come before the image is read.
  {
    name: 'load a kernel module',
    script: () => 'echo junk > /tmp/x.ko; insmod /tmp/x.ko 2>&1; insmod /tmp/x.ko 2>&1 | grep -qv "Operation not permitted"',
  },
  { name: 'see a host process', script: (f) => `test -d /proc/${f.hostPid} && grep -q cl-escape-marker /proc/${f.hostPid}/cmdline` },
  { name: 'signal a host process', script: (f) => `kill -0 ${f.hostPid}` },
  {
    name: 'move itself into a cgroup outside its own',
    // Inside its cgroup namespace the root of any hierarchy it mounts is its own cgroup: the host decides.
    script: () =>
      'mkdir -p /tmp/cg && (mount -t cgroup -o pids cg /tmp/cg || mount -t cgroup2 cg /tmp/cg) && echo 1 > /tmp/cg/cgroup.procs',
    hostDecides: true,
    hostCheck: async (v) => {
      const text = await readFile(`/proc/${v.initPid}/cgroup`, 'utf8');
      const outside = text.split('\n').filter((l) => /:(pids|memory|):/.test(l) && !l.includes(v.containerName));
      return outside.length > 0 ? `init is in ${outside.join(', ')}` : undefined;
    },
  },
  { name: "reach the member's data dir (admin token)", script: (f) => `cat ${f.secretPath} || cat /proc/1/root${f.secretPath}` },
  // busybox date reports a refused clock_settime on stderr and still exits 0.
  {
    name: "set the host's clock (to now)",
    script: () => 'out=$(date -s "@$(date +%s)" 2>&1); echo "$out"; case "$out" in *"can\'t set"*) exit 1;; esac',
  },
  {
    // Its own UTS namespace may change its own name: only the host's name counts.
    name: "change the host's hostname",
    script: () => 'hostname escaped-by-test',
    hostDecides: true,
    hostCheck: async (v) => (hostname() !== v.facts.hostname ? `host hostname is ${hostname()}` : undefined),
  },
  {
    name: 'raise its own memory limit',
    script: () =>
      'for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max; do [ -e $f ] && echo -1 > $f && exit 0; done; mkdir -p /tmp/m && mount -t cgroup -o memory m /tmp/m && echo -1 > /tmp/m/memory.limit_in_bytes',
    hostCheck: async (v) => {
      const now = (await readCgroupLimits(v.initPid)).memoryBytes;
      return now !== v.memoryBytes ? `memory limit is ${String(now)}` : undefined;
    },
  },
  {
    name: 'remount /proc/sys read-write and write a sysctl',
    script: (f) => `mount -o remount,rw /proc/sys && echo ${f.swappiness} > /proc/sys/vm/swappiness`,
  },
  { name: 'remount /sys read-write', script: () => 'mount -o remount,rw /sys' },
  { name: "read the host's kernel log", script: () => 'dmesg | head -n 3 | grep -q .' },
];
