/**
 * The Runtime driver contract: what the instance host agent asks of a
 * container runtime. The agent passes plain specs in and gets plain
 * observations back; drivers never touch the store. Every verb is idempotent.
 */
import type { AttachedOptions } from '../../../lib/host/exec.js';

/** RuntimeInfo is a runtime's capability object; callers branch on these flags, never on `name`. */
export interface RuntimeInfo {
  name: string;
  /** liveResize: setLimits changes cpu and memory of a running container without a restart */
  liveResize: boolean;
  /** console: consoleLogPath points at a real file holding the container's console output */
  console: boolean;
  /** exec: exec runs commands inside a running container */
  exec: boolean;
  /** simulated: nothing real runs (benchmarks only) */
  simulated: boolean;
}

/**
 * NicSpec is a network interface to plumb: a veth named `name` inside the
 * container whose host end joins the bridge `link`, with a static address.
 * A NIC without `link` is not plumbed (runtimes that cannot plumb ignore it).
 */
export interface NicSpec {
  name: string;
  network: string;
  /** hostInterface fixes the host end's name (`lxc.net.N.veth.pair`), so hooks can name it */
  hostInterface?: string;
  mac?: string;
  /** address in CIDR form (10.42.0.2/24) */
  address?: string;
  /** link is the host bridge the veth joins */
  link?: string;
  /** gateway is the default route through this NIC (only the first NIC with one gets the route) */
  gateway?: string;
  mtu?: number;
  /** hooks are shell commands run on the host after the veth is made (`up`), before it goes (`down`) and once the container is set up, before its init (`startHost`, with LXC_PID); a NIC with hooks and no link is plumbed by them */
  hooks?: { up: string; down: string; startHost?: string };
}

/** MountSpec bind-mounts a host path into the container. */
export interface MountSpec {
  source: string;
  /** absolute path inside the container */
  path: string;
  readOnly?: boolean;
}

/** ContainerDistro chooses distro-specific defaults (include file, halt signal). */
export type ContainerDistro = 'busybox' | 'debian' | 'generic';

/** ContainerSpec is everything a runtime needs to define a container. */
export interface ContainerSpec {
  /** containerName is unique per kernel; make it with `containerNameFor` */
  containerName: string;
  hostname: string;
  /** rootfsPath is a directory prepared by a RootfsProvider; the runtime never deletes it */
  rootfsPath: string;
  /** cpu in cores (fractions allowed); undefined = unlimited */
  cpu?: number;
  /** memoryBytes is the memory limit; undefined = unlimited */
  memoryBytes?: number;
  nics: NicSpec[];
  mounts: MountSpec[];
  distro?: ContainerDistro;
  /** haltSignal asks init for a clean shutdown (busybox: SIGUSR1, systemd: SIGRTMIN+3) */
  haltSignal?: string;
  /** processes is the most processes and threads at once (pids.max); undefined = no limit */
  processes?: number;
  /**
   * idmap makes the container unprivileged: ids 0..size-1 inside are host
   * ids hostId.. (users and groups); the rootfs and bind mounts are mounted
   * idmapped, so files keep their on-disk owners. Absent = privileged.
   */
  idmap?: { hostId: number; size: number };
}

/** EnsureResult says what ensureCreated had to do. */
export interface EnsureResult {
  created: boolean;
  /** configChanged: an existing definition was rewritten; a running container picks it up at its next start */
  configChanged: boolean;
}

/** ContainerState is the runtime state of a container. */
export type ContainerState = 'RUNNING' | 'STOPPED' | 'STARTING' | 'STOPPING' | 'FROZEN' | 'ABORTING' | 'UNKNOWN';

/** Observation is what a runtime sees of one container. */
export interface Observation {
  exists: boolean;
  state: ContainerState;
  /** pid of the container's init on the host, when running */
  pid?: number;
  /** initStartedAt: when that init started (ISO); a change means the container restarted */
  initStartedAt?: string;
  addresses?: string[];
}

/** Limits are cpu (cores) and memory (bytes) limits, undefined meaning unlimited; `processes` (pids.max), undefined meaning unchanged. */
export interface Limits {
  cpu?: number;
  memoryBytes?: number;
  processes?: number;
}

/** ExecStdio connects exec to streams (defaults to this process's stdio), with its environment and timeout: spawnAttached's options but the working directory. */
export type ExecStdio = Omit<AttachedOptions, 'cwd'>;

/** StopOptions: a clean shutdown for `timeoutSeconds`, then a forced kill. */
export interface StopOptions {
  timeoutSeconds?: number;
  /** force skips the clean shutdown */
  force?: boolean;
}

/**
 * Runtime is a container runtime driver. All verbs are idempotent:
 * ensureCreated on an existing container updates its definition; start on a
 * running one and stop on a stopped one succeed; delete of an absent one
 * succeeds. Unsupported verbs throw NotSupportedError (see `info`).
 */
export interface Runtime {
  readonly info: RuntimeInfo;
  ensureCreated(spec: ContainerSpec): Promise<EnsureResult>;
  /** start boots the container and resolves with what it then observes of it (RUNNING, init pid and start time) */
  start(name: string): Promise<Observation>;
  stop(name: string, opts?: StopOptions): Promise<void>;
  /** delete stops and removes the container definition and its logs (not the rootfs) */
  delete(name: string): Promise<void>;
  observe(name: string): Promise<Observation>;
  /** list names every container this runtime owns (its name prefix), for adoption and orphan cleanup */
  list(): Promise<string[]>;
  /** setLimits changes limits now (running) and in the definition (next start) */
  setLimits(name: string, limits: Limits): Promise<void>;
  /** exec runs argv inside the running container and resolves with its exit code */
  exec(name: string, argv: string[], stdio?: ExecStdio): Promise<number>;
  /** consoleLogPath is the file holding the container's console output */
  consoleLogPath(name: string): string;
}
