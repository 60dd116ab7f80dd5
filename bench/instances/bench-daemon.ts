/**
 * BenchDaemon runs a real `cloudlet up` (the built CLI) for the benchmark in
 * a fresh data dir on a free loopback port, its log in `<dataDir>/daemon.log`,
 * and waits until the API answers and the member is Ready. stop() ends the
 * daemon by PID (SIGTERM, then SIGKILL), then its etcd by the PID in its pid
 * file if it outlived the daemon, force-stops every container left under the
 * daemon's LXC path and removes the data dir. `seedImages` are cached image
 * directories (an ImageStore's `<imagesDir>/<name>`) hard-linked into the
 * new data dir before the daemon starts, so a debootstrap is not repeated
 * per run (the image is only ever read). Also: CPU time and RSS of a
 * process from /proc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureMode } from '../../lib/host/data-dir.js';
import { writeFileAtomic } from '../../lib/host/fs.js';
import { hostRunner } from '../../lib/host/exec.js';
import { projectRoot } from '../../lib/kinds/registry.js';
import { sleepMs } from '../common.js';
import { freePort } from '../../test/e2e/helpers/daemon.js';
import { BenchApiClient } from './api-client.js';
import { processAlive as alive } from '../../lib/host/proc.js';

/** CLK_TCK is the kernel's clock ticks per second for /proc/PID/stat times (100 on Linux). */
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** BenchDaemonOptions: runtime (default lxc); cpuProfDir makes the daemon write a V8 CPU profile there on exit. */
export interface BenchDaemonOptions {
  runtime?: 'lxc' | 'hollow';
  cpuProfDir?: string;
  label: string;
  seedImages?: string[];
}

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (err) {
      last = err;
    }
    await sleepMs(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** BenchDaemon is one running daemon; see the file comment. */
export class BenchDaemon {
  private child: ChildProcess | undefined;
  api: BenchApiClient | undefined;

  private constructor(
    readonly dataDir: string,
    readonly opts: BenchDaemonOptions,
  ) {}

  /** pid is the daemon's process id. */
  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('the daemon is not running');
    return pid;
  }

  /** lxcPath is where the daemon's LXC runtime keeps its containers. */
  get lxcPath(): string {
    return join(this.dataDir, 'lxc');
  }

  /** BenchDaemon.start launches the daemon and waits for its API and a Ready member; on failure it cleans up and throws. */
  static async start(opts: BenchDaemonOptions): Promise<BenchDaemon> {
    const d = new BenchDaemon(await mkdtemp(join(tmpdir(), `cl-bench-${opts.label}-`)), opts);
    try {
      await d.launch();
      return d;
    } catch (err) {
      const log = await readFile(join(d.dataDir, 'daemon.log'), 'utf8').catch(() => '');
      await d.stop();
      throw new Error(`${String(err)}\ndaemon log tail:\n${log.trim().split('\n').slice(-20).join('\n')}`);
    }
  }

  private async seed(): Promise<void> {
    const images = join(this.dataDir, 'images');
    await ensureMode(images, 0o700);
    for (const src of this.opts.seedImages ?? []) {
      const dst = join(images, basename(src));
      await hostRunner.run(['cp', '-al', src, dst], { timeoutMs: 600_000 });
      // The meta names its rootfs by absolute path: a new file (rename), so the cache's own copy is untouched.
      const meta = JSON.parse(await readFile(join(dst, 'image.json'), 'utf8')) as { rootfsPath: string };
      await writeFileAtomic(join(dst, 'image.json'), `${JSON.stringify({ ...meta, rootfsPath: join(dst, 'rootfs') }, null, 2)}\n`);
    }
  }

  private async launch(): Promise<void> {
    await this.seed();
    const main = join(projectRoot(), 'dist/cli/main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: build first with npx tsc -p .`);
    const port = await freePort();
    const nodeFlags = this.opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', this.opts.cpuProfDir] : [];
    const args = [
      ...nodeFlags,
      main,
      'up',
      '--data-dir',
      this.dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--runtime',
      this.opts.runtime ?? 'lxc',
    ];
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // the daemon runs compiled code
    const log = openSync(join(this.dataDir, 'daemon.log'), 'a');
    this.child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env });
    closeSync(log);
    const kubeconfig = join(this.dataDir, 'kubeconfig');
    await waitUntil(
      'the kubeconfig',
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`cloudlet up exited with ${this.child?.exitCode}`);
        return existsSync(kubeconfig);
      },
      60_000,
    );
    const api = await BenchApiClient.fromKubeconfig(kubeconfig, { maxSockets: 32 });
    this.api = api;
    await waitUntil(
      'a Ready member',
      async () => {
        const r = await api.call('GET', '/apis/cloudlet.dev/v1alpha1/members');
        if (r.status !== 200) return false;
        const list = JSON.parse(r.text) as { items: Array<{ status?: { phase?: string } }> };
        return list.items.some((m) => m.status?.phase === 'Ready');
      },
      60_000,
    );
  }

  /** stop ends the daemon and its etcd by PID, force-stops leftover containers and removes the data dir. Never throws. */
  async stop(): Promise<void> {
    this.api?.close();
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleepMs(30_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    const etcdPidFile = join(this.dataDir, 'etcd', 'etcd.pid');
    const etcdPid = existsSync(etcdPidFile) ? Number(readFileSync(etcdPidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(etcdPid) && etcdPid > 0 && alive(etcdPid)) {
      process.kill(etcdPid, 'SIGTERM');
      for (let i = 0; i < 50 && alive(etcdPid); i++) await sleepMs(100);
      if (alive(etcdPid)) process.kill(etcdPid, 'SIGKILL');
    }
    if (existsSync(this.lxcPath)) {
      for (const name of readdirSync(this.lxcPath)) {
        spawnSync('lxc-stop', ['-P', this.lxcPath, '-n', name, '-k'], { stdio: 'ignore', timeout: 30_000 });
      }
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** cpuSeconds is utime + stime of `pid` in seconds, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** rssMb is the resident set size of `pid` in MiB, from /proc/PID/status. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

/** etcdPidOf reads the embedded etcd's PID of a daemon data dir, or undefined. */
export function etcdPidOf(dataDir: string): number | undefined {
  const file = join(dataDir, 'etcd', 'etcd.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
