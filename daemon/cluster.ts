/**
 * The on-disk identity of a cluster member: its data directory layout, the
 * admin bearer token and the admin kubeconfig.
 *
 *   DIR/cluster.json   cluster name, member name, creation time
 *   DIR/admin-token    bearer token the API accepts (0600)
 *   DIR/kubeconfig     admin kubeconfig for cloudlet and kubectl (0600)
 *   DIR/pki/           cluster CA and the API server certificate
 *   DIR/member.json    member name, lxcpath, data dir (read by `cloudlet exec/logs`)
 *   DIR/etcd/          embedded etcd data
 *   DIR/lxc/           LXC containers of this member
 *   DIR/images/        cached image root filesystems
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ValidationError } from '../lib/errors.js';

/**
 * MemberEtcdConfig says how a member made by `init` or `join` uses etcd:
 * `member` runs an etcd member (TLS for clients and peers on `address`),
 * `client` dials the cluster's etcd members. A joining member starts its etcd
 * with `initialCluster` and state `existing`, as a learner, and dials
 * `endpoints` until it has been promoted to voter.
 */
export interface MemberEtcdConfig {
  mode: 'member' | 'client';
  initialCluster?: string;
  initialClusterState?: 'new' | 'existing';
  endpoints: string[];
}

/** ClusterIdentity is what cluster.json holds; `etcd` is absent for data dirs made by `up` (plain loopback etcd). */
export interface ClusterIdentity {
  clusterName: string;
  memberName: string;
  createdAt: string;
  /** address is where other members reach this one (etcd peers, API) */
  address?: string;
  etcd?: MemberEtcdConfig;
}

/** MemberTlsFiles are the PEM files a member uses for etcd (server and client) and as its identity. */
export interface MemberTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** memberTlsFiles locates DIR/pki/{ca,member}.{crt,key}. */
export function memberTlsFiles(dataDir: string): MemberTlsFiles {
  const pki = join(dataDir, 'pki');
  return { caFile: join(pki, 'ca.crt'), certFile: join(pki, 'member.crt'), keyFile: join(pki, 'member.key') };
}

/** writeClusterFiles writes DIR/cluster.json and, for the member that made the cluster, DIR/admin-token (a joined member gets no admin token). */
export async function writeClusterFiles(dataDir: string, identity: ClusterIdentity, token: string | undefined): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (token !== undefined) await writeAtomic(join(dataDir, 'admin-token'), `${token}\n`, 0o600);
  await writeAtomic(join(dataDir, 'cluster.json'), `${JSON.stringify(identity, null, 2)}\n`, 0o600);
}

/** writeClusterIdentity rewrites DIR/cluster.json alone (atomically), e.g. when an etcd client becomes an etcd member. */
export async function writeClusterIdentity(dataDir: string, identity: ClusterIdentity): Promise<void> {
  await writeAtomic(join(dataDir, 'cluster.json'), `${JSON.stringify(identity, null, 2)}\n`, 0o600);
}

/** MemberFile is what member.json holds. */
export interface MemberFile {
  name: string;
  dataDir: string;
  lxcpath: string;
  apiServer: string;
}

/** MEMBER_NAME_RE: member names are DNS labels (they become host names and interface suffixes). */
export const MEMBER_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

/** defaultMemberName derives a valid member name from the host name. */
export function defaultMemberName(): string {
  const h =
    hostname()
      .toLowerCase()
      .split('.')[0]
      ?.replace(/[^a-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '') ?? '';
  return h && MEMBER_NAME_RE.test(h) ? h : 'member-1';
}

/** ensureClusterIdentity creates DIR's identity and admin token on first run and returns them; later runs read them. */
export async function ensureClusterIdentity(
  dataDir: string,
  memberName?: string,
): Promise<{ identity: ClusterIdentity; token: string | undefined; created: boolean }> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const idPath = join(dataDir, 'cluster.json');
  const tokenPath = join(dataDir, 'admin-token');
  if (existsSync(idPath)) {
    const identity = JSON.parse(await readFile(idPath, 'utf8')) as ClusterIdentity;
    if (memberName && memberName !== identity.memberName) {
      throw new ValidationError(`--member ${memberName} does not match this data dir's member "${identity.memberName}" (${idPath})`);
    }
    // Only the member that made the cluster holds the admin token; a joined member has none.
    const token = existsSync(tokenPath) ? (await readFile(tokenPath, 'utf8')).trim() : undefined;
    return { identity, token, created: false };
  }
  const name = memberName ?? defaultMemberName();
  if (!MEMBER_NAME_RE.test(name)) {
    throw new ValidationError(`member name "${name}" is invalid: use lowercase letters, digits and '-', at most 63 characters`);
  }
  const identity: ClusterIdentity = { clusterName: 'cloudlet', memberName: name, createdAt: new Date().toISOString() };
  const token = randomBytes(32).toString('hex');
  await writeAtomic(tokenPath, `${token}\n`, 0o600);
  await writeAtomic(idPath, `${JSON.stringify(identity, null, 2)}\n`, 0o600);
  return { identity, token, created: true };
}

/** clientAddress turns a listen address into one a client can dial (0.0.0.0 → 127.0.0.1). */
export function clientAddress(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `https://${h}:${port}`;
}

/**
 * writeKubeconfig writes DIR/kubeconfig pointing at `server`: with the admin
 * token on the member that made the cluster; elsewhere with the member's own
 * certificate (user system:member:<name>, the cloudlet:member role).
 */
export async function writeKubeconfig(
  dataDir: string,
  opts: { server: string; token: string | undefined; clusterName: string; caPem: string },
): Promise<string> {
  const path = join(dataDir, 'kubeconfig');
  const cfg = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: opts.clusterName,
        cluster: { server: opts.server, 'certificate-authority-data': Buffer.from(opts.caPem).toString('base64') },
      },
    ],
    users: [
      opts.token !== undefined
        ? { name: 'admin', user: { token: opts.token } }
        : {
            name: 'member',
            user: { 'client-certificate': join(dataDir, 'pki', 'member.crt'), 'client-key': join(dataDir, 'pki', 'member.key') },
          },
    ],
    contexts: [
      {
        name: opts.clusterName,
        context: { cluster: opts.clusterName, user: opts.token !== undefined ? 'admin' : 'member', namespace: 'default' },
      },
    ],
    'current-context': opts.clusterName,
    preferences: {},
  };
  await writeAtomic(path, stringify(cfg), 0o600);
  return path;
}

/** writeMemberFile writes DIR/member.json. */
export async function writeMemberFile(dataDir: string, m: MemberFile): Promise<void> {
  await writeAtomic(join(dataDir, 'member.json'), `${JSON.stringify(m, null, 2)}\n`, 0o644);
}

/** parseListen parses HOST:PORT (IPv6 as [::1]:PORT); throws ValidationError naming --listen. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ValidationError(`--listen "${listen}" is not HOST:PORT (example: 127.0.0.1:6443)`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}
