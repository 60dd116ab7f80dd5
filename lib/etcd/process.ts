/**
 * Process plumbing for the embedded etcd: spawning with argv arrays (no
 * shell) and a parent-death signal, the pidfile, and reaping a stale etcd left
 * behind by a daemon that was SIGKILLed.
 *
 * Spawning belongs to lib/host by the rules of the house; lib/host does not
 * exist yet, so this file is the one place lib/etcd spawns and is meant to
 * move under lib/host later.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile, rm, rename } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

let setprivPdeathsig: boolean | undefined;

/** hasSetprivPdeathsig tells whether util-linux `setpriv --pdeathsig` is available (checked once). */
export function hasSetprivPdeathsig(): boolean {
  if (setprivPdeathsig === undefined) {
    const res = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 5000 });
    setprivPdeathsig = res.status === 0 && `${res.stdout}${res.stderr}`.includes('--pdeathsig');
  }
  return setprivPdeathsig;
}

/** SpawnChildOptions: argv[0] is the program; `dieWithParent` asks for SIGKILL when this process dies. */
export interface SpawnChildOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** dieWithParent wraps the program in `setpriv --pdeathsig KILL` when available (default true) */
  dieWithParent?: boolean;
}

/**
 * spawnChild starts argv[0] with argv[1..] (never through a shell), stdin
 * closed and stdout/stderr piped. With `dieWithParent`, setpriv sets the
 * parent-death signal and then execs the program, so the PID is the
 * program's own and the kernel kills it if this process dies, even by SIGKILL.
 */
export function spawnChild(opts: SpawnChildOptions): ChildProcess {
  const [program, ...args] = opts.argv;
  if (program === undefined) throw new Error('spawnChild needs a program');
  const wrap = (opts.dieWithParent ?? true) && hasSetprivPdeathsig();
  const argv = wrap ? ['setpriv', '--pdeathsig', 'KILL', '--', program, ...args] : [program, ...args];
  return spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, detached: false });
}

/** readCmdline returns /proc/PID/cmdline as an argv array, or undefined if the process is gone. */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const argv = raw.split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    return argv;
  } catch {
    return undefined;
  }
}

/** isAlive tells whether `pid` is a running process (zombies count as dead). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the state letter follows the parenthesised command name
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** killAndWait sends SIGTERM, then SIGKILL after `graceMs`, and resolves once `pid` is gone. */
export async function killAndWait(pid: number, opts: { graceMs?: number; pollMs?: number } = {}): Promise<void> {
  const graceMs = opts.graceMs ?? 10_000;
  const pollMs = opts.pollMs ?? 50;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  if (!isAlive(pid)) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(pollMs);
  if (!isAlive(pid)) return;
  signal('SIGKILL');
  while (isAlive(pid)) await sleep(pollMs);
}

/** readPidfile returns the PID written in `path`, or undefined when absent or unreadable. */
export async function readPidfile(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** writePidfile atomically writes `pid` to `path`. */
export async function writePidfile(path: string, pid: number): Promise<void> {
  await writeFile(`${path}.tmp`, `${pid}\n`);
  await rename(`${path}.tmp`, path);
}

/** removePidfile deletes `path` if it exists. */
export async function removePidfile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * isOurEtcd tells whether `cmdline` is an etcd process using `dataDir`: its
 * program (or argv[0]) ends in `etcd` and it has `--data-dir` equal to ours.
 */
export function isOurEtcd(cmdline: string[], dataDir: string): boolean {
  const program = cmdline[0] ?? '';
  if (!/(^|\/)etcd$/.test(program)) return false;
  const want = resolvePath(dataDir);
  for (let i = 0; i < cmdline.length; i++) {
    const arg = cmdline[i] ?? '';
    if (arg.startsWith('--data-dir=') && resolvePath(arg.slice('--data-dir='.length)) === want) return true;
    if (arg === '--data-dir' && resolvePath(cmdline[i + 1] ?? '') === want) return true;
  }
  return false;
}

/**
 * reapStaleEtcd reads the pidfile and, if it names a live etcd on `dataDir`
 * (an orphan of a daemon that died without stopping it), kills it and waits
 * until it is gone. Returns the PID it reaped, or undefined.
 */
export async function reapStaleEtcd(opts: { pidfile: string; dataDir: string; graceMs?: number }): Promise<number | undefined> {
  const pid = await readPidfile(opts.pidfile);
  if (pid === undefined || pid === process.pid || !isAlive(pid)) return undefined;
  const cmdline = readCmdline(pid);
  if (!cmdline || !isOurEtcd(cmdline, opts.dataDir)) return undefined;
  await killAndWait(pid, { graceMs: opts.graceMs ?? 5000 });
  return pid;
}
