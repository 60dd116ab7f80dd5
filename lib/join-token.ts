/**
 * Join tokens as pure functions. A token is `cl1.` + base64url(JSON) of the
 * cluster's API addresses, the SHA-256 fingerprint of the cluster CA (the
 * joiner pins it before trusting anything the server says), a random secret
 * and the expiry. The cluster stores only the secret's hash, bound to a lease
 * of the token's TTL, and consumes it with one atomic delete.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.js';
import { JOIN_TOKEN_KEY_PREFIX } from './store/key-space.js';
export { JOIN_TOKEN_KEY_PREFIX };

/** JoinToken is what a token carries. */
export interface JoinToken {
  /** addresses are API base URLs such as https://10.77.0.11:6443 */
  addresses: string[];
  /** caFingerprint is the SHA-256 of the CA certificate's DER, lowercase hex */
  caFingerprint: string;
  /** secret is 32 random bytes, hex */
  secret: string;
  /** expiresAt is seconds since the epoch */
  expiresAt: number;
}

/** JOIN_TOKEN_PREFIX marks version 1 tokens. */
export const JOIN_TOKEN_PREFIX = 'cl1.';

/** newJoinToken makes a token for `addresses` and the CA fingerprint, valid for `ttlSeconds` from `nowMs`. */
export function newJoinToken(opts: { addresses: string[]; caFingerprint: string; ttlSeconds: number; nowMs: number }): JoinToken {
  return {
    addresses: opts.addresses,
    caFingerprint: opts.caFingerprint,
    secret: randomBytes(32).toString('hex'),
    expiresAt: Math.floor(opts.nowMs / 1000) + opts.ttlSeconds,
  };
}

/** encodeJoinToken renders a token as the printable string users copy. */
export function encodeJoinToken(t: JoinToken): string {
  const body = { a: t.addresses, f: t.caFingerprint, s: t.secret, e: t.expiresAt };
  return JOIN_TOKEN_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url');
}

const BAD = 'the join token is malformed: copy the whole output of `cloudlet token create`';

/** decodeJoinToken parses a printed token; ValidationError when it is not one. */
export function decodeJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  if (!trimmed.startsWith(JOIN_TOKEN_PREFIX)) throw new ValidationError(BAD);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(trimmed.slice(JOIN_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError(BAD);
  }
  if (typeof body !== 'object' || body === null) throw new ValidationError(BAD);
  const b = body as Record<string, unknown>;
  const addresses = b.a;
  if (
    !Array.isArray(addresses) ||
    addresses.length === 0 ||
    !addresses.every((x) => typeof x === 'string' && /^https:\/\/\S+$/.test(x)) ||
    typeof b.f !== 'string' ||
    !/^[0-9a-f]{64}$/.test(b.f) ||
    typeof b.s !== 'string' ||
    !/^[0-9a-f]{64}$/.test(b.s) ||
    typeof b.e !== 'number' ||
    !Number.isInteger(b.e)
  ) {
    throw new ValidationError(BAD);
  }
  return { addresses: addresses as string[], caFingerprint: b.f, secret: b.s, expiresAt: b.e };
}

/** isExpired tells whether `t` has expired at `nowMs`. */
export function isExpired(t: Pick<JoinToken, 'expiresAt'>, nowMs: number): boolean {
  return nowMs >= t.expiresAt * 1000;
}

/** assertNotExpired throws ValidationError naming the expiry when `t` has expired at `nowMs`. */
export function assertNotExpired(t: Pick<JoinToken, 'expiresAt'>, nowMs: number): void {
  if (isExpired(t, nowMs)) {
    throw new ValidationError(
      `the join token expired at ${new Date(t.expiresAt * 1000).toISOString()}: create a new one with \`cloudlet token create\``,
    );
  }
}

/** secretHash is the hex SHA-256 of a token secret: the only form the cluster stores. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** fingerprintMatches compares two hex fingerprints in constant time (case-insensitive). */
export function fingerprintMatches(expected: string, actual: string): boolean {
  const a = Buffer.from(expected.toLowerCase());
  const b = Buffer.from(actual.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

/** parseTtl reads a TTL such as 30m, 1h, 90s or 2d into seconds; ValidationError otherwise. */
export function parseTtl(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86400 } as const;
  if (!m) throw new ValidationError(`--ttl "${text}" is not a duration such as 30m, 1h or 2d`);
  const seconds = Number(m[1]) * unit[m[2] as keyof typeof unit];
  if (seconds < 1 || seconds > 7 * 86400) throw new ValidationError(`--ttl must be between 1s and 7d`);
  return seconds;
}
