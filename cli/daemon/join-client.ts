/**
 * `cloudlet join TOKEN`: the joiner's side. It trusts nothing before the
 * cluster CA it downloads matches the fingerprint in the token (pinning);
 * every later call verifies the server against that CA. On success the data
 * dir holds the CA, a member certificate, the admin token, cluster.json
 * (with the etcd settings the cluster chose) and a kubeconfig; `cloudlet
 * daemon` then runs the member. On any failure the data dir is left as it was.
 */
import { request } from 'node:https';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { choosePorts } from '../../lib/etcd/ports.js';
import { httpsUrlOf } from '../../lib/etcd/args.js';
import { caFingerprint, ensureCertificate } from '../../lib/pki/pki.js';
import { UnavailableError, ValidationError, errorMessage } from '../../lib/errors.js';
import { clientAddress, defaultMemberName, MEMBER_NAME_RE, parseListen, writeClusterFiles, writeKubeconfig, type ClusterIdentity } from './cluster.js';
import { checkFreshDataDir, memberAddressOf, memberSans, undoDataDir } from './init.js';
import { assertNotExpired, decodeJoinToken, fingerprintMatches } from './join-token.js';
import type { JoinResponse } from './join-server.js';

/** JoinOptions: the token, where, the API listen address, optionally the member's name and address. */
export interface JoinOptions {
  token: string;
  dataDir: string;
  listen: string;
  memberName?: string;
  address?: string;
  now?: () => number;
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
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
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
      throw new ValidationError(`the cluster CA at ${address} does not match the join token's fingerprint (want ${fingerprint}, got ${actual}): refusing to join`);
    }
    return { address, caPem: res.text };
  }
  throw new UnavailableError(`cannot reach the cluster named in the join token: ${failures.join('; ')}`);
}

function serverMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: show the text
  }
  return text.slice(0, 300);
}

/** runJoin joins the cluster named by the token; returns the kubeconfig path. */
export async function runJoin(opts: JoinOptions): Promise<{ kubeconfig: string; identity: ClusterIdentity }> {
  const now = opts.now ?? Date.now;
  const token = decodeJoinToken(opts.token);
  assertNotExpired(token, now());
  const name = opts.memberName ?? defaultMemberName();
  if (!MEMBER_NAME_RE.test(name)) throw new ValidationError(`member name "${name}" is invalid: use lowercase letters, digits and '-', at most 63 characters`);
  const address = memberAddressOf(opts.listen, opts.address);
  const { host, port } = parseListen(opts.listen);
  const existed = await checkFreshDataDir(opts.dataDir);
  const { address: server, caPem } = await fetchPinnedCa(token.addresses, token.caFingerprint);
  try {
    const etcdDir = join(opts.dataDir, 'etcd');
    await mkdir(etcdDir, { recursive: true, mode: 0o700 });
    const { ports } = await choosePorts(etcdDir, address);
    const etcdPeerUrl = httpsUrlOf(address, ports.peer);
    const res = await call(`${server}/cloudlet/join`, { method: 'POST', ca: caPem, body: { secret: token.secret, member: name, address, etcdPeerUrl } });
    if (res.status !== 200) throw new ValidationError(`the cluster refused the join: ${serverMessage(res.text)}`);
    const answer = JSON.parse(res.text) as JoinResponse;
    const pki = join(opts.dataDir, 'pki');
    await mkdir(pki, { recursive: true, mode: 0o700 });
    await writeFile(join(pki, 'ca.crt'), answer.caCert);
    await writeFile(join(pki, 'ca.key'), answer.caKey, { mode: 0o600 });
    await chmod(join(pki, 'ca.key'), 0o600);
    await ensureCertificate(pki, { name: 'member', sans: memberSans(name, address), usage: 'peer' });
    const identity: ClusterIdentity = { clusterName: answer.clusterName, memberName: name, createdAt: new Date(now()).toISOString(), address, etcd: answer.etcd };
    await writeClusterFiles(opts.dataDir, identity, answer.adminToken);
    const kubeconfig = await writeKubeconfig(opts.dataDir, {
      server: clientAddress(host, port),
      token: answer.adminToken,
      clusterName: answer.clusterName,
      caPem: await readFile(join(pki, 'ca.crt'), 'utf8'),
    });
    return { kubeconfig, identity };
  } catch (err) {
    await undoDataDir(opts.dataDir, existed);
    throw err;
  }
}
