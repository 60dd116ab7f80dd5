/**
 * `cloudlet init`: make a one-member cluster in a fresh data dir — the
 * cluster CA, the member certificate (etcd client and peer TLS), the admin
 * token, cluster.json and the admin kubeconfig. `cloudlet daemon` then runs it.
 * Nothing is left behind when a step fails.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ensureCa, ensureCertificate } from '../lib/pki/pki.js';
import { ValidationError } from '../lib/errors.js';
import { CLOUDLET_MEMBERS, memberUserName } from '../lib/auth/identity.js';
import {
  clientAddress,
  defaultMemberName,
  MEMBER_NAME_RE,
  parseListen,
  writeClusterFiles,
  writeKubeconfig,
  type ClusterIdentity,
} from './cluster.js';

/** InitOptions: where, the API listen address, and optionally the member's name and address. */
export interface InitOptions {
  dataDir: string;
  listen: string;
  memberName?: string;
  /** address other members reach this one at (default: the listen host, or 127.0.0.1) */
  address?: string;
}

/** memberAddressOf picks the member address from --address or the listen host; ValidationError if it is no IP. */
export function memberAddressOf(listen: string, address?: string): string {
  const { host } = parseListen(listen);
  const chosen = address ?? (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host);
  if (!isIP(chosen)) throw new ValidationError(`--address "${chosen}" is not an IP address`);
  return chosen;
}

/** checkFreshDataDir refuses a data dir that already holds a member; returns its entries (undefined when it does not exist). */
export async function checkFreshDataDir(dataDir: string): Promise<string[] | undefined> {
  if (existsSync(join(dataDir, 'cluster.json')))
    throw new ValidationError(`${dataDir} already holds a cluster member: run it with \`cloudlet daemon --data-dir ${dataDir}\``);
  return existsSync(dataDir) ? readdir(dataDir) : undefined;
}

/** undoDataDir removes what init/join made: the dir if it did not exist before, else the entries that were not there. */
export async function undoDataDir(dataDir: string, before: string[] | undefined): Promise<void> {
  if (!before) {
    await rm(dataDir, { recursive: true, force: true });
    return;
  }
  for (const entry of await readdir(dataDir).catch(() => [] as string[])) {
    if (!before.includes(entry)) await rm(join(dataDir, entry), { recursive: true, force: true });
  }
}

/** memberSubject is the subject of a member's certificate: the API reads it as user system:member:<name> in group cloudlet:members. */
export function memberSubject(name: string): { cn: string; o: string[] } {
  return { cn: memberUserName(name), o: [CLOUDLET_MEMBERS] };
}

/** memberSans are the names the member certificate covers. */
export function memberSans(name: string, address: string): string[] {
  return [address, '127.0.0.1', 'localhost', name];
}

/**
 * newMemberOf settles a new member's name (--member-name or the default),
 * its address (memberAddressOf) and the API listen host and port;
 * ValidationError for an invalid name or address.
 */
export function newMemberOf(opts: { listen: string; memberName?: string; address?: string }): {
  name: string;
  address: string;
  host: string;
  port: number;
} {
  const name = opts.memberName ?? defaultMemberName();
  if (!MEMBER_NAME_RE.test(name))
    throw new ValidationError(`member name "${name}" is invalid: use lowercase letters, digits and '-', at most 63 characters`);
  const address = memberAddressOf(opts.listen, opts.address);
  const { host, port } = parseListen(opts.listen);
  return { name, address, host, port };
}

/** runInit makes the cluster; returns the kubeconfig path. */
export async function runInit(opts: InitOptions): Promise<{ kubeconfig: string; identity: ClusterIdentity }> {
  const { name, address, host, port } = newMemberOf(opts);
  const existed = await checkFreshDataDir(opts.dataDir);
  try {
    const pki = join(opts.dataDir, 'pki');
    await ensureCa(pki);
    await ensureCertificate(pki, { name: 'member', sans: memberSans(name, address), usage: 'peer', subject: memberSubject(name) });
    const identity: ClusterIdentity = {
      clusterName: 'cloudlet',
      memberName: name,
      createdAt: new Date().toISOString(),
      address,
      etcd: { mode: 'member', initialClusterState: 'new', endpoints: [] },
    };
    const token = randomBytes(32).toString('hex');
    await writeClusterFiles(opts.dataDir, identity, token);
    const caPem = await readFile(join(pki, 'ca.crt'), 'utf8');
    const kubeconfig = await writeKubeconfig(opts.dataDir, {
      server: clientAddress(host, port),
      token,
      clusterName: identity.clusterName,
      caPem,
    });
    return { kubeconfig, identity };
  } catch (err) {
    await undoDataDir(opts.dataDir, existed);
    throw err;
  }
}
