/**
 * Authentication of API requests: who is calling. Three ways, in this order:
 *
 * 1. `Authorization: Bearer <admin token>`: the bootstrap admin written at
 *    init (user `cloudlet-admin`, group system:masters), known locally or by
 *    its SHA-256 in etcd (every member accepts it; only one holds it);
 * 2. `Authorization: Bearer cloudlet-<id>.<secret>`: an automation token
 *    (lib/auth/credentials.ts) with its user, groups and expiry;
 * 3. an X.509 client certificate signed by the cluster CA, as kubectl sends
 *    it from `client-certificate-data`: the subject's CN is the user, each O
 *    a group (Kubernetes' convention), unless its serial is on the deny list.
 *
 * Every authenticated caller is also in system:authenticated.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ADMIN_USER, SYSTEM_MASTERS, withAuthenticated, type UserInfo } from '../auth/identity.js';
import { normaliseSerial, parseIssuedToken, type CredentialCache } from '../auth/credentials.js';
import { UnauthorizedError } from '../errors.js';

/** AuthenticatorOptions: the bootstrap admin tokens and, in a daemon, the issued credentials. */
export interface AuthenticatorOptions {
  adminTokens: readonly string[];
  credentials?: CredentialCache;
}

function listOf(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Authenticator turns a request into a UserInfo or throws UnauthorizedError. */
export class Authenticator {
  private readonly admin: Buffer[];
  constructor(private readonly opts: AuthenticatorOptions) {
    this.admin = opts.adminTokens.filter((t) => t.length > 0).map((t) => Buffer.from(t));
  }

  /** authenticate: see the file comment. */
  async authenticate(req: IncomingMessage): Promise<UserInfo> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) throw new UnauthorizedError('Unauthorized: the Authorization header must be "Bearer <token>"');
      const user = await this.bearer(m[1] as string);
      if (!user) throw new UnauthorizedError('Unauthorized: the bearer token is not valid (unknown, revoked or expired)');
      return user;
    }
    const fromCert = this.certificate(req);
    if (fromCert) return fromCert;
    throw new UnauthorizedError('Unauthorized: a bearer token or a client certificate signed by the cluster CA is required');
  }

  private async bearer(token: string): Promise<UserInfo | undefined> {
    const given = Buffer.from(token);
    let admin = false;
    for (const k of this.admin) if (k.length === given.length && timingSafeEqual(k, given)) admin = true;
    if (admin || this.opts.credentials?.isAdminToken(token)) return { name: ADMIN_USER, groups: withAuthenticated([SYSTEM_MASTERS]) };
    const issued = parseIssuedToken(token);
    if (!issued || !this.opts.credentials) return undefined;
    const record = await this.opts.credentials.verifyToken(issued.id, issued.secret);
    return record ? { name: record.user, groups: withAuthenticated(record.groups) } : undefined;
  }

  private certificate(req: IncomingMessage): UserInfo | undefined {
    const socket = req.socket as Partial<TLSSocket>;
    if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
    const cert = socket.getPeerCertificate();
    const cn = listOf(cert.subject?.CN)[0];
    if (!cn) return undefined;
    if (this.opts.credentials?.isRevoked(normaliseSerial(cert.serialNumber))) {
      throw new UnauthorizedError(`Unauthorized: the client certificate of "${cn}" has been revoked`);
    }
    return { name: cn, groups: withAuthenticated(listOf(cert.subject.O)) };
  }
}
