/**
 * Helpers for running the real kubectl: against a running daemon with its own
 * kubeconfig (`kubectlRunner`), or against an in-process ApiServer with a
 * throwaway self-signed certificate (kubectl sends bearer tokens only over
 * TLS) and a kubeconfig with a token (`makeKubectlEnv`). Both use a fresh
 * discovery cache and a private HOME, so nothing under ~/.kube is read or written.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newKeyArgs } from '../../lib/pki/pki.js';

/** KUBECTL is the kubectl binary the e2e tests run. */
export const KUBECTL = '/usr/bin/kubectl';

/** KubectlRunner runs kubectl with a fixed kubeconfig, cache dir and HOME. */
export interface KubectlRunner {
  /** run runs kubectl with args (kubeconfig and cache dir added); never throws on a non-zero exit. */
  run(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** spawn starts a long-running kubectl (get -w, delete that waits); the caller kills it by PID. */
  spawn(args: string[]): ChildProcess;
}

/** KubectlEnv is a temp dir holding a certificate, a kubeconfig and a cache dir. */
export interface KubectlEnv extends KubectlRunner {
  dir: string;
  key: Buffer;
  cert: Buffer;
  /** writeKubeconfig points kubectl at `https://127.0.0.1:port` with `token`. */
  writeKubeconfig(port: number, token: string): void;
  /** cleanup removes the temp dir. */
  cleanup(): void;
}

function requireKubectl(): void {
  if (!existsSync(KUBECTL))
    throw new Error(`${KUBECTL} is missing: install kubectl (apt-get install kubectl, or google-cloud-cli's kubectl)`);
}

/**
 * kubectlRunner runs kubectl with `kubeconfig` (e.g. the one `cloudlet up`
 * writes), HOME set to `dir` and its discovery cache in `dir`/cache; the
 * caller owns `dir` and removes it. Fails with an install hint when kubectl is missing.
 */
export function kubectlRunner(opts: { kubeconfig: string; dir: string }): KubectlRunner {
  requireKubectl();
  const base = (): string[] => ['--kubeconfig', opts.kubeconfig, '--cache-dir', join(opts.dir, 'cache')];
  const env = { ...process.env, HOME: opts.dir, KUBECONFIG: opts.kubeconfig };
  return {
    run(args, o = {}) {
      return new Promise((resolve) => {
        const child = execFile(KUBECTL, [...base(), ...args], { env, timeout: o.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
        if (o.input !== undefined) child.stdin?.end(o.input);
      });
    },
    spawn(args) {
      const child = spawn(KUBECTL, [...base(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      collect(child);
      return child;
    },
  };
}

/**
 * makeTestCertificate writes a throwaway self-signed certificate for
 * 127.0.0.1 (`key.pem`, `cert.pem`) into `dir`; fails with an install hint
 * when openssl is missing.
 */
export function makeTestCertificate(dir: string, commonName: string): { key: Buffer; cert: Buffer } {
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...newKeyArgs(join(dir, 'key.pem'), join(dir, 'cert.pem')),
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    throw new Error(`cannot make a test certificate with openssl (apt-get install openssl): ${String(err)}`);
  }
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

/** makeKubectlEnv prepares the temp dir for an in-process server; fails with an install hint when kubectl or openssl is missing. */
export function makeKubectlEnv(): KubectlEnv {
  requireKubectl();
  const dir = mkdtempSync(join(tmpdir(), 'cloudlet-kubectl-'));
  try {
    makeTestCertificate(dir, 'cloudlet-e2e');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  return {
    ...kubectlRunner({ kubeconfig, dir }),
    dir,
    key: readFileSync(join(dir, 'key.pem')),
    cert: readFileSync(join(dir, 'cert.pem')),
    writeKubeconfig(port, token) {
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: cloudlet, cluster: {server: "https://127.0.0.1:${port}", certificate-authority: "${join(dir, 'cert.pem')}"}}]`,
          `users: [{name: admin, user: {token: "${token}"}}]`,
          'contexts: [{name: cloudlet, context: {cluster: cloudlet, user: admin, namespace: default}}]',
          'current-context: cloudlet',
          '',
        ].join('\n'),
      );
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const outputs = new WeakMap<ChildProcess, { text: string; consumed: number }>();

function collect(child: ChildProcess): void {
  const state = { text: '', consumed: 0 };
  outputs.set(child, state);
  child.stdout?.on('data', (chunk: Buffer) => {
    state.text += chunk.toString();
  });
}

/**
 * waitForOutput resolves once `pattern` appears in what `child` printed on
 * stdout after the previous match (output is collected from the start, so
 * nothing printed between calls is lost); rejects after `timeoutMs`.
 */
export async function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const state = outputs.get(child);
  if (!state) throw new Error('waitForOutput needs a process started by KubectlRunner.spawn');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rest = state.text.slice(state.consumed);
    const m = pattern.exec(rest);
    if (m) {
      state.consumed += m.index + m[0].length;
      return rest.slice(0, m.index + m[0].length);
    }
    if (Date.now() > deadline) throw new Error(`the process did not print ${pattern} within ${timeoutMs} ms; it printed:\n${state.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** waitForExit resolves with the exit code of `child`. */
export function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}
