/**
 * JoinService is the cluster side of membership changes, served by every
 * member's API as extra routes:
 *
 *   GET  /cloudlet/ca            the cluster CA certificate (public; joiners pin its fingerprint)
 *   POST /cloudlet/join          a join (public: the token secret is the credential)
 *   POST /cloudlet/join-tokens   create a token (admin bearer token)
 *   POST /cloudlet/members/remove  remove a member (admin bearer token)
 *
 * A join is checked completely (token present and unexpired, name free, etcd
 * ready for a learner) before the token is consumed with one atomic delete,
 * so a refused join changes nothing; a transient refusal is a 503 the joiner
 * retries (join-client.ts). Every etcd membership change here holds the
 * cluster's membership mutex, so concurrent joins and removals go one at a time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExtraRoute } from '../lib/api/server.js';
import { readBody, parseJson } from '../lib/api/body.js';
import { sendJson } from '../lib/api/request.js';
import type { KindInfo } from '../lib/kinds/registry.js';
import type { Member } from '../lib/kinds/types.js';
import type { Logger } from '../lib/log/logger.js';
import type { RawEntry, Store } from '../lib/store/types.js';
import { withMutex } from '../lib/store/mutex.js';
import { memberUserName } from '../lib/auth/identity.js';
import type { EtcdMembership } from '../lib/etcd/membership.js';
import { ETCD_MEMBERSHIP_LOCK_KEY, JOIN_RECORD_PREFIX } from '../lib/store/key-space.js';
import { initialClusterOf } from '../lib/etcd/args.js';
import { caFingerprint, signCsr } from '../lib/pki/pki.js';
import { memberSans, memberSubject } from './init.js';
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  HostCommandError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
  isCode,
} from '../lib/errors.js';
import { HEARTBEAT_PREFIX } from '../controllers/membership/member-agent.js';
import { DEFAULT_VOTERS } from '../controllers/membership/voter-plan.js';
import { ETCD_CANDIDATE_PREFIX, ETCD_LEARNER_PREFIX } from '../controllers/membership/etcd-learners.js';
import { MEMBER_NAME_RE, type MemberEtcdConfig } from './cluster.js';
import { encodeJoinToken, JOIN_TOKEN_KEY_PREFIX, newJoinToken, secretHash } from '../lib/join-token.js';

/** JoinRequest is what a joiner posts. */
export interface JoinRequest {
  secret: string;
  member: string;
  address: string;
  etcdPeerUrl: string;
  /** csr: the joiner's certificate signing request for its member certificate (its key never leaves it) */
  csr: string;
  /** attempt is random per `cloudlet join` run, the same across its retries: a retry is not a reuse */
  attempt?: string;
}

/** MEMBER_CERT_DAYS: how long a member certificate lasts (as the certificates `init` makes). */
const MEMBER_CERT_DAYS = 825;

/** JOIN_RECORD_TTL_SECONDS is how long an admitted join's answer is kept for retries. */
const JOIN_RECORD_TTL_SECONDS = 600;

/** JoinRecord is an admitted join: who, at which peer URL, in which `cloudlet join` run, and the etcd settings it was given. */
interface JoinRecord {
  member: string;
  etcdPeerUrl: string;
  attempt: string | undefined;
  etcd: MemberEtcdConfig;
  memberCert: string;
}

/** JoinResponse is what a joiner receives: everything to start as a member. */
export interface JoinResponse {
  clusterName: string;
  caCert: string;
  /** caKey: every member holds the cluster CA key (docs/security.md says why); the admin token never travels */
  caKey: string;
  /** memberCert: the joiner's member certificate, signed from its CSR (CN system:member:<name>, O cloudlet:members) */
  memberCert: string;
  etcd: MemberEtcdConfig;
}

/** JoinServiceOptions wire the service. */
export interface JoinServiceOptions {
  store: Store;
  memberKind: KindInfo;
  pkiDir: string;
  clusterName: string;
  /** apiServer gives this member's API URL (known once it listens), put into tokens */
  apiServer: () => string;
  /** etcd opens the etcd cluster API (closed after each use); EtcdMembership in the daemon, a fake in unit tests */
  etcd: () => Pick<EtcdMembership, 'list' | 'addLearner' | 'remove' | 'close'>;
  logger: Logger;
  now?: () => number;
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = parseJson(await readBody(req, 64 * 1024));
  if (typeof body !== 'object' || body === null) throw new BadRequestError('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw new BadRequestError(`"${key}" must be a non-empty string`);
  return v;
}

/** JoinService: see the file comment. */
export class JoinService {
  private readonly o: JoinServiceOptions;
  private readonly now: () => number;

  constructor(opts: JoinServiceOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
  }

  /** routes are the extra API routes to pass to ApiServer. */
  routes(): ExtraRoute[] {
    return [
      { method: 'GET', path: '/cloudlet/ca', public: true, handle: async (_req, res) => this.sendCa(res) },
      {
        method: 'POST',
        path: '/cloudlet/join',
        public: true,
        handle: async (req, res) => sendJson(res, 200, await this.join(await jsonBody(req))),
      },
      {
        method: 'POST',
        path: '/cloudlet/join-tokens',
        public: false,
        attributes: { verb: 'create', apiGroup: 'cloudlet.dev', resource: 'jointokens' },
        handle: async (req, res) => {
          const ttl = (await jsonBody(req)).ttlSeconds;
          if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)
            throw new BadRequestError('"ttlSeconds" must be a positive integer');
          sendJson(res, 200, { token: await this.createToken(ttl) });
        },
      },
      {
        method: 'GET',
        path: '/cloudlet/join-tokens',
        public: false,
        attributes: { verb: 'list', apiGroup: 'cloudlet.dev', resource: 'jointokens' },
        handle: async (_req, res) => sendJson(res, 200, { items: await this.listTokens() }),
      },
      {
        method: 'POST',
        path: '/cloudlet/join-tokens/revoke',
        public: false,
        attributes: { verb: 'delete', apiGroup: 'cloudlet.dev', resource: 'jointokens' },
        handle: async (req, res) => sendJson(res, 200, await this.revokeToken(str(await jsonBody(req), 'id'))),
      },
      {
        method: 'POST',
        path: '/cloudlet/members/remove',
        public: false,
        // `cloudlet leave` on a joined member runs with that member's own certificate: a member may remove itself
        authorizesItself: true,
        handle: async (req, res, user, authorize) => {
          const member = str(await jsonBody(req), 'member');
          if (user?.name !== memberUserName(member))
            authorize({ verb: 'delete', apiGroup: 'cloudlet.dev', resource: 'members', name: member });
          sendJson(res, 200, await this.removeMember(member));
        },
      },
    ];
  }

  private async sendCa(res: ServerResponse): Promise<void> {
    const pem = await readFile(join(this.o.pkiDir, 'ca.crt'), 'utf8');
    res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
    res.end(pem);
  }

  /** createToken stores a new token's hash under a lease of `ttlSeconds` and returns the printable token. */
  async createToken(ttlSeconds: number): Promise<string> {
    const caPem = await readFile(join(this.o.pkiDir, 'ca.crt'), 'utf8');
    const token = newJoinToken({ addresses: [this.o.apiServer()], caFingerprint: caFingerprint(caPem), ttlSeconds, nowMs: this.now() });
    const lease = await this.o.store.grantLease(ttlSeconds);
    await this.o.store.raw.put(JOIN_TOKEN_KEY_PREFIX + secretHash(token.secret), JSON.stringify({ expiresAt: token.expiresAt }), { lease });
    return encodeJoinToken(token);
  }

  /** listTokens lists the live join tokens: an id (the first 16 hex digits of the secret's hash) and the expiry; never a secret. */
  async listTokens(): Promise<Array<{ id: string; expiresAt: string }>> {
    const { entries } = await this.o.store.raw.list(JOIN_TOKEN_KEY_PREFIX);
    return entries.map((e) => {
      const { expiresAt } = JSON.parse(e.value) as { expiresAt: number };
      return {
        id: e.key.slice(JOIN_TOKEN_KEY_PREFIX.length, JOIN_TOKEN_KEY_PREFIX.length + 16),
        expiresAt: new Date(expiresAt * 1000).toISOString(),
      };
    });
  }

  /** revokeToken deletes the live join token whose id is `id`; NotFoundError when there is none. */
  async revokeToken(id: string): Promise<{ id: string; revoked: true }> {
    if (!/^[0-9a-f]{16}$/.test(id))
      throw new BadRequestError(`"${id}" is not a join token id (16 hex digits, as \`cloudlet token list\` shows)`);
    const { entries } = await this.o.store.raw.list(JOIN_TOKEN_KEY_PREFIX + id);
    if (entries.length === 0) throw new NotFoundError(`join token "${id}" not found (expired, used or never issued)`);
    for (const e of entries) await this.o.store.raw.delete(e.key);
    return { id, revoked: true };
  }

  /**
   * join admits a joiner. The request and token are checked first (401, 409
   * and 400 are final); then, holding the etcd membership mutex, one attempt:
   * list etcd, add the joiner as a learner while voters are short, record the
   * answer and consume the token. etcd's transient refusals (a learner still
   * joining, "unhealthy cluster" right after a promotion, no leader…) and a
   * busy mutex come back as UnavailableError (503 with retryAfterSeconds):
   * the token is kept and the joiner retries. A retry of a join that was
   * admitted but whose answer was lost gets the recorded answer again.
   */
  async join(body: Record<string, unknown>): Promise<JoinResponse> {
    const req: JoinRequest = {
      secret: str(body, 'secret'),
      member: str(body, 'member'),
      address: str(body, 'address'),
      etcdPeerUrl: str(body, 'etcdPeerUrl'),
      csr: str(body, 'csr'),
    };
    if (body.attempt !== undefined) {
      if (typeof body.attempt !== 'string' || !/^[0-9a-f]{16,64}$/.test(body.attempt))
        throw new BadRequestError('"attempt" must be 16 to 64 lowercase hex digits');
      req.attempt = body.attempt;
    }
    if (!MEMBER_NAME_RE.test(req.member)) throw new BadRequestError(`member name "${req.member}" is invalid`);
    if (!isIP(req.address)) throw new BadRequestError(`address "${req.address}" is not an IP address`);
    if (!/^https:\/\/\S+:\d+$/.test(req.etcdPeerUrl))
      throw new BadRequestError(`etcdPeerUrl "${req.etcdPeerUrl}" is not https://HOST:PORT`);
    const hash = secretHash(req.secret);
    const admitted = await this.recordedAnswer(hash, req);
    if (admitted) return admitted;
    await this.liveToken(hash);
    try {
      const existing = await this.o.store.get<Member>(this.o.memberKind, req.member);
      if (existing.status?.phase !== 'Left')
        throw new AlreadyExistsError(`a member named "${req.member}" already exists: choose another --member name`);
    } catch (err) {
      if (!isCode(err, 'NotFound')) throw err;
    }
    const memberCert = await this.signMember(req);
    return withMutex(
      { store: this.o.store, key: ETCD_MEMBERSHIP_LOCK_KEY, holder: `the join of ${req.member}`, waitMs: 10_000, logger: this.o.logger },
      () => this.admit(req, hash, memberCert),
    );
  }

  /** signMember issues the joiner's member certificate from its CSR: the subject, addresses and usage are the cluster's to set. */
  private async signMember(req: JoinRequest): Promise<string> {
    if (!req.csr.includes('-----BEGIN CERTIFICATE REQUEST-----'))
      throw new BadRequestError('"csr" must be a PEM certificate signing request');
    try {
      const cert = await signCsr(this.o.pkiDir, req.csr, {
        ...memberSubject(req.member),
        sans: memberSans(req.member, req.address),
        usage: 'peer',
        days: MEMBER_CERT_DAYS,
      });
      return cert.pem;
    } catch (err) {
      if (err instanceof HostCommandError) throw new BadRequestError(`the member CSR cannot be signed: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** usedToken is the one 401 for a token the cluster does not hold (never issued, expired, or used). */
  private usedToken(): UnauthorizedError {
    return new UnauthorizedError('the join token is unknown, expired or already used: create a new one with `cloudlet token create`');
  }

  /** liveToken returns the stored token entry, or throws the final 401 that says why there is none. */
  private async liveToken(hash: string): Promise<RawEntry> {
    const entry = await this.o.store.raw.get(JOIN_TOKEN_KEY_PREFIX + hash);
    if (!entry) throw this.usedToken();
    const { expiresAt } = JSON.parse(entry.value) as { expiresAt: number };
    if (this.now() >= expiresAt * 1000)
      throw new UnauthorizedError(`the join token expired at ${new Date(expiresAt * 1000).toISOString()}`);
    return entry;
  }

  /** recordedAnswer is the answer of an earlier admission of this same joiner with this token, if one is recorded. */
  private async recordedAnswer(hash: string, req: JoinRequest): Promise<JoinResponse | undefined> {
    const record = await this.o.store.raw.get(JOIN_RECORD_PREFIX + hash);
    if (!record) return undefined;
    const r = JSON.parse(record.value) as JoinRecord;
    // Only a retry of the same `cloudlet join` run gets the answer again; anything else is a reuse of the token.
    if (r.attempt === undefined || r.attempt !== req.attempt || r.member !== req.member || r.etcdPeerUrl !== req.etcdPeerUrl)
      throw this.usedToken();
    this.o.logger.info('join retried after its answer was lost: answering again', { member: req.member });
    return this.answer(r.etcd, r.memberCert);
  }

  /** admit is one attempt under the membership mutex (see join). */
  private async admit(req: JoinRequest, hash: string, memberCert: string): Promise<JoinResponse> {
    // Another join may have used the token while this one waited for the mutex.
    const entry = await this.liveToken(hash);
    const etcd = this.o.etcd();
    try {
      const members = await etcd.list();
      if (members.some((m) => m.name === req.member || m.peerUrls.includes(req.etcdPeerUrl))) {
        throw new AlreadyExistsError(`etcd already has a member named "${req.member}" or at ${req.etcdPeerUrl}`);
      }
      if (members.some((m) => m.isLearner)) {
        throw new UnavailableError(
          'another member is still joining etcd: waiting for it to become a voter (etcd takes one learner at a time)',
          { retryAfterSeconds: 1 },
        );
      }
      const voters = members.filter((m) => !m.isLearner);
      const endpoints = voters.flatMap((m) => m.clientUrls);
      if (voters.length >= DEFAULT_VOTERS) {
        const config: MemberEtcdConfig = { mode: 'client', endpoints };
        await this.consume(entry, hash, req, config, memberCert);
        return this.answer(config, memberCert);
      }
      const added = await etcd.addLearner(req.etcdPeerUrl);
      const config: MemberEtcdConfig = {
        mode: 'member',
        initialCluster: initialClusterOf(added.members, added.id, req.member),
        initialClusterState: 'existing',
        endpoints,
      };
      try {
        await this.consume(entry, hash, req, config, memberCert);
      } catch (err) {
        // A learner nobody will start would block every later add: take it out again.
        await etcd.remove(added.id);
        throw err;
      }
      this.o.logger.info('member joins etcd as a learner', { member: req.member, peerUrl: req.etcdPeerUrl });
      return this.answer(config, memberCert);
    } finally {
      etcd.close();
    }
  }

  /** consume records the admission (for a retried request) and deletes the token; 401 if the token went meanwhile. */
  private async consume(entry: RawEntry, hash: string, req: JoinRequest, etcd: MemberEtcdConfig, memberCert: string): Promise<void> {
    const record: JoinRecord = { member: req.member, etcdPeerUrl: req.etcdPeerUrl, attempt: req.attempt, etcd, memberCert };
    const lease = await this.o.store.grantLease(JOIN_RECORD_TTL_SECONDS);
    await this.o.store.raw.put(JOIN_RECORD_PREFIX + hash, JSON.stringify(record), { lease });
    if (!(await this.o.store.raw.delete(entry.key, { ifValue: entry.value }))) {
      await lease.revoke();
      throw this.usedToken();
    }
  }

  private async answer(etcd: MemberEtcdConfig, memberCert: string): Promise<JoinResponse> {
    return {
      clusterName: this.o.clusterName,
      caCert: await readFile(join(this.o.pkiDir, 'ca.crt'), 'utf8'),
      caKey: await readFile(join(this.o.pkiDir, 'ca.key'), 'utf8'),
      memberCert,
      etcd,
    };
  }

  /** removeEtcdMember removes `name`'s etcd member if it has one; true when it did. */
  private async removeEtcdMember(name: string): Promise<boolean> {
    const etcd = this.o.etcd();
    try {
      const members = await etcd.list();
      const target = members.find((m) => m.name === name);
      if (!target) return false;
      const voters = members.filter((m) => !m.isLearner);
      if (!target.isLearner && voters.length <= 1)
        throw new ConflictError(`"${name}" is the last etcd voter: it cannot leave its own cluster`);
      await etcd.remove(target.id);
      return true;
    } finally {
      etcd.close();
    }
  }

  /** removeMember marks the Member Left, removes its etcd member and heartbeat, then deletes the Member. */
  async removeMember(name: string): Promise<{ removed: string; etcdMemberRemoved: boolean }> {
    const member = await this.o.store.get<Member>(this.o.memberKind, name);
    // etcd refuses a removal that would leave too few connected voters ("unhealthy cluster", e.g. right after a
    // promotion): that is a 503 the CLI retries; nothing below runs before etcd has let the member go.
    const etcdMemberRemoved = await withMutex(
      { store: this.o.store, key: ETCD_MEMBERSHIP_LOCK_KEY, holder: `the removal of ${name}`, waitMs: 10_000, logger: this.o.logger },
      () => this.removeEtcdMember(name),
    );
    try {
      await this.o.store.update<Member>(
        this.o.memberKind,
        { ...member, status: { ...member.status, phase: 'Left', etcdRole: 'none' } },
        { subresource: 'status' },
      );
    } catch (err) {
      if (!isCode(err, 'Conflict') && !isCode(err, 'NotFound')) throw err;
    }
    await this.o.store.raw.delete(HEARTBEAT_PREFIX + name);
    // A removed member is no candidate for etcd any more, and its pending learner (removed above) needs no hand-over.
    await this.o.store.raw.delete(ETCD_CANDIDATE_PREFIX + name);
    await this.o.store.raw.delete(ETCD_LEARNER_PREFIX + name);
    try {
      await this.o.store.delete(this.o.memberKind, name, undefined);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    this.o.logger.info('member removed', { member: name, etcdMemberRemoved });
    return { removed: name, etcdMemberRemoved };
  }
}
