/**
 * EtcdServer runs the embedded etcd member of this daemon: data under
 * `<dataDir>/etcd`, loopback ports remembered across restarts, a pidfile so a
 * later start reaps an orphan, the parent-death signal so the kernel kills
 * etcd with us, health waiting, and supervision with exponential backoff.
 */
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../log/logger.js';
import { TimeoutError, UnavailableError, errorMessage } from '../errors.js';
import { clientUrlOf, etcdArgs, peerUrlOf, type EtcdMemberConfig, type EtcdTlsFiles } from './args.js';
import { findEtcdBinary } from './binary.js';
import { checkEtcdHealth } from './health.js';
import { choosePorts, type EtcdPorts } from './ports.js';
import { reapStaleEtcd, removePidfile, spawnChild, writePidfile } from './process.js';
import { backoffDelay } from '../controller/backoff.js';
import { withTimeout } from '../controller/timeout.js';

/** EtcdTimers lets tests drive restart backoff with a fake clock. */
export interface EtcdTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

/** realTimers are the process's own timers. */
export const realTimers: EtcdTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/** EtcdClusterSettings are the etcd settings the server passes through to its command line unchanged (see EtcdMemberConfig). */
type EtcdClusterSettings = Pick<
  EtcdMemberConfig,
  | 'advertiseClientUrl'
  | 'advertisePeerUrl'
  | 'initialCluster'
  | 'initialClusterState'
  | 'initialClusterToken'
  | 'clientTls'
  | 'peerTls'
  | 'autoCompactionRetention'
  | 'extraArgs'
>;

/** EtcdServerOptions configure one embedded etcd member. */
export interface EtcdServerOptions extends EtcdClusterSettings {
  /** dataDir is the daemon's data directory; etcd keeps everything under `<dataDir>/etcd` */
  dataDir: string;
  logger: Logger;
  /** binary is an explicit etcd path; default: `etcd` on PATH */
  binary?: string;
  /** name is the member name (default `cloudlet`) */
  name?: string;
  /** host is the listen address (default 127.0.0.1) */
  host?: string;
  /** ports fixes the ports instead of choosing free ones */
  ports?: EtcdPorts;
  /** healthTls: client credentials for the health check (default clientTls) */
  healthTls?: EtcdTlsFiles;
  /** startTimeoutMs bounds the wait for health (default 30 s) */
  startTimeoutMs?: number;
  /** stopGraceMs is the SIGTERM→SIGKILL grace (default 10 s) */
  stopGraceMs?: number;
  /** restart backoff: initial delay, cap, and uptime after which the delay resets */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** dieWithParent: kernel kills etcd when this process dies (setpriv --pdeathsig; default true) */
  dieWithParent?: boolean;
  timers?: EtcdTimers;
}

/** EtcdServerInfo describes the running member. */
export interface EtcdServerInfo {
  pid: number;
  clientUrl: string;
  peerUrl: string;
  ports: EtcdPorts;
}

type State = 'idle' | 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

/**
 * EtcdServer supervises one etcd process. Events: `started` (EtcdServerInfo)
 * after each healthy (re)start, `exited` ({code, signal}) on every exit,
 * `restarting` ({delayMs, attempt}) when a restart is scheduled.
 */
export class EtcdServer extends EventEmitter {
  private readonly opts: EtcdServerOptions;
  private readonly log: Logger;
  private readonly timers: EtcdTimers;
  private readonly etcdDir: string;
  private readonly pidfile: string;
  private state: State = 'idle';
  private child: ChildProcess | undefined;
  private config: EtcdMemberConfig | undefined;
  private binary = '';
  private attempt = 0;
  private launchedAt = 0;
  private restartTimer: unknown;
  private stderrTail: string[] = [];

  constructor(opts: EtcdServerOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger.child({ component: 'etcd' });
    this.timers = opts.timers ?? realTimers;
    this.etcdDir = join(opts.dataDir, 'etcd');
    this.pidfile = join(this.etcdDir, 'etcd.pid');
  }

  /** EtcdServer.etcdDir is `<dataDir>/etcd`, holding data/, ports.json and etcd.pid. */
  get directory(): string {
    return this.etcdDir;
  }

  /** EtcdServer.pid is the PID of the running etcd, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** EtcdServer.clientUrl is the URL clients dial; throws before start. */
  get clientUrl(): string {
    if (!this.config) throw new UnavailableError('etcd has not been started');
    return clientUrlOf(this.config);
  }

  /**
   * start reaps a stale etcd named by the pidfile, picks ports, spawns etcd
   * and resolves once it is healthy; from then on an unexpected exit is
   * restarted with exponential backoff until stop().
   */
  async start(): Promise<EtcdServerInfo> {
    if (this.state !== 'idle' && this.state !== 'stopped') throw new UnavailableError(`etcd server is ${this.state}`);
    this.state = 'starting';
    try {
      this.binary = findEtcdBinary({ path: this.opts.binary });
      await mkdir(this.etcdDir, { recursive: true, mode: 0o700 });
      const reaped = await reapStaleEtcd({ pidfile: this.pidfile, dataDir: join(this.etcdDir, 'data'), graceMs: this.opts.stopGraceMs });
      if (reaped !== undefined) this.log.warn('reaped a stale etcd left by a previous run', { pid: reaped });
      const host = this.opts.host ?? '127.0.0.1';
      const ports = this.opts.ports ?? (await choosePorts(this.etcdDir, host)).ports;
      this.config = {
        name: this.opts.name ?? 'cloudlet',
        dataDir: join(this.etcdDir, 'data'),
        host,
        clientPort: ports.client,
        peerPort: ports.peer,
        advertiseClientUrl: this.opts.advertiseClientUrl,
        advertisePeerUrl: this.opts.advertisePeerUrl,
        initialCluster: this.opts.initialCluster,
        initialClusterState: this.opts.initialClusterState,
        initialClusterToken: this.opts.initialClusterToken,
        clientTls: this.opts.clientTls,
        peerTls: this.opts.peerTls,
        autoCompactionRetention: this.opts.autoCompactionRetention,
        extraArgs: this.opts.extraArgs,
      };
      const info = await this.launchAndWait();
      this.state = 'running';
      this.log.info('etcd started', { pid: info.pid, clientUrl: info.clientUrl });
      this.emit('started', info);
      return info;
    } catch (err) {
      this.state = 'stopped';
      await this.killChild();
      throw err;
    }
  }

  /** stop ends supervision, sends SIGTERM, then SIGKILL after the grace period, and removes the pidfile. */
  async stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopped') return;
    this.state = 'stopping';
    if (this.restartTimer !== undefined) this.timers.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.killChild();
    await removePidfile(this.pidfile);
    this.state = 'stopped';
    this.log.info('etcd stopped');
  }

  private info(child: ChildProcess): EtcdServerInfo {
    const config = this.config as EtcdMemberConfig;
    return {
      pid: child.pid ?? 0,
      clientUrl: clientUrlOf(config),
      peerUrl: peerUrlOf(config),
      ports: { client: config.clientPort, peer: config.peerPort },
    };
  }

  private async launchAndWait(): Promise<EtcdServerInfo> {
    const config = this.config as EtcdMemberConfig;
    const child = spawnChild({ argv: [this.binary, ...etcdArgs(config)], dieWithParent: this.opts.dieWithParent });
    this.child = child;
    this.launchedAt = this.timers.now();
    this.stderrTail = [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    child.once('error', (err) => this.log.error('etcd could not be spawned', { error: err.message }));
    child.stdout?.resume();
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
        this.log.debug('etcd output', { line });
      });
    }
    void exited.then((how) => this.onExit(child, how));
    if (child.pid !== undefined) await writePidfile(this.pidfile, child.pid);
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void exited.then(() => (gone = true));
    while (!gone) {
      if (await checkEtcdHealth(clientUrlOf(config), { tls: this.opts.healthTls ?? this.opts.clientTls, timeoutMs: 1000 })) {
        if (gone) break;
        return this.info(child);
      }
      if (Date.now() > deadline) throw new TimeoutError(`etcd did not become healthy within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const how = await exited;
    throw new UnavailableError(
      `etcd exited during start (code ${how.code}, signal ${how.signal}): ${this.stderrTail.slice(-5).join('\n')}`,
    );
  }

  private onExit(child: ChildProcess, how: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.emit('exited', how);
    if (this.state !== 'running') return;
    const b = this.opts.backoff ?? {};
    const uptime = this.timers.now() - this.launchedAt;
    if (uptime >= (b.resetAfterMs ?? 60_000)) this.attempt = 0;
    this.attempt++;
    const delayMs = backoffDelay(this.attempt, { initialMs: b.initialMs ?? 200, maxMs: b.maxMs ?? 30_000, jitter: 0 });
    this.log.warn('etcd exited unexpectedly; restarting', { code: how.code, signal: how.signal, delayMs, attempt: this.attempt });
    this.state = 'backoff';
    this.emit('restarting', { delayMs, attempt: this.attempt });
    this.restartTimer = this.timers.setTimeout(() => void this.restart(), delayMs);
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.state !== 'backoff') return;
    this.state = 'running';
    try {
      const info = await this.launchAndWait();
      if (this.state !== 'running') return;
      this.log.info('etcd restarted', { pid: info.pid });
      this.emit('started', info);
    } catch (err) {
      // the exit handler already scheduled the next attempt if etcd died;
      // a health timeout leaves a live but sick etcd, so kill it to retry
      this.log.error('etcd restart failed', { error: errorMessage(err) });
      if (this.state === 'running' && this.child) this.child.kill('SIGKILL');
    }
  }

  private async killChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const grace = this.opts.stopGraceMs ?? 10_000;
    const timedOut = await withTimeout(exited, { ms: grace, message: `etcd did not exit within ${grace} ms of SIGTERM` }).then(
      () => false,
      () => true,
    );
    if (timedOut) {
      this.log.warn('etcd ignored SIGTERM; sending SIGKILL', { pid: child.pid, graceMs: grace });
      child.kill('SIGKILL');
      await exited;
    }
  }
}
