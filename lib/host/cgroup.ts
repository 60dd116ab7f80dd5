/**
 * Reading the host's cgroup layout and a process's cgroup limits. Hosts are
 * cgroup v2 (unified), v1 (legacy) or hybrid (v1 controllers plus a v2
 * mount without them); which file holds the memory limit depends on where the
 * memory controller is mounted. Parsers are pure; the readers read /proc.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../errors.js';
import { readFileIfExists } from './fs.js';

/** CgroupMount is one cgroup or cgroup2 mount from /proc/self/mountinfo. */
export interface CgroupMount {
  mountPoint: string;
  version: 1 | 2;
  /** controllers for v1 mounts (from super options), e.g. ['memory'] or ['cpu','cpuacct']; empty for v2 */
  controllers: string[];
}

/** parseCgroupMounts picks the cgroup mounts out of /proc/self/mountinfo text. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const mountPoint = left.split(' ')[4];
    const [fsType, , superOpts] = right.split(' ');
    if (mountPoint === undefined) continue;
    if (fsType === 'cgroup2') mounts.push({ mountPoint, version: 2, controllers: [] });
    if (fsType === 'cgroup') {
      const known = [
        'cpu',
        'cpuacct',
        'cpuset',
        'memory',
        'devices',
        'freezer',
        'blkio',
        'pids',
        'net_cls',
        'net_prio',
        'hugetlb',
        'perf_event',
        'rdma',
        'misc',
      ];
      const controllers = (superOpts ?? '').split(',').filter((o) => known.includes(o));
      mounts.push({ mountPoint, version: 1, controllers });
    }
  }
  return mounts;
}

/** ProcCgroup is one line of /proc/<pid>/cgroup. */
export interface ProcCgroup {
  hierarchy: number;
  controllers: string[];
  path: string;
}

/** parseProcCgroup parses /proc/<pid>/cgroup text ("0::/path" is the v2 line). */
export function parseProcCgroup(text: string): ProcCgroup[] {
  const out: ProcCgroup[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({ hierarchy: Number(m[1]), controllers: (m[2] ?? '').split(',').filter((c) => c !== ''), path: m[3] ?? '/' });
  }
  return out;
}

/** ControllerLocation says where a controller lives: its version and the host directory of the process's cgroup. */
export interface ControllerLocation {
  version: 1 | 2;
  dir: string;
}

/**
 * locateController finds the host directory holding `controller`'s files for
 * a process: a v1 mount carrying the controller wins; otherwise the v2 mount
 * if its cgroup.controllers (passed as `v2Controllers`) lists it.
 */
export function locateController(opts: {
  controller: string;
  mounts: CgroupMount[];
  procCgroup: ProcCgroup[];
  v2Controllers: string[];
}): ControllerLocation | undefined {
  const v1 = opts.mounts.find((m) => m.version === 1 && m.controllers.includes(opts.controller));
  if (v1) {
    const entry = opts.procCgroup.find((e) => e.controllers.includes(opts.controller));
    if (entry) return { version: 1, dir: join(v1.mountPoint, entry.path) };
  }
  const v2 = opts.mounts.find((m) => m.version === 2);
  const entry = opts.procCgroup.find((e) => e.hierarchy === 0);
  if (v2 && entry && opts.v2Controllers.includes(opts.controller)) return { version: 2, dir: join(v2.mountPoint, entry.path) };
  return undefined;
}

/** CgroupLayout says which cgroup version holds the memory and cpu controllers on this host. */
export interface CgroupLayout {
  memory: 1 | 2 | undefined;
  cpu: 1 | 2 | undefined;
  /** pids holds the process-count limit (pids.max); absent = unknown, left out */
  pids?: 1 | 2 | undefined;
}

async function hostState(pid: number | 'self'): Promise<{ mounts: CgroupMount[]; procCgroup: ProcCgroup[]; v2Controllers: string[] }> {
  const mounts = parseCgroupMounts(await readFile('/proc/self/mountinfo', 'utf8'));
  const procText = await readFileIfExists(`/proc/${pid}/cgroup`);
  if (procText === undefined) throw new NotFoundError(`process ${pid} does not exist`);
  const v2 = mounts.find((m) => m.version === 2);
  const v2Controllers = v2 ? ((await readFileIfExists(join(v2.mountPoint, 'cgroup.controllers'))) ?? '').trim().split(/\s+/) : [];
  return { mounts, procCgroup: parseProcCgroup(procText), v2Controllers };
}

/** detectCgroupLayout reads this host's layout (from the root cgroup's view). */
export async function detectCgroupLayout(): Promise<CgroupLayout> {
  const s = await hostState('self');
  return {
    memory: locateController({ controller: 'memory', ...s })?.version,
    cpu: locateController({ controller: 'cpu', ...s })?.version,
    pids: locateController({ controller: 'pids', ...s })?.version,
  };
}

/** CgroupLimits are the memory and cpu limits read from a process's cgroup (undefined = unlimited or unknown). */
export interface CgroupLimits {
  memoryBytes: number | undefined;
  /** cpu in cores (quota / period) */
  cpu: number | undefined;
  memoryDir: string | undefined;
  cpuDir: string | undefined;
}

/** parseMemoryLimit turns memory.max ("max") or memory.limit_in_bytes (huge number) into bytes or undefined. */
export function parseMemoryLimit(text: string): number | undefined {
  const t = text.trim();
  if (t === 'max' || t === '') return undefined;
  const n = Number(t);
  // v1 reports "unlimited" as a page-rounded 2^63-1.
  return Number.isFinite(n) && n < 2 ** 62 ? n : undefined;
}

/** parseCpuMax turns cpu.max ("50000 100000" or "max 100000") into cores or undefined. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  return Number(quota) / Number(period);
}

/** readCgroupLimits reads the memory and cpu limits of process `pid`'s cgroup from the host's cgroup files. */
export async function readCgroupLimits(pid: number): Promise<CgroupLimits> {
  const s = await hostState(pid);
  const mem = locateController({ controller: 'memory', ...s });
  const cpu = locateController({ controller: 'cpu', ...s });
  let memoryBytes: number | undefined;
  let cores: number | undefined;
  if (mem) {
    const file = mem.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
    memoryBytes = parseMemoryLimit((await readFileIfExists(join(mem.dir, file))) ?? '');
  }
  if (cpu?.version === 2) cores = parseCpuMax((await readFileIfExists(join(cpu.dir, 'cpu.max'))) ?? '');
  if (cpu?.version === 1) {
    const quota = Number(((await readFileIfExists(join(cpu.dir, 'cpu.cfs_quota_us'))) ?? '-1').trim());
    const period = Number(((await readFileIfExists(join(cpu.dir, 'cpu.cfs_period_us'))) ?? '100000').trim());
    cores = quota > 0 ? quota / period : undefined;
  }
  return { memoryBytes, cpu: cores, memoryDir: mem?.dir, cpuDir: cpu?.dir };
}
