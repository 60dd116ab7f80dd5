/**
 * AccessService: the API routes behind `cloudlet user` and `cloudlet token`
 * (the automation tokens; join tokens are the JoinService's). Every route is
 * authorized by RBAC on a Cloudlet resource of its own, so only subjects
 * allowed to manage users or tokens (cluster-admin by default) reach them:
 *
 *   POST /cloudlet/users              create users.cloudlet.dev: sign the caller's CSR, record the user, bind its role
 *   GET  /cloudlet/users              list users.cloudlet.dev
 *   POST /cloudlet/users/revoke       delete users.cloudlet.dev: deny its certificates, remove its bindings
 *   POST /cloudlet/api-tokens         create apitokens.cloudlet.dev (the secret is shown once)
 *   GET  /cloudlet/api-tokens         list apitokens.cloudlet.dev (never a secret or hash)
 *   POST /cloudlet/api-tokens/revoke  delete apitokens.cloudlet.dev
 *
 * The private key of a user is made where `cloudlet user create` runs; only
 * its CSR travels. The subject is set by the CA (lib/pki signClientCsr), so a
 * request cannot claim another name or a system group.
 */
import type { IncomingMessage } from 'node:http';
import type { UserInfo } from '../lib/auth/identity.js';
import { Credentials } from '../lib/auth/credentials.js';
import { parseJson, readBody } from '../lib/api/body.js';
import { sendJson } from '../lib/api/request.js';
import type { ExtraRoute } from '../lib/api/server.js';
import { AlreadyExistsError, BadRequestError, HostCommandError, NotFoundError, isCode } from '../lib/errors.js';
import { CLUSTER_ROLE_BINDING_KIND, CLUSTER_ROLE_KIND, NAMESPACE_KIND, RBAC_GROUP, ROLE_BINDING_KIND } from '../lib/kinds/builtin.js';
import type { Logger } from '../lib/log/logger.js';
import { newNamespace } from '../lib/kinds/namespaces.js';
import { signClientCsr } from '../lib/pki/pki.js';
import type { KubeObject, Store } from '../lib/store/types.js';

/** USER_CERT_DAYS: client certificates last a year; revocation is by deny list, effective in seconds. */
export const USER_CERT_DAYS = 365;

const NAME_RE = /^[a-z0-9]([a-z0-9.@_-]{0,61}[a-z0-9])?$/;
const NS_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RESERVED_USERS are CNs of certificates the cluster issues itself (members, the API server) or its admin token. */
const RESERVED_USERS = new Set(['member', 'apiserver', 'cloudlet-admin']);

/** AccessServiceOptions wire the service. */
export interface AccessServiceOptions {
  store: Store;
  pkiDir: string;
  logger: Logger;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const b = parseJson(await readBody(req, 64 * 1024));
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new BadRequestError('the request body must be a JSON object');
  return b as Record<string, unknown>;
}

function optString(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new BadRequestError(`"${key}" must be a string`);
  return v;
}

/** checkUserName refuses names a certificate or token must not carry. */
export function checkUserName(name: string): void {
  if (!NAME_RE.test(name))
    throw new BadRequestError(
      `user name "${name}" is invalid: lowercase letters, digits and . @ _ -, starting and ending alphanumeric, at most 63`,
    );
  if (RESERVED_USERS.has(name)) throw new BadRequestError(`user name "${name}" is reserved for the cluster's own identities`);
}

/** checkGroups refuses group names that would grant what only the cluster may grant (system:*, cloudlet:*). */
export function checkGroups(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((g) => typeof g !== 'string')) throw new BadRequestError('"groups" must be a list of strings');
  for (const g of v as string[]) {
    if (g.startsWith('system:') || g.startsWith('cloudlet:'))
      throw new BadRequestError(`group "${g}" is reserved: bind a role instead (--role cluster-admin grants everything)`);
    if (!NAME_RE.test(g)) throw new BadRequestError(`group name "${g}" is invalid`);
  }
  return [...new Set(v as string[])];
}

/** AccessService: see the file comment. */
export class AccessService {
  private readonly credentials: Credentials;

  constructor(private readonly o: AccessServiceOptions) {
    this.credentials = new Credentials(o.store.raw);
  }

  /** routes are the extra API routes to pass to ApiServer. */
  routes(): ExtraRoute[] {
    // Every access route is a cloudlet.dev resource verb that RBAC decides on.
    const route = (
      method: ExtraRoute['method'],
      path: string,
      verb: string,
      resource: string,
      handle: ExtraRoute['handle'],
    ): ExtraRoute => ({
      method,
      path,
      public: false,
      attributes: { verb, apiGroup: 'cloudlet.dev', resource },
      handle,
    });
    return [
      route('POST', '/cloudlet/users', 'create', 'users', async (req, res, by) =>
        sendJson(res, 201, await this.createUser(await body(req), by)),
      ),
      route('GET', '/cloudlet/users', 'list', 'users', async (_req, res) => sendJson(res, 200, { items: await this.listUsers() })),
      route('POST', '/cloudlet/users/revoke', 'delete', 'users', async (req, res) =>
        sendJson(res, 200, await this.revokeUser(await body(req))),
      ),
      route('POST', '/cloudlet/api-tokens', 'create', 'apitokens', async (req, res) =>
        sendJson(res, 201, await this.createToken(await body(req))),
      ),
      route('GET', '/cloudlet/api-tokens', 'list', 'apitokens', async (_req, res) =>
        sendJson(res, 200, { items: await this.listTokens() }),
      ),
      route('POST', '/cloudlet/api-tokens/revoke', 'delete', 'apitokens', async (req, res) =>
        sendJson(res, 200, await this.revokeToken(await body(req))),
      ),
    ];
  }

  /** createUser signs the CSR for a new user and binds its role; AlreadyExists if the user exists. */
  async createUser(b: Record<string, unknown>, by: UserInfo | undefined): Promise<Record<string, unknown>> {
    const name = optString(b, 'name') ?? '';
    checkUserName(name);
    const groups = checkGroups(b.groups);
    const csr = optString(b, 'csr');
    if (!csr || !csr.includes('-----BEGIN CERTIFICATE REQUEST-----'))
      throw new BadRequestError('"csr" must be a PEM certificate signing request');
    const binding = await this.checkBinding(b);
    if (await this.credentials.user(name))
      throw new AlreadyExistsError(`user "${name}" already exists: revoke it first, or choose another name`);
    let cert;
    try {
      cert = await signClientCsr(this.o.pkiDir, csr, { user: name, groups, days: USER_CERT_DAYS });
    } catch (err) {
      if (err instanceof HostCommandError) throw new BadRequestError(`the CSR cannot be signed: ${err.message}`, { cause: err });
      throw err;
    }
    const bindings = binding ? [await this.bind('User', name, binding, `cloudlet-user-${name}`)] : [];
    await this.credentials.putUser({
      name,
      groups,
      createdAt: new Date().toISOString(),
      certificates: [{ serial: cert.serial, notAfter: cert.notAfter }],
      bindings,
    });
    this.o.logger.info('user created', { user: name, groups, bindings, by: by?.name });
    return { name, groups, certificate: cert.pem, serial: cert.serial, notAfter: cert.notAfter, bindings };
  }

  private async listUsers(): Promise<Array<Record<string, unknown>>> {
    return (await this.credentials.listUsers()).map((u) => ({
      name: u.name,
      groups: u.groups,
      createdAt: u.createdAt,
      bindings: u.bindings ?? [],
      certificates: u.certificates,
    }));
  }

  private async revokeUser(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const name = optString(b, 'name') ?? '';
    const record = await this.credentials.revokeUser(name);
    await this.unbind(record.bindings ?? []);
    this.o.logger.info('user revoked', { user: name, certificates: record.certificates.length });
    return { name, revokedCertificates: record.certificates.map((c) => c.serial), removedBindings: record.bindings ?? [] };
  }

  private async createToken(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = optString(b, 'user') ?? '';
    checkUserName(user);
    const groups = checkGroups(b.groups);
    const ttl = b.ttlSeconds;
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1))
      throw new BadRequestError('"ttlSeconds" must be a positive integer');
    const binding = await this.checkBinding(b);
    const description = optString(b, 'description');
    const { token, record } = await this.credentials.createToken({
      user,
      groups,
      ...(ttl !== undefined ? { ttlSeconds: ttl as number } : {}),
      ...(description ? { description } : {}),
    });
    const bindings = binding ? [await this.bind('User', user, binding, `cloudlet-token-${record.id}`)] : [];
    return { token, id: record.id, user, groups, expiresAt: record.expiresAt ?? null, bindings };
  }

  private async listTokens(): Promise<Array<Record<string, unknown>>> {
    return (await this.credentials.listTokens()).map((t) => ({
      id: t.id,
      user: t.user,
      groups: t.groups,
      createdAt: t.createdAt,
      expiresAt: t.expiresAt ?? null,
      description: t.description ?? '',
    }));
  }

  private async revokeToken(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = optString(b, 'id') ?? '';
    await this.credentials.revokeToken(id);
    await this.unbind(await this.bindingsNamed(`cloudlet-token-${id}`));
    return { id, revoked: true };
  }

  /** checkBinding reads `role` and `namespace`: the ClusterRole must exist; the namespace is made if missing. */
  private async checkBinding(b: Record<string, unknown>): Promise<{ role: string; namespace?: string } | undefined> {
    const role = optString(b, 'role');
    const namespace = optString(b, 'namespace');
    if (!role) {
      if (namespace) throw new BadRequestError('"namespace" needs a "role" to bind in it (edit, view, admin or another ClusterRole)');
      return undefined;
    }
    try {
      await this.o.store.get(CLUSTER_ROLE_KIND, role);
    } catch (err) {
      if (isCode(err, 'NotFound'))
        throw new BadRequestError(`ClusterRole "${role}" does not exist (the defaults: cluster-admin, admin, edit, view)`);
      throw err;
    }
    if (namespace === undefined) return { role };
    if (!NS_RE.test(namespace)) throw new BadRequestError(`namespace "${namespace}" is not a valid name`);
    return { role, namespace };
  }

  /** bind makes a RoleBinding (with a namespace) or ClusterRoleBinding naming the subject; returns `namespace/name` or `name`. */
  private async bind(kind: 'User', subject: string, b: { role: string; namespace?: string }, name: string): Promise<string> {
    const obj: KubeObject = {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: b.namespace ? 'RoleBinding' : 'ClusterRoleBinding',
      metadata: { name, ...(b.namespace ? { namespace: b.namespace } : {}), labels: { 'cloudlet.dev/managed-by': 'cloudlet-access' } },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: b.role },
      subjects: [{ kind, apiGroup: RBAC_GROUP, name: subject }],
    };
    if (b.namespace) await this.ensureNamespace(b.namespace);
    try {
      await this.o.store.create(b.namespace ? ROLE_BINDING_KIND : CLUSTER_ROLE_BINDING_KIND, obj);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const kind = b.namespace ? ROLE_BINDING_KIND : CLUSTER_ROLE_BINDING_KIND;
      const current = await this.o.store.get(kind, name, b.namespace);
      await this.o.store.update(kind, { ...current, roleRef: obj.roleRef, subjects: obj.subjects });
    }
    return b.namespace ? `${b.namespace}/${name}` : name;
  }

  private async ensureNamespace(name: string): Promise<void> {
    try {
      await this.o.store.create(NAMESPACE_KIND, newNamespace(name));
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }

  private async bindingsNamed(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const b of (await this.o.store.list(ROLE_BINDING_KIND)).items)
      if (b.metadata.name === name) out.push(`${b.metadata.namespace}/${name}`);
    for (const b of (await this.o.store.list(CLUSTER_ROLE_BINDING_KIND)).items) if (b.metadata.name === name) out.push(name);
    return out;
  }

  private async unbind(refs: string[]): Promise<void> {
    for (const ref of refs) {
      const [a, b] = ref.split('/') as [string, string | undefined];
      try {
        if (b !== undefined) await this.o.store.delete(ROLE_BINDING_KIND, b, a);
        else await this.o.store.delete(CLUSTER_ROLE_BINDING_KIND, a, undefined);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  }
}
