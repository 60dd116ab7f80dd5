/**
 * startDaemon runs a real `cloudlet up` (the built CLI) in a fresh data dir
 * on a free loopback port, waits until its API answers, and gives back what
 * tests need: the kubeconfig, a `cloudlet` runner and a `kubectl` runner.
 * stop() sends SIGTERM and waits; kill() sends SIGKILL (a power cut).
 * Everything is stopped by PID, never by name.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../../lib/kinds/registry.js';

/** RunResult is the outcome of a CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** TestDaemon is one running daemon. */
export interface TestDaemon {
  dataDir: string;
  port: number;
  kubeconfig: string;
  child: ChildProcess;
  log: () => string;
  cloudlet(args: string[], opts?: { input?: string; timeoutMs?: number }): CliResult;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): CliResult;
  /** stop sends SIGTERM and waits for the exit */
  stop(): Promise<void>;
  /** kill sends SIGKILL and waits for the exit */
  kill(): Promise<void>;
  /** restart starts the daemon again on the same data dir and port */
  restart(): Promise<void>;
  /** cleanup stops the daemon if running and removes the data dir */
  cleanup(): Promise<void>;
}

/** freePort finds a free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const CLI = (): string => join(projectRoot(), 'dist/cli/main.js');

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** startDaemon starts `cloudlet up`; extra args go after the standard ones (e.g. ['--runtime', 'hollow']). */
export async function startDaemon(opts: { extraArgs?: string[]; dataDir?: string } = {}): Promise<TestDaemon> {
  if (!existsSync(CLI())) throw new Error(`${CLI()} is missing: build first with \`npm run build\``);
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'cloudlet-e2e-')));
  const port = await freePort();
  const kubeconfig = join(dataDir, 'kubeconfig');
  const cacheDir = join(dataDir, 'kubectl-cache');
  let output = '';
  let child: ChildProcess;

  const launch = async (): Promise<void> => {
    child = spawn(process.execPath, [CLI(), 'up', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...(opts.extraArgs ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLOUDLET_LOG_LEVEL: process.env.CLOUDLET_LOG_LEVEL ?? 'info' },
    });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`cloudlet up exited with ${child.exitCode}:\n${output.slice(-3000)}`);
      if (existsSync(kubeconfig) && output.includes('daemon ready')) {
        const r = run(['get', 'members', '-o', 'name']);
        if (r.code === 0) return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`cloudlet up did not become ready within 60 s:\n${output.slice(-3000)}`);
  };

  const run = (args: string[], o: { input?: string; timeoutMs?: number } = {}): CliResult => {
    const r = spawnSync(process.execPath, [CLI(), '--kubeconfig', kubeconfig, ...args], {
      input: o.input,
      encoding: 'utf8',
      timeout: o.timeoutMs ?? 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };

  await launch();
  const d: TestDaemon = {
    dataDir,
    port,
    kubeconfig,
    get child() {
      return child;
    },
    log: () => output,
    cloudlet: run,
    kubectl: (args, o = {}) => {
      const r = spawnSync('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
        input: o.input,
        encoding: 'utf8',
        timeout: o.timeoutMs ?? 60_000,
      });
      if (r.error) throw new Error(`kubectl could not run (${r.error.message}); it is expected at /usr/bin/kubectl (v1.32)`);
      return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    },
    async restart() {
      await launch();
    },
    async cleanup() {
      await d.stop();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return d;
}

/** processAlive tells whether PID exists (and is not a zombie). */
export function processAlive(pid: number): boolean {
  const r = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  const stat = (r.stdout ?? '').trim();
  return stat !== '' && !stat.startsWith('Z');
}
