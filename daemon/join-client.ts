/**
 * `cloudlet join TOKEN`: the joiner's side. It trusts nothing before the
 * cluster CA it downloads matches the fingerprint in the token (pinning);
 * every later call verifies the server against that CA. On success the data
 * dir holds the CA, a member certificate, the admin token, cluster.json
 * (with the etcd settings the cluster chose) and a kubeconfig; `cloudlet
 * daemon` then runs the member. On any failure the data dir is left as it was.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { choosePorts } from '../lib/etcd/ports.js';
import { httpsUrlOf } from '../lib/etcd/args.js';
import { caFingerprint, makeKeyAndCsr } from '../lib/pki/pki.js';
import { UnavailableError, ValidationError, errorMessage } from '../lib/errors.js';
import { retryTransient } from '../lib/controller/backoff.js';
import { stringFieldOr } from '../lib/json.js';
import { readText } from '../lib/http-text.js';
import { clientAddress, writeClusterFiles, writeKubeconfig, type ClusterIdentity } from './cluster.js';
import { checkFreshDataDir, memberSubject, newMemberOf, undoDataDir } from './init.js';
import { assertNotExpired, decodeJoinToken, fingerprintMatches } from '../lib/join-token.js';
import type { JoinResponse } from './join-server.js';

/** JoinOptions: the token, where, the API listen address, optionally the member's name and address. */
export interface JoinOptions {
  token: string;
  dataDir: string;
  listen: string;
  memberName?: string;
  address?: string;
  now?: () => number;
  /** timeoutMs bounds the wait for the cluster to accept the join (default 2 min) */
  timeoutMs?: number;
  /** onProgress is told what the join waits for, each time that changes (the CLI prints it) */
  onProgress?: (line: string) => void;
}

/** DEFAULT_JOIN_TIMEOUT_MS is how long a join waits for the cluster to accept it. */
export const DEFAULT_JOIN_TIMEOUT_MS = 120_000;

/** JoinReply is one answer to a join request, or the network error in its place. */
export type JoinReply = { status: number; text: string } | { error: unknown };

/**
 * classifyJoinReply decides what one join attempt's reply means: 200 is
 * admitted; 503 (etcd refused for now, or another membership change holds
 * the mutex), 429, 502, 504 and a failed connection are "not yet" (retry);
 * every other status is a final refusal (a bad token, a name in use, a bad
 * request). `message` is the server's own sentence.
 */
export function classifyJoinReply(reply: JoinReply): { outcome: 'admitted' | 'retry' | 'refused'; message: string } {
  if ('error' in reply) return { outcome: 'retry', message: `the cluster did not answer: ${errorMessage(reply.error)}` };
  if (reply.status === 200) return { outcome: 'admitted', message: '' };
  const message = serverMessage(reply.text);
  if ([429, 502, 503, 504].includes(reply.status)) return { outcome: 'retry', message };
  return { outcome: 'refused', message };
}

function call(url: string, opts: { method: 'GET' | 'POST'; ca?: string; body?: unknown }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      url,
      {
        method: opts.method,
        timeout: 60_000,
        // Before pinning there is no trust anchor: the fingerprint check below is the verification.
        ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {},
      },
      (res) => readText(res).then(resolve, reject),
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** fetchPinnedCa downloads the CA from the first reachable address and checks it against the token's fingerprint. */
async function fetchPinnedCa(addresses: string[], fingerprint: string): Promise<{ address: string; caPem: string }> {
  const failures: string[] = [];
  for (const address of addresses) {
    let res: { status: number; text: string };
    try {
      res = await call(`${address}/cloudlet/ca`, { method: 'GET' });
    } catch (err) {
      failures.push(`${address}: ${errorMessage(err)}`);
      continue;
    }
    if (res.status !== 200) {
      failures.push(`${address}: HTTP ${res.status}`);
      continue;
    }
    let actual: string;
    try {
      actual = caFingerprint(res.text);
    } catch {
      failures.push(`${address}: the answer is not a certificate`);
      continue;
    }
    if (!fingerprintMatches(fingerprint, actual)) {
      throw new ValidationError(
        `the cluster CA at ${address} does not match the join token's fingerprint (want ${fingerprint}, got ${actual}): refusing to join`,
      );
    }
    return { address, caPem: res.text };
  }
  throw new UnavailableError(`cannot reach the cluster named in the join token: ${failures.join('; ')}`);
}

function serverMessage(text: string): string {
  return stringFieldOr(text, 'message', 300);
}

/**
 * postJoin asks the cluster to admit this member, retrying while the answer
 * is "not yet" (classifyJoinReply) with backoff inside `timeoutMs`, and tells
 * `onProgress` what it waits for. The token stays valid across retries: the
 * server consumes it only with the admission.
 */
async function postJoin(o: {
  server: string;
  caPem: string;
  body: Record<string, string>;
  timeoutMs?: number;
  onProgress?: (line: string) => void;
}): Promise<JoinResponse> {
  let last = '';
  const text = await retryTransient(
    async () => {
      const reply: JoinReply = await call(`${o.server}/cloudlet/join`, { method: 'POST', ca: o.caPem, body: o.body }).catch(
        (error: unknown) => ({ error }),
      );
      const { outcome, message } = classifyJoinReply(reply);
      if (outcome === 'refused') throw new ValidationError(`the cluster refused the join: ${message}`);
      if (outcome === 'retry') throw new UnavailableError(message, { retryAfterSeconds: retryAfterOf(reply) });
      return (reply as { text: string }).text;
    },
    {
      what: 'join the cluster',
      timeoutMs: o.timeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS,
      backoff: { initialMs: 500, maxMs: 5000 },
      hint: 'check that every member is up and Ready (`cloudlet get members`) and that their etcd members reach each other on the peer port; then run the join again with the same token',
      onRetry: ({ error }) => {
        const line = `waiting for the cluster to accept a new etcd member… (${errorMessage(error)})`;
        if (line !== last) o.onProgress?.(line);
        last = line;
      },
    },
  );
  return JSON.parse(text) as JoinResponse;
}

/** retryAfterOf reads a Status's details.retryAfterSeconds; 1 s when absent. */
function retryAfterOf(reply: JoinReply): number {
  if ('error' in reply) return 1;
  try {
    const parsed = JSON.parse(reply.text) as { details?: { retryAfterSeconds?: unknown } };
    const v = parsed.details?.retryAfterSeconds;
    if (typeof v === 'number' && v > 0 && v <= 30) return v;
  } catch {
    // not a Status: the default
  }
  return 1;
}

/** runJoin joins the cluster named by the token; returns the kubeconfig path. */
export async function runJoin(opts: JoinOptions): Promise<{ kubeconfig: string; identity: ClusterIdentity }> {
  const now = opts.now ?? Date.now;
  const token = decodeJoinToken(opts.token);
  assertNotExpired(token, now());
  const { name, address, host, port } = newMemberOf(opts);
  const existed = await checkFreshDataDir(opts.dataDir);
  const { address: server, caPem } = await fetchPinnedCa(token.addresses, token.caFingerprint);
  try {
    const etcdDir = join(opts.dataDir, 'etcd');
    await mkdir(etcdDir, { recursive: true, mode: 0o700 });
    const { ports } = await choosePorts(etcdDir, address);
    const etcdPeerUrl = httpsUrlOf(address, ports.peer);
    // One attempt id for this run: its retries may get a lost answer again; another run with the same token may not.
    const attempt = randomBytes(16).toString('hex');
    // The member key is made here and stays here: the cluster signs a CSR for it.
    const pki = join(opts.dataDir, 'pki');
    await mkdir(pki, { recursive: true, mode: 0o700 });
    const csr = await makeKeyAndCsr(join(pki, 'member.key'), memberSubject(name).cn);
    const answer = await postJoin({
      server,
      caPem,
      body: { secret: token.secret, member: name, address, etcdPeerUrl, attempt, csr },
      ...opts,
    });
    await writeFile(join(pki, 'ca.crt'), answer.caCert);
    await writeFile(join(pki, 'ca.key'), answer.caKey, { mode: 0o600 });
    await chmod(join(pki, 'ca.key'), 0o600);
    await writeFile(join(pki, 'member.crt'), answer.memberCert);
    const identity: ClusterIdentity = {
      clusterName: answer.clusterName,
      memberName: name,
      createdAt: new Date(now()).toISOString(),
      address,
      etcd: answer.etcd,
    };
    // No admin token travels: this member's kubeconfig carries its own certificate (the cloudlet:member role).
    await writeClusterFiles(opts.dataDir, identity, undefined);
    const kubeconfig = await writeKubeconfig(opts.dataDir, {
      server: clientAddress(host, port),
      token: undefined,
      clusterName: answer.clusterName,
      caPem: await readFile(join(pki, 'ca.crt'), 'utf8'),
    });
    return { kubeconfig, identity };
  } catch (err) {
    await undoDataDir(opts.dataDir, existed);
    throw err;
  }
}
