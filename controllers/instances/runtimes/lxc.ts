/**
 * LxcRuntime drives real LXC system containers through the lxc-* tools, all
 * under the daemon's own LXC path (`<dataDir>/lxc`) and with container names
 * unique per kernel (see naming.ts). Unprivileged containers (an id map
 * and idmapped mounts) unless the spec has no map, hardening from
 * lxc-config.ts, cpu, memory and process limits through the host's cgroup
 * layout (v1 or v2, detected once), console output kept in
 * `<lxcpath>/<name>/console.log`.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HostCommandError, NotFoundError, UnavailableError, ValidationError } from '../../../lib/errors.js';
import { detectCgroupLayout, type CgroupLayout } from '../../../lib/host/cgroup.js';
import { hostRunner, type HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, isDirectory, pathExists, readFileIfExists, removeTree, writeFileAtomic } from '../../../lib/host/fs.js';
import { resolveInRoot } from '../../../lib/host/in-root.js';
import { processStartTime } from '../../../lib/host/proc.js';
import { grantTraversal, hostHasAppArmor } from '../../../lib/host/security.js';
import { withRevert } from '../../../lib/host/revert.js';
import { BaseRuntime } from './base.js';
import { limitSettings, renderLxcConfig } from './lxc-config.js';
import { checkMountPaths, resolveMountTargets } from './mount-targets.js';
import { containerNamePrefix } from './naming.js';
import type { ContainerSpec, ContainerState, EnsureResult, ExecStdio, Limits, Observation, RuntimeInfo, StopOptions } from './types.js';

/** LxcRuntimeOptions configure an LxcRuntime. */
export interface LxcRuntimeOptions {
  /** dataDir is the daemon's data directory; containers live in `<dataDir>/lxc` */
  dataDir: string;
  runner?: HostRunner;
  /** lxcConfigDir holds the distro include files (default /usr/share/lxc/config) */
  lxcConfigDir?: string;
  /** cgroupLayout overrides detection (tests) */
  cgroupLayout?: CgroupLayout;
  /** defaultStopTimeoutSeconds is how long a clean stop may take before the kill (default 30) */
  defaultStopTimeoutSeconds?: number;
  /** apparmor overrides detection of AppArmor on the host (tests) */
  apparmor?: boolean;
}

const SPEC_FILE = 'cloudlet-spec.json';
const PATH_VALUE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const STATES: readonly ContainerState[] = ['RUNNING', 'STOPPED', 'STARTING', 'STOPPING', 'FROZEN', 'ABORTING'];

/** parseLxcInfo reads `lxc-info -s -p -i` output into state, pid and addresses. */
export function parseLxcInfo(text: string): { state: ContainerState; pid?: number; addresses: string[] } {
  let state: ContainerState = 'UNKNOWN';
  let pid: number | undefined;
  const addresses: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z ]+):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const value = (m[2] ?? '').trim();
    if (m[1] === 'State') state = (STATES as readonly string[]).includes(value) ? (value as ContainerState) : 'UNKNOWN';
    if (m[1] === 'PID') pid = Number(value);
    if (m[1] === 'IP') addresses.push(value);
  }
  return pid === undefined || !Number.isFinite(pid) ? { state, addresses } : { state, pid, addresses };
}

/**
 * needsWait tells whether start must still wait (lxc-wait) for a container
 * seen in `state` right after `lxc-start -d` returned: only RUNNING is there.
 */
export function needsWait(state: ContainerState): boolean {
  return state !== 'RUNNING';
}

/** LxcRuntime is the real container runtime (see the file comment). */
export class LxcRuntime extends BaseRuntime {
  readonly info: RuntimeInfo = { name: 'lxc', liveResize: true, console: true, exec: true, simulated: false };
  /** lxcPath is `<dataDir>/lxc`, passed to every lxc-* tool as -P */
  readonly lxcPath: string;
  /** prefix starts every container name this runtime owns */
  readonly prefix: string;
  private readonly runner: HostRunner;
  private readonly dataDir: string;
  /** granted: `<uid>:<dir>` search permissions this runtime already gave (grantTraversal) */
  private readonly granted = new Set<string>();
  private readonly lxcConfigDir: string;
  private layout: CgroupLayout | undefined;
  private readonly stopTimeout: number;

  constructor(opts: LxcRuntimeOptions) {
    super();
    this.lxcPath = join(opts.dataDir, 'lxc');
    this.dataDir = opts.dataDir;
    this.prefix = containerNamePrefix(opts.dataDir);
    this.runner = opts.runner ?? hostRunner;
    this.lxcConfigDir = opts.lxcConfigDir ?? '/usr/share/lxc/config';
    this.layout = opts.cgroupLayout;
    this.stopTimeout = opts.defaultStopTimeoutSeconds ?? 30;
    this.apparmor = opts.apparmor;
  }

  private apparmor: boolean | undefined;

  /** hasAppArmor tells whether the host kernel has AppArmor enabled (read once). */
  async hasAppArmor(): Promise<boolean> {
    this.apparmor ??= await hostHasAppArmor();
    return this.apparmor;
  }

  private dir(name: string): string {
    return join(this.lxcPath, name);
  }

  private checkName(name: string): void {
    if (!name.startsWith(this.prefix) || name.includes('/') || name.length > 63) {
      throw new ValidationError(`container name "${name}" does not belong to this runtime (expected prefix ${this.prefix})`);
    }
  }

  private async cgroupLayout(): Promise<CgroupLayout> {
    this.layout ??= await detectCgroupLayout();
    return this.layout;
  }

  private lxc(tool: string, name: string, args: string[] = []): string[] {
    return [tool, '-P', this.lxcPath, '-n', name, ...args];
  }

  private async includeFor(spec: ContainerSpec): Promise<string | undefined> {
    const candidates = [spec.distro && spec.distro !== 'generic' ? `${spec.distro}.common.conf` : undefined, 'common.conf'];
    for (const c of candidates) {
      if (c && (await pathExists(join(this.lxcConfigDir, c)))) return join(this.lxcConfigDir, c);
    }
    return undefined;
  }

  /**
   * ensureCreated writes the container definition (and the rootfs
   * /etc/hostname), rewriting only what changed. Mount targets are resolved
   * inside the rootfs and made (mount-targets.ts) — unless the container
   * runs, when the rootfs is not touched and start() does it before the next boot.
   */
  override async ensureCreated(spec: ContainerSpec): Promise<EnsureResult> {
    this.checkName(spec.containerName);
    const dir = this.dir(spec.containerName);
    // While the container runs, its root may race any walk of its rootfs (swap a directory for a symlink between
    // our lstat and our mkdir): then nothing in the rootfs is touched, and start() resolves the mounts before the next boot.
    const live = (await pathExists(join(dir, 'config'))) && (await this.observe(spec.containerName)).state !== 'STOPPED';
    return this.define(spec, live);
  }

  /**
   * define is ensureCreated once the container's liveness is known: `live`
   * (it exists and is not STOPPED) leaves the rootfs alone and checks mount
   * paths by the rules only; otherwise mount targets are resolved (and made)
   * inside the rootfs.
   */
  private async define(spec: ContainerSpec, live: boolean): Promise<EnsureResult> {
    if (!(await isDirectory(spec.rootfsPath))) throw new NotFoundError(`root filesystem ${spec.rootfsPath} does not exist`);
    const dir = this.dir(spec.containerName);
    // The rootfs is the instance's: mount targets are resolved inside it (never along a symlink out) and made here.
    const mounts = live ? checkMountPaths(spec.mounts) : await resolveMountTargets(spec.rootfsPath, spec.mounts);
    // The mapped root must be able to walk to its rootfs and its volumes (LXC mounts them as that root): an ACL on
    // the data dir's own directories, which stay closed to other local users (lib/host/data-dir.ts).
    if (spec.idmap) {
      for (const path of [spec.rootfsPath, ...mounts.map((m) => join(m.source, 'entry'))]) {
        await grantTraversal({ path, uid: spec.idmap.hostId, dataDir: this.dataDir, runner: this.runner, granted: this.granted });
      }
    }
    const config = renderLxcConfig({
      spec: { ...spec, mounts },
      containerDir: dir,
      layout: await this.cgroupLayout(),
      include: await this.includeFor(spec),
      apparmor: await this.hasAppArmor(),
    });
    return withRevert(async (revert) => {
      await ensureDir(this.lxcPath);
      const created = !(await pathExists(join(dir, 'config')));
      if (!(await pathExists(dir))) {
        await ensureDir(dir, 0o750);
        revert.add(() => removeTree(dir, { root: this.lxcPath }));
      }
      const old = await readFileIfExists(join(dir, 'config'));
      if (old !== config) await writeFileAtomic(join(dir, 'config'), config);
      const specText = `${JSON.stringify(spec, null, 2)}\n`;
      if ((await readFileIfExists(join(dir, SPEC_FILE))) !== specText) await writeFileAtomic(join(dir, SPEC_FILE), specText);
      const etc = live ? undefined : await resolveInRoot(spec.rootfsPath, '/etc');
      if (etc && (await isDirectory(etc.hostPath))) {
        // systemd sets the hostname from /etc/hostname at boot, over the one LXC gave it.
        // (The rename replaces a symlink named hostname; /etc itself was resolved inside the rootfs.)
        const hostnameFile = join(etc.hostPath, 'hostname');
        if ((await readFileIfExists(hostnameFile)) !== `${spec.hostname}\n`) await writeFileAtomic(hostnameFile, `${spec.hostname}\n`);
      }
      return { created, configChanged: !created && old !== config };
    });
  }

  private async requireExists(name: string): Promise<Observation> {
    const obs = await this.observe(name);
    if (!obs.exists) throw new NotFoundError(`container ${name} does not exist in ${this.lxcPath}`);
    return obs;
  }

  private async lxcLogTail(name: string): Promise<string> {
    const text = (await readFileIfExists(join(this.dir(name), 'lxc.log'))) ?? '';
    return text.trim().split('\n').slice(-8).join('\n');
  }

  /**
   * start boots the container and resolves with what it then sees of it
   * (RUNNING, its init pid and start time); running already is success. The
   * definition is written again first, from the state this start observed
   * (one lxc-info): the instance may have changed its rootfs since (a mount
   * path replaced by a symlink), so mount targets are resolved anew before
   * every lxc-start — a ValidationError names a target that now points
   * outside the rootfs, and nothing starts. `lxc-start -d` returns once the
   * container runs; lxc-wait is run only when the look after it finds it
   * still on its way.
   */
  override async start(name: string): Promise<Observation> {
    this.checkName(name);
    const obs = await this.requireExists(name);
    if (obs.state === 'RUNNING') return obs;
    await this.define(await this.storedSpec(name), obs.state !== 'STOPPED');
    try {
      await this.runner.run(this.lxc('lxc-start', name, ['-d']), { timeoutMs: 60_000 });
      const started = await this.observe(name);
      if (!needsWait(started.state)) return started;
      await this.runner.run(this.lxc('lxc-wait', name, ['-s', 'RUNNING', '-t', '30']), { timeoutMs: 40_000 });
    } catch (err) {
      if (!(err instanceof HostCommandError)) throw err;
      const tail = await this.lxcLogTail(name);
      throw new HostCommandError({
        command: err.command,
        exitCode: err.exitCode,
        signal: err.signal,
        stderr: `${err.stderrTail}\n${tail}`,
        cause: err,
      });
    }
    return this.observe(name);
  }

  /** stop asks init to shut down cleanly (lxc.signal.halt), then kills after the timeout; stopped or absent is success. */
  override async stop(name: string, opts: StopOptions = {}): Promise<void> {
    this.checkName(name);
    const obs = await this.observe(name);
    if (!obs.exists || obs.state === 'STOPPED') return;
    const timeout = opts.timeoutSeconds ?? this.stopTimeout;
    // Exit code 2 means "not running": it stopped between our look and the command.
    if (!opts.force) {
      try {
        await this.runner.run(this.lxc('lxc-stop', name, ['-t', String(timeout)]), {
          timeoutMs: (timeout + 15) * 1000,
          okExitCodes: [0, 2],
        });
      } catch (err) {
        if (!(err instanceof HostCommandError)) throw err;
        // The clean stop failed; the forced stop below decides.
      }
      if ((await this.observe(name)).state === 'STOPPED') return;
    }
    await this.runner.run(this.lxc('lxc-stop', name, ['-k']), { timeoutMs: 30_000, okExitCodes: [0, 2] });
  }

  /** delete kills the container and removes its directory (config, logs); absent is success. The rootfs is not touched. */
  override async delete(name: string): Promise<void> {
    this.checkName(name);
    if (!(await pathExists(this.dir(name)))) return;
    await this.stop(name, { force: true });
    await removeTree(this.dir(name), { root: this.lxcPath });
  }

  /** observe reports whether the container exists, its state, init pid and start time, and addresses. */
  override async observe(name: string): Promise<Observation> {
    this.checkName(name);
    if (!(await pathExists(join(this.dir(name), 'config')))) return { exists: false, state: 'STOPPED' };
    const { stdout } = await this.runner.run(this.lxc('lxc-info', name, ['-s', '-p', '-i']), { timeoutMs: 15_000 });
    const info = parseLxcInfo(stdout);
    const obs: Observation = { exists: true, state: info.state };
    if (info.pid !== undefined && info.state === 'RUNNING') {
      obs.pid = info.pid;
      const started = await processStartTime(info.pid);
      if (started) obs.initStartedAt = started.toISOString();
    }
    if (info.addresses.length > 0) obs.addresses = info.addresses;
    return obs;
  }

  /** list names the containers under this runtime's LXC path that carry its prefix. */
  override async list(): Promise<string[]> {
    if (!(await pathExists(this.lxcPath))) return [];
    const names: string[] = [];
    for (const entry of await readdir(this.lxcPath, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.startsWith(this.prefix) && (await pathExists(join(this.lxcPath, entry.name, 'config')))) {
        names.push(entry.name);
      }
    }
    return names.sort();
  }

  /**
   * setLimits records the limits in the definition and, when the container
   * runs, writes them to its cgroup now (lxc-cgroup). Lowering memory below
   * current use can fail with HostCommandError: then restart to apply.
   */
  override async setLimits(name: string, limits: Limits): Promise<void> {
    this.checkName(name);
    await this.requireExists(name);
    const old = await this.storedSpec(name);
    const spec = { ...old, cpu: limits.cpu, memoryBytes: limits.memoryBytes, processes: limits.processes ?? old.processes };
    await this.ensureCreated(spec);
    if ((await this.observe(name)).state !== 'RUNNING') return;
    for (const [key, value] of limitSettings(limits, await this.cgroupLayout())) {
      await this.runner.run(this.lxc('lxc-cgroup', name, [key, value]), { timeoutMs: 15_000 });
    }
  }

  private async storedSpec(name: string): Promise<ContainerSpec> {
    const specText = await readFileIfExists(join(this.dir(name), SPEC_FILE));
    if (specText === undefined) throw new NotFoundError(`container ${name} has no ${SPEC_FILE}; call ensureCreated first`);
    return JSON.parse(specText) as ContainerSpec;
  }

  /** exec runs argv inside the running container with a clean environment and resolves with its exit code. */
  override async exec(name: string, argv: string[], stdio: ExecStdio = {}): Promise<number> {
    this.checkName(name);
    if (argv.length === 0) throw new ValidationError('exec: a command is required');
    const obs = await this.requireExists(name);
    if (obs.state !== 'RUNNING') throw new UnavailableError(`container ${name} is ${obs.state}, not RUNNING`);
    const env = { PATH: PATH_VALUE, HOME: '/root', ...stdio.env };
    const vars = Object.entries(env).flatMap(([k, v]) => ['--set-var', `${k}=${v}`]);
    const args = this.lxc('lxc-attach', name, ['--clear-env', ...vars, '--', ...argv]);
    // lxc-attach tries to keep our working directory inside the container; / always exists there.
    return this.runner.spawnAttached(args, {
      cwd: '/',
      stdin: stdio.stdin,
      stdout: stdio.stdout,
      stderr: stdio.stderr,
      timeoutMs: stdio.timeoutMs,
    });
  }

  /** consoleLogPath is `<lxcpath>/<name>/console.log`; it survives restarts and goes with delete. */
  override consoleLogPath(name: string): string {
    this.checkName(name);
    return join(this.dir(name), 'console.log');
  }
}
