import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { Authenticator } from '../../../../lib/api/authn.js';
import { Credentials, CredentialCache, normaliseSerial, parseIssuedToken } from '../../../../lib/auth/credentials.js';
import { isCode } from '../../../../lib/errors.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import { AUTH_TOKEN_PREFIX, REVOKED_CERTIFICATE_PREFIX } from '../../../../lib/store/key-space.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import type { RawKV } from '../../../../lib/store/types.js';
import { waitFor } from '../../../helpers/poll.js';

/** countingRaw counts the gets of one key space. */
function countingRaw(raw: RawKV): RawKV & { gets: number } {
  const counted = Object.create(raw) as RawKV & { gets: number };
  counted.gets = 0;
  counted.get = (key: string) => {
    counted.gets++;
    return raw.get(key);
  };
  return counted;
}

function bearer(token: string | undefined): IncomingMessage {
  return { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, socket: {} } as unknown as IncomingMessage;
}

describe('issued credentials (tokens, admin token hash, deny list)', () => {
  let store: MemoryStore;
  let cache: CredentialCache | undefined;
  let now = new Date('2026-12-03T12:00:00Z');
  beforeEach(() => {
    store = new MemoryStore();
    now = new Date('2026-12-03T12:00:00Z');
  });
  afterEach(async () => {
    await cache?.stop();
    cache = undefined;
    await store.close();
  });
  const start = async (raw: RawKV = store.raw): Promise<CredentialCache> => {
    cache = new CredentialCache({ raw, logger: silentLogger(), metrics: createMetrics(), now: () => now });
    await cache.start();
    return cache;
  };

  it('parses only cloudlet-<16 hex>.<43 url-safe> tokens and normalises serials', () => {
    expect(parseIssuedToken(`cloudlet-0123456789abcdef.${'A'.repeat(43)}`)).to.deep.equal({
      id: '0123456789abcdef',
      secret: 'A'.repeat(43),
    });
    for (const t of [
      'cloudlet-0123.x',
      'admin-token',
      `cloudlet-0123456789ABCDEF.${'A'.repeat(43)}`,
      `cloudlet-0123456789abcdef.${'A'.repeat(42)}`,
    ])
      expect(parseIssuedToken(t), t).to.equal(undefined);
    expect(normaliseSerial('00:0A:FF')).to.equal('aff');
    expect(() => normaliseSerial('zz')).to.throw(/not a certificate serial/);
  });

  it('stores only the hash of a secret, accepts the token until it expires, and forgets it once revoked', async () => {
    const creds = new Credentials(store.raw, () => now);
    const { token, record } = await creds.createToken({ user: 'ci', groups: ['builders'], ttlSeconds: 60 });
    const stored = (await store.raw.get(AUTH_TOKEN_PREFIX + record.id))?.value ?? '';
    const secret = parseIssuedToken(token)?.secret ?? '';
    expect(stored).to.not.include(secret);
    const c = await start();
    expect((await c.verifyToken(record.id, secret))?.user).to.equal('ci');
    expect(await c.verifyToken(record.id, 'B'.repeat(43))).to.equal(undefined);
    now = new Date(now.getTime() + 61_000);
    expect(await c.verifyToken(record.id, secret), 'expired').to.equal(undefined);
    now = new Date(now.getTime() - 61_000);
    await creds.revokeToken(record.id);
    await waitFor('the revoked token to be refused', async () =>
      (await c.verifyToken(record.id, secret)) === undefined ? true : undefined,
    );
    const err = await creds.revokeToken(record.id).catch((e: unknown) => e);
    expect(isCode(err, 'NotFound')).to.equal(true);
  });

  it('asks etcd once for a token it does not hold, and answers made-up ids from memory after that', async () => {
    const raw = countingRaw(store.raw);
    const c = await start(raw);
    const id = '0123456789abcdef';
    expect(await c.verifyToken(id, 'A'.repeat(43))).to.equal(undefined);
    expect(await c.verifyToken(id, 'A'.repeat(43))).to.equal(undefined);
    expect(raw.gets).to.equal(1);
    // a token made on another member a moment ago, before the watch brings it: found by that one read
    const made = await new Credentials(store.raw, () => now).createToken({ user: 'late', groups: [] });
    const fresh = parseIssuedToken(made.token);
    expect((await c.verifyToken(made.record.id, fresh?.secret ?? ''))?.user).to.equal('late');
  });

  it('revoking a user denies every certificate serial it was issued', async () => {
    const creds = new Credentials(store.raw, () => now);
    await creds.putUser({
      name: 'bob',
      groups: [],
      createdAt: now.toISOString(),
      certificates: [{ serial: 'abc1', notAfter: '2027-12-03T12:00:00Z' }],
    });
    const c = await start();
    expect(c.isRevoked('abc1')).to.equal(false);
    const record = await creds.revokeUser('bob');
    expect(record.certificates).to.have.length(1);
    expect(await store.raw.get(REVOKED_CERTIFICATE_PREFIX + 'abc1')).to.not.equal(undefined);
    await waitFor('the serial to be denied', async () => (c.isRevoked('abc1') ? true : undefined));
    expect(await creds.user('bob')).to.equal(undefined);
  });

  it('authenticates the admin token held locally or published as a hash, issued tokens, and nothing else', async () => {
    const creds = new Credentials(store.raw, () => now);
    await creds.publishAdminToken('elsewhere-admin-token');
    const { token } = await creds.createToken({ user: 'ci', groups: ['builders'] });
    const authn = new Authenticator({ adminTokens: ['local-admin-token'], credentials: await start() });
    expect(await authn.authenticate(bearer('local-admin-token'))).to.deep.equal({
      name: 'cloudlet-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
    expect((await authn.authenticate(bearer('elsewhere-admin-token'))).groups).to.include('system:masters');
    expect(await authn.authenticate(bearer(token))).to.deep.equal({ name: 'ci', groups: ['builders', 'system:authenticated'] });
    for (const [req, why] of [
      [bearer('nope'), /bearer token is not valid/],
      [bearer(undefined), /a bearer token or a client certificate/],
      [{ headers: { authorization: 'Basic abc' }, socket: {} } as unknown as IncomingMessage, /must be "Bearer <token>"/],
    ] as const) {
      const err = await authn.authenticate(req).catch((e: unknown) => e);
      expect(isCode(err, 'Unauthorized')).to.equal(true);
      expect(String(err)).to.match(why);
    }
  });
});
