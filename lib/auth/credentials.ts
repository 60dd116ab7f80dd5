/**
 * Credentials Cloudlet issues besides the bootstrap admin token, kept in etcd
 * so every member's API sees the same ones within a watch's delay:
 *
 * - automation tokens (`cloudlet token create`): `cloudlet-<id>.<secret>`;
 *   etcd holds only the SHA-256 of the secret, with the user, groups and
 *   expiry (AUTH_TOKEN_PREFIX). Revoking deletes the record.
 * - users (`cloudlet user create`): a record of the name, groups and the
 *   serials of the client certificates the CA issued to it (AUTH_USER_PREFIX).
 * - a deny list of certificate serials (REVOKED_CERTIFICATE_PREFIX):
 *   `cloudlet user revoke` adds every serial of the user, and each API server
 *   refuses them as soon as its watch delivers the entry (seconds). Entries
 *   can be dropped once the certificate has expired.
 *
 * - the bootstrap admin token's SHA-256 (ADMIN_TOKEN_PREFIX), published by
 *   the member that made the cluster (the only one holding the token), so
 *   the admin can reach the API of any member.
 *
 * CredentialCache follows the token and deny-list prefixes for the
 * authenticator, so a request costs no etcd round trip.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { RawPrefixSource } from '../controller/raw-source.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { ADMIN_TOKEN_PREFIX, AUTH_TOKEN_PREFIX, AUTH_USER_PREFIX, REVOKED_CERTIFICATE_PREFIX } from '../store/key-space.js';
import type { RawEvent, RawKV } from '../store/types.js';

/** TokenRecord is a stored automation token (never the secret itself). */
export interface TokenRecord {
  id: string;
  user: string;
  groups: string[];
  description?: string;
  createdAt: string;
  /** expiresAt: RFC 3339; absent = does not expire */
  expiresAt?: string;
  secretSha256: string;
}

/** IssuedCertificate is one client certificate issued to a user. */
export interface IssuedCertificate {
  serial: string;
  notAfter: string;
}

/** UserRecord is a user made by `cloudlet user create`. */
export interface UserRecord {
  name: string;
  groups: string[];
  createdAt: string;
  certificates: IssuedCertificate[];
  /** bindings: the RoleBinding/ClusterRoleBinding objects made for it (`namespace/name` or `name`), removed on revoke */
  bindings?: string[];
}

/** RevokedCertificate is a deny-list entry. */
export interface RevokedCertificate {
  serial: string;
  user: string;
  revokedAt: string;
  notAfter: string;
}

const TOKEN_RE = /^cloudlet-([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

/** tokenSecretHash is the hex SHA-256 of a token secret. */
export function tokenSecretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** parseIssuedToken splits `cloudlet-<id>.<secret>`; undefined for anything else (the admin token, say). */
export function parseIssuedToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1] as string, secret: m[2] as string } : undefined;
}

/** normaliseSerial gives a certificate serial as lowercase hex without leading zeros or colons. */
export function normaliseSerial(serial: string): string {
  const hex = serial
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
  if (!/^[0-9a-f]+$/.test(hex)) throw new BadRequestError(`"${serial}" is not a certificate serial number`);
  return hex;
}

function parseJsonRecord<T>(value: string): T | undefined {
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

/** Credentials reads and writes the records above. */
export class Credentials {
  constructor(
    private readonly raw: RawKV,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** createToken stores a new token and returns it with the only copy of its secret. */
  async createToken(opts: {
    user: string;
    groups: string[];
    ttlSeconds?: number;
    description?: string;
  }): Promise<{ token: string; record: TokenRecord }> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const record: TokenRecord = {
      id,
      user: opts.user,
      groups: opts.groups,
      createdAt: now.toISOString(),
      secretSha256: tokenSecretHash(secret),
    };
    if (opts.ttlSeconds !== undefined) record.expiresAt = new Date(now.getTime() + opts.ttlSeconds * 1000).toISOString();
    if (opts.description) record.description = opts.description;
    await this.raw.put(AUTH_TOKEN_PREFIX + id, JSON.stringify(record));
    return { token: `cloudlet-${id}.${secret}`, record };
  }

  /** listTokens lists stored tokens (hashes included; callers drop them before showing). */
  async listTokens(): Promise<TokenRecord[]> {
    const { entries } = await this.raw.list(AUTH_TOKEN_PREFIX);
    return entries.map((e) => parseJsonRecord<TokenRecord>(e.value)).filter((r): r is TokenRecord => r !== undefined);
  }

  /** token reads one token record, or undefined. */
  async token(id: string): Promise<TokenRecord | undefined> {
    const e = await this.raw.get(AUTH_TOKEN_PREFIX + id);
    return e ? parseJsonRecord<TokenRecord>(e.value) : undefined;
  }

  /** revokeToken deletes a token; NotFoundError if there is none with that id. */
  async revokeToken(id: string): Promise<void> {
    if (!/^[0-9a-f]{16}$/.test(id))
      throw new BadRequestError(`"${id}" is not a token id (16 hex digits, as \`cloudlet token list\` shows)`);
    if (!(await this.raw.delete(AUTH_TOKEN_PREFIX + id))) throw new NotFoundError(`token "${id}" not found`);
  }

  /** publishAdminToken records the SHA-256 of the bootstrap admin token, so every member accepts it (idempotent). */
  async publishAdminToken(token: string): Promise<void> {
    await this.raw.claim(ADMIN_TOKEN_PREFIX + tokenSecretHash(token), JSON.stringify({ publishedAt: this.now().toISOString() }));
  }

  /** user reads a user record, or undefined. */
  async user(name: string): Promise<UserRecord | undefined> {
    const e = await this.raw.get(AUTH_USER_PREFIX + name);
    return e ? parseJsonRecord<UserRecord>(e.value) : undefined;
  }

  /** listUsers lists user records. */
  async listUsers(): Promise<UserRecord[]> {
    const { entries } = await this.raw.list(AUTH_USER_PREFIX);
    return entries.map((e) => parseJsonRecord<UserRecord>(e.value)).filter((r): r is UserRecord => r !== undefined);
  }

  /** putUser writes a user record. */
  async putUser(record: UserRecord): Promise<void> {
    await this.raw.put(AUTH_USER_PREFIX + record.name, JSON.stringify(record));
  }

  /** revokeUser denies every certificate of the user and deletes its record; returns the record it removed. */
  async revokeUser(name: string): Promise<UserRecord> {
    const record = await this.user(name);
    if (!record) throw new NotFoundError(`user "${name}" not found`);
    const revokedAt = this.now().toISOString();
    for (const c of record.certificates) {
      const entry: RevokedCertificate = { serial: c.serial, user: name, revokedAt, notAfter: c.notAfter };
      await this.raw.put(REVOKED_CERTIFICATE_PREFIX + c.serial, JSON.stringify(entry));
    }
    await this.raw.delete(AUTH_USER_PREFIX + name);
    return record;
  }
}

/** NEGATIVE_TTL_MS: how long an unknown token id is answered from memory before etcd is asked again. */
const NEGATIVE_TTL_MS = 5_000;
/** NEGATIVE_MAX bounds the remembered unknown ids (the memory cannot be grown without limit by made-up tokens). */
const NEGATIVE_MAX = 4096;

/** CredentialCacheOptions wire a cache. */
export interface CredentialCacheOptions {
  raw: RawKV;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
}

/** CredentialCache keeps the token records and the deny list in memory; see the file comment. */
export class CredentialCache {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly revoked = new Set<string>();
  private readonly adminHashes = new Set<string>();
  private readonly missing = new Map<string, number>();
  private readonly sources: RawPrefixSource[];
  private readonly now: () => Date;
  private readonly raw: RawKV;

  constructor(opts: CredentialCacheOptions) {
    this.raw = opts.raw;
    this.now = opts.now ?? (() => new Date());
    const source = (prefix: string, onEvent: (ev: RawEvent) => void): RawPrefixSource =>
      new RawPrefixSource({ raw: opts.raw, prefix, onEvent, logger: opts.logger, metrics: opts.metrics, component: 'credentials' });
    this.sources = [
      source(AUTH_TOKEN_PREFIX, (ev) => {
        const id = ev.key.slice(AUTH_TOKEN_PREFIX.length);
        const record = ev.type === 'PUT' ? parseJsonRecord<TokenRecord>(ev.value) : undefined;
        if (record) this.tokens.set(id, record);
        else this.tokens.delete(id);
      }),
      source(ADMIN_TOKEN_PREFIX, (ev) => {
        const hash = ev.key.slice(ADMIN_TOKEN_PREFIX.length);
        if (ev.type === 'PUT') this.adminHashes.add(hash);
        else this.adminHashes.delete(hash);
      }),
      source(REVOKED_CERTIFICATE_PREFIX, (ev) => {
        const serial = ev.key.slice(REVOKED_CERTIFICATE_PREFIX.length);
        if (ev.type === 'PUT') this.revoked.add(serial);
        else this.revoked.delete(serial);
      }),
    ];
  }

  /** start lists both prefixes once (so the first requests see every credential), then follows them. */
  async start(): Promise<void> {
    const [tokens, revoked, admin] = await Promise.all([
      this.raw.list(AUTH_TOKEN_PREFIX),
      this.raw.list(REVOKED_CERTIFICATE_PREFIX),
      this.raw.list(ADMIN_TOKEN_PREFIX),
    ]);
    for (const e of admin.entries) this.adminHashes.add(e.key.slice(ADMIN_TOKEN_PREFIX.length));
    for (const e of tokens.entries) {
      const record = parseJsonRecord<TokenRecord>(e.value);
      if (record) this.tokens.set(e.key.slice(AUTH_TOKEN_PREFIX.length), record);
    }
    for (const e of revoked.entries) this.revoked.add(e.key.slice(REVOKED_CERTIFICATE_PREFIX.length));
    for (const s of this.sources) s.start();
  }

  /** stop ends the watches. */
  async stop(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.stop()));
  }

  /**
   * verifyToken returns the record of a valid, unexpired issued token, or
   * undefined. A token created on another member moments ago may not be in
   * the cache yet: a miss is looked up in etcd once.
   */
  async verifyToken(id: string, secret: string): Promise<TokenRecord | undefined> {
    const record = this.tokens.get(id) ?? (await this.lookup(id));
    if (!record) return undefined;
    const want = Buffer.from(record.secretSha256, 'hex');
    const got = Buffer.from(tokenSecretHash(secret), 'hex');
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= this.now().getTime()) return undefined;
    return record;
  }

  /**
   * lookup reads a token the cache does not hold yet. An id found missing is
   * remembered for NEGATIVE_TTL_MS (at most NEGATIVE_MAX ids), so requests
   * with made-up tokens cannot turn into one etcd read each.
   */
  private async lookup(id: string): Promise<TokenRecord | undefined> {
    const now = this.now().getTime();
    const missUntil = this.missing.get(id);
    if (missUntil !== undefined && missUntil > now) return undefined;
    const e = await this.raw.get(AUTH_TOKEN_PREFIX + id);
    const record = e ? parseJsonRecord<TokenRecord>(e.value) : undefined;
    if (!record) {
      if (this.missing.size >= NEGATIVE_MAX) this.missing.clear();
      this.missing.set(id, now + NEGATIVE_TTL_MS);
    }
    return record;
  }

  /** isAdminToken tells whether `token` is a bootstrap admin token published in etcd. */
  isAdminToken(token: string): boolean {
    return this.adminHashes.size > 0 && this.adminHashes.has(tokenSecretHash(token));
  }

  /** isRevoked tells whether a certificate serial (normalised) is on the deny list. */
  isRevoked(serial: string): boolean {
    return this.revoked.has(serial);
  }
}
