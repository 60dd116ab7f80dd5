/**
 * Bearer-token authentication of API requests.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { UnauthorizedError } from '../errors.js';

/** TokenVerifier decides whether a bearer token is valid. */
export type TokenVerifier = (token: string) => boolean;

/** tokenListVerifier accepts exactly the given tokens, compared in constant time. */
export function tokenListVerifier(tokens: readonly string[]): TokenVerifier {
  const known = tokens.filter((t) => t.length > 0).map((t) => Buffer.from(t));
  return (token) => {
    const given = Buffer.from(token);
    let ok = false;
    for (const k of known) if (k.length === given.length && timingSafeEqual(k, given)) ok = true;
    return ok;
  };
}

/** authenticate throws UnauthorizedError unless the request carries `Authorization: Bearer <valid token>`. */
export function authenticate(req: IncomingMessage, verify: TokenVerifier): void {
  const header = req.headers.authorization;
  if (!header) throw new UnauthorizedError('Unauthorized: a bearer token is required');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m || !verify(m[1] as string)) throw new UnauthorizedError('Unauthorized: the bearer token is not valid');
}
