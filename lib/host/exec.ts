/**
 * Safe process execution for drivers: argv arrays only (never a shell
 * string), a timeout that kills the whole process group, and typed errors
 * (HostCommandError, TimeoutError). This is the only place in Cloudlet that
 * spawns processes; exit codes are translated into errors here, once.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { CancelledError, CloudletError, HostCommandError, TimeoutError, ValidationError } from '../errors.js';

/** DEFAULT_MAX_BUFFER is how many bytes of stdout or stderr `run` keeps before failing (16 MiB). */
export const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;

/** RunOptions tune one `run` call; every field is optional. */
export interface RunOptions {
  /** timeoutMs kills the process group with SIGKILL after this long and throws TimeoutError; default none */
  timeoutMs?: number;
  /** stdin is written to the child's stdin, which is then closed; default: stdin is /dev/null */
  stdin?: string | Buffer;
  /** env replaces the child's environment when given (PATH included: pass it if you need it) */
  env?: Record<string, string>;
  /** cwd is the child's working directory */
  cwd?: string;
  /** maxBuffer caps stdout and stderr each; the child is killed and HostCommandError thrown past it */
  maxBuffer?: number;
  /** okExitCodes are exit codes that count as success (default [0]); the caller reads `exitCode` */
  okExitCodes?: number[];
  /** onStdoutLine sees every complete stdout line as it arrives (progress parsing) */
  onStdoutLine?: (line: string) => void;
  /** onStderrLine sees every complete stderr line as it arrives */
  onStderrLine?: (line: string) => void;
  /**
   * signal kills the process group when aborted; `run` then throws the
   * abort reason when it is a CloudletError, else CancelledError
   */
  signal?: AbortSignal;
  /**
   * dieWithParent runs the command so that it and everything it starts die
   * when this process dies, even by SIGKILL: under util-linux `setpriv
   * --pdeathsig KILL` and in a new PID namespace (`unshare --pid --fork
   * --kill-child`), whose processes the kernel kills when its first one
   * dies. It also gets a private mount namespace, so mounts it makes (a
   * debootstrap mounts /proc in its target) go away with it instead of
   * staying behind in a directory that must be removed
   */
  dieWithParent?: boolean;
}

/** DIE_WITH_PARENT is the argv prefix `dieWithParent` puts in front of a command. */
export const DIE_WITH_PARENT = [
  'setpriv',
  '--pdeathsig',
  'KILL',
  '--',
  'unshare',
  '--pid',
  '--mount',
  '--propagation',
  'private',
  '--fork',
  '--kill-child=SIGKILL',
  '--',
] as const;

/** RunResult is what a finished command produced. */
export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** AttachedOptions tune `spawnAttached`: streams default to this process's own stdio. */
export interface AttachedOptions {
  stdin?: Readable | 'inherit' | 'ignore';
  stdout?: Writable | 'inherit';
  stderr?: Writable | 'inherit';
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

/** HostRunner is the process-spawning seam drivers take, so unit tests can pass a fake. */
export interface HostRunner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  spawnAttached(argv: string[], opts?: AttachedOptions): Promise<number>;
}

function checkArgv(argv: string[]): [string, string[]] {
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === '') throw new ValidationError('host command: argv must name a program');
  return [cmd, args];
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone: nothing left to kill.
  }
}

/** LineSplitter feeds complete lines of a byte stream to a callback; `flush` emits the last partial line. */
class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    for (const p of parts) this.onLine(p.replace(/\r$/, ''));
  }
  flush(): void {
    if (this.rest !== '') this.onLine(this.rest);
    this.rest = '';
  }
}

/**
 * run executes argv (no shell), collects stdout and stderr, and resolves when
 * the process has exited and its pipes are closed. A non-zero exit (outside
 * `okExitCodes`) or a signal throws HostCommandError; a timeout kills the
 * process group and throws TimeoutError; so does an aborted `signal` (see
 * RunOptions). A missing program throws HostCommandError with exit code 127.
 */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  checkArgv(argv);
  const [cmd, args] = checkArgv(opts.dieWithParent ? [...DIE_WITH_PARENT, ...argv] : argv);
  const maxBuffer = opts.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const okCodes = opts.okExitCodes ?? [0];
  const cancelled = (): CloudletError => {
    const reason: unknown = opts.signal?.reason;
    return reason instanceof CloudletError
      ? reason
      : new CancelledError(`${argv.join(' ')} was cancelled; its process group was killed`, { cause: reason });
  };
  if (opts.signal?.aborted) return Promise.reject(cancelled());
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Own process group, so a timeout can kill the command and everything it started.
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let failure: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    const outLines = opts.onStdoutLine ? new LineSplitter(opts.onStdoutLine) : undefined;
    const errLines = opts.onStderrLine ? new LineSplitter(opts.onStderrLine) : undefined;
    const stderrText = (): string => Buffer.concat(err).toString('utf8');

    const overflow = (which: string): void => {
      if (failure) return;
      failure = new HostCommandError({
        command: argv,
        exitCode: null,
        signal: 'SIGKILL',
        stderr: `${which} exceeded maxBuffer (${maxBuffer} bytes)`,
      });
      killGroup(child.pid);
    };
    child.stdout?.on('data', (b: Buffer) => {
      outLen += b.length;
      if (outLen > maxBuffer) return overflow('stdout');
      out.push(b);
      outLines?.push(b.toString('utf8'));
    });
    child.stderr?.on('data', (b: Buffer) => {
      errLen += b.length;
      if (errLen > maxBuffer) return overflow('stderr');
      err.push(b);
      errLines?.push(b.toString('utf8'));
    });
    if (opts.stdin !== undefined && child.stdin) {
      // A child that exits without reading its stdin makes the write fail with EPIPE: that is its business.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin);
    }
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        if (!failure)
          failure = new TimeoutError(`${argv.join(' ')} did not finish within ${opts.timeoutMs} ms; its process group was killed`);
        killGroup(child.pid);
      }, opts.timeoutMs);
    }
    const onAbort = (): void => {
      if (!failure) failure = cancelled();
      killGroup(child.pid);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const missing = e.code === 'ENOENT';
      reject(
        new HostCommandError({
          command: argv,
          exitCode: missing ? 127 : null,
          signal: null,
          stderr: missing ? `${cmd}: command not found` : e.message,
          cause: e,
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      outLines?.flush();
      errLines?.flush();
      if (failure) return reject(failure);
      if (code === null || !okCodes.includes(code)) {
        return reject(new HostCommandError({ command: argv, exitCode: code, signal: signal ?? null, stderr: stderrText() }));
      }
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: stderrText(), exitCode: code });
    });
  });
}

/**
 * spawnAttached runs argv with its stdio connected to the given streams (this
 * process's own stdio by default) and resolves with its exit code — for
 * interactive and streaming use such as `cloudlet exec`. A signal death
 * resolves as 128 + signal number, like a shell. A missing program throws
 * HostCommandError; a timeout kills the process group and throws TimeoutError.
 */
export function spawnAttached(argv: string[], opts: AttachedOptions = {}): Promise<number> {
  const [cmd, args] = checkArgv(argv);
  const stdinMode = opts.stdin === undefined || opts.stdin === 'inherit' ? 'inherit' : opts.stdin === 'ignore' ? 'ignore' : 'pipe';
  const stdoutMode = opts.stdout === undefined || opts.stdout === 'inherit' ? 'inherit' : 'pipe';
  const stderrMode = opts.stderr === undefined || opts.stderr === 'inherit' ? 'inherit' : 'pipe';
  return new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: [stdinMode, stdoutMode, stderrMode] });
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (typeof opts.stdin === 'object' && child.stdin) {
      child.stdin.on('error', () => undefined);
      opts.stdin.pipe(child.stdin);
    }
    if (typeof opts.stdout === 'object') child.stdout?.pipe(opts.stdout, { end: false });
    if (typeof opts.stderr === 'object') child.stderr?.pipe(opts.stderr, { end: false });
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(
        new HostCommandError({ command: argv, exitCode: e.code === 'ENOENT' ? 127 : null, signal: null, stderr: e.message, cause: e }),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (typeof opts.stdin === 'object' && child.stdin) opts.stdin.unpipe(child.stdin);
      if (timedOut) return reject(new TimeoutError(`${argv.join(' ')} did not finish within ${opts.timeoutMs} ms and was killed`));
      if (code !== null) return resolve(code);
      resolve(128 + signalNumber(signal));
    });
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };
function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (SIGNALS[signal] ?? 0) : 0;
}

/** hostRunner is the real HostRunner backed by `run` and `spawnAttached`. */
export const hostRunner: HostRunner = { run, spawnAttached };

/**
 * startDetached starts a long-lived host service (e.g. lxcfs) in its own
 * session, with stdin closed and stdout/stderr appended to `logFile` (or
 * discarded), and does not wait for it: the service outlives this process on
 * purpose. Resolves with its PID once it has been spawned; rejects with
 * HostCommandError when the program cannot be started.
 */
export async function startDetached(argv: string[], opts: { logFile?: string; env?: Record<string, string> } = {}): Promise<number> {
  const [cmd, args] = checkArgv(argv);
  const { openSync, closeSync } = await import('node:fs');
  const fd = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: opts.env });
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new HostCommandError({ command: argv, exitCode: e.code === 'ENOENT' ? 127 : null, signal: null, stderr: e.message, cause: e }),
        ),
      );
      child.once('spawn', () => {
        child.unref();
        resolve(child.pid ?? 0);
      });
    });
  } finally {
    if (typeof fd === 'number') closeSync(fd);
  }
}
