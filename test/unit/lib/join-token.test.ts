import { expect } from 'chai';
import {
  assertNotExpired,
  decodeJoinToken,
  encodeJoinToken,
  fingerprintMatches,
  isExpired,
  newJoinToken,
  parseTtl,
  secretHash,
} from '../../../lib/join-token.js';

const FP = 'ab'.repeat(32);
const NOW = Date.UTC(2025, 0, 1);

describe('join tokens', () => {
  const token = newJoinToken({ addresses: ['https://10.77.0.11:6443'], caFingerprint: FP, ttlSeconds: 3600, nowMs: NOW });

  it('round-trips through the printed form', () => {
    const text = encodeJoinToken(token);
    expect(text.startsWith('cl1.')).to.equal(true);
    expect(decodeJoinToken(`  ${text}\n`)).to.deep.equal(token);
  });

  it('makes a fresh 32-byte secret every time', () => {
    const other = newJoinToken({ addresses: ['https://a:1'], caFingerprint: FP, ttlSeconds: 1, nowMs: NOW });
    expect(other.secret).to.match(/^[0-9a-f]{64}$/);
    expect(other.secret).not.to.equal(token.secret);
  });

  const malformed: Array<[string, string]> = [
    ['an empty string', ''],
    ['a missing prefix', Buffer.from('{}').toString('base64url')],
    ['bad base64 JSON', 'cl1.!!!!'],
    ['a JSON array', `cl1.${Buffer.from('[]').toString('base64url')}`],
    ['no addresses', `cl1.${Buffer.from(JSON.stringify({ a: [], f: FP, s: FP, e: 1 })).toString('base64url')}`],
    ['a plain-http address', `cl1.${Buffer.from(JSON.stringify({ a: ['http://x:1'], f: FP, s: FP, e: 1 })).toString('base64url')}`],
    ['a short fingerprint', `cl1.${Buffer.from(JSON.stringify({ a: ['https://x:1'], f: 'ab', s: FP, e: 1 })).toString('base64url')}`],
    ['a non-integer expiry', `cl1.${Buffer.from(JSON.stringify({ a: ['https://x:1'], f: FP, s: FP, e: 1.5 })).toString('base64url')}`],
  ];
  for (const [what, text] of malformed) {
    it(`rejects a token with ${what} as malformed`, () => {
      expect(() => decodeJoinToken(text)).to.throw(/join token is malformed/);
    });
  }

  it('counts a token as expired from its expiry second on', () => {
    expect(isExpired(token, NOW + 3599_000)).to.equal(false);
    expect(isExpired(token, NOW + 3600_000)).to.equal(true);
    expect(() => assertNotExpired(token, NOW + 3600_000)).to.throw(/expired at 2025-01-01T01:00:00.000Z/);
  });

  it('stores only a hash of the secret', () => {
    expect(secretHash(token.secret)).to.match(/^[0-9a-f]{64}$/);
    expect(secretHash(token.secret)).not.to.equal(token.secret);
    expect(secretHash(token.secret)).to.equal(secretHash(token.secret));
  });

  it('compares fingerprints ignoring case and rejects others', () => {
    expect(fingerprintMatches(FP, FP.toUpperCase())).to.equal(true);
    expect(fingerprintMatches(FP, 'cd'.repeat(32))).to.equal(false);
    expect(fingerprintMatches(FP, 'ab')).to.equal(false);
  });

  const ttls: Array<[string, number | RegExp]> = [
    ['90s', 90],
    ['30m', 1800],
    ['1h', 3600],
    ['2d', 172800],
    ['1w', /not a duration/],
    ['0s', /between/],
    ['8d', /between/],
  ];
  for (const [text, want] of ttls) {
    it(`reads --ttl ${text}`, () => {
      if (typeof want === 'number') expect(parseTtl(text)).to.equal(want);
      else expect(() => parseTtl(text)).to.throw(want);
    });
  }
});
