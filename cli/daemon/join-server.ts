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
 * so a refused join changes nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExtraRoute } from '../../lib/api/server.js';
import { readBody, parseJson } from '../../lib/api/body.js';
import { sendJson } from '../../lib/api/request.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Store } from '../../lib/store/types.js';
import type { EtcdMembership, EtcdMemberInfo } from '../../lib/etcd/membership.js';
import { initialClusterOf } from '../../lib/etcd/args.js';
import { caFingerprint } from '../../lib/pki/pki.js';
import { AlreadyExistsError, BadRequestError, ConflictError, NotFoundError, UnauthorizedError, UnavailableError, isCode } from '../../lib/errors.js';
import { HEARTBEAT_PREFIX } from '../../controllers/membership/member-agent.js';
import { DEFAULT_VOTERS } from '../../controllers/membership/voter-plan.js';
import { ETCD_CANDIDATE_PREFIX, ETCD_LEARNER_PREFIX } from '../../controllers/membership/etcd-learners.js';
import { MEMBER_NAME_RE, type MemberEtcdConfig } from './cluster.js';
import { encodeJoinToken, JOIN_TOKEN_KEY_PREFIX, newJoinToken, secretHash } from './join-token.js';

/** JoinRequest is what a joiner posts. */
export interface JoinRequest {
  secret: string;
  member: string;
  address: string;
  etcdPeerUrl: string;
}

/** JoinResponse is what a joiner receives: everything to start as a member. */
export interface JoinResponse {
  clusterName: string;
  caCert: string;
  caKey: string;
  adminToken: string;
  etcd: MemberEtcdConfig;
}

/** JoinServiceOptions wire the service. */
export interface JoinServiceOptions {
  store: Store;
  memberKind: KindInfo;
  pkiDir: string;
  adminToken: string;
  clusterName: string;
  /** apiServer gives this member's API URL (known once it listens), put into tokens */
  apiServer: () => string;
  /** etcd opens the etcd cluster API (closed after each use) */
  etcd: () => EtcdMembership;
  logger: Logger;
  now?: () => number;
  /** learnerWaitMs bounds the wait for a pending learner's promotion (default 20 s) */
  learnerWaitMs?: number;
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
      { method: 'POST', path: '/cloudlet/join', public: true, handle: async (req, res) => sendJson(res, 200, await this.join(await jsonBody(req))) },
      {
        method: 'POST',
        path: '/cloudlet/join-tokens',
        public: false,
        handle: async (req, res) => {
          const ttl = (await jsonBody(req)).ttlSeconds;
          if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1) throw new BadRequestError('"ttlSeconds" must be a positive integer');
          sendJson(res, 200, { token: await this.createToken(ttl) });
        },
      },
      {
        method: 'POST',
        path: '/cloudlet/members/remove',
        public: false,
        handle: async (req, res) => sendJson(res, 200, await this.removeMember(str(await jsonBody(req), 'member'))),
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

  /** join checks a join request completely, consumes the token, adds the joiner to etcd if voters are short, and answers. */
  async join(body: Record<string, unknown>): Promise<JoinResponse> {
    const req: JoinRequest = { secret: str(body, 'secret'), member: str(body, 'member'), address: str(body, 'address'), etcdPeerUrl: str(body, 'etcdPeerUrl') };
    if (!MEMBER_NAME_RE.test(req.member)) throw new BadRequestError(`member name "${req.member}" is invalid`);
    if (!isIP(req.address)) throw new BadRequestError(`address "${req.address}" is not an IP address`);
    if (!/^https:\/\/\S+:\d+$/.test(req.etcdPeerUrl)) throw new BadRequestError(`etcdPeerUrl "${req.etcdPeerUrl}" is not https://HOST:PORT`);
    const key = JOIN_TOKEN_KEY_PREFIX + secretHash(req.secret);
    const entry = await this.o.store.raw.get(key);
    if (!entry) throw new UnauthorizedError('the join token is unknown, expired or already used: create a new one with `cloudlet token create`');
    const { expiresAt } = JSON.parse(entry.value) as { expiresAt: number };
    if (this.now() >= expiresAt * 1000) throw new UnauthorizedError(`the join token expired at ${new Date(expiresAt * 1000).toISOString()}`);
    try {
      const existing = await this.o.store.get<Member>(this.o.memberKind, req.member);
      if (existing.status?.phase !== 'Left') throw new AlreadyExistsError(`a member named "${req.member}" already exists: choose another --member name`);
    } catch (err) {
      if (!isCode(err, 'NotFound')) throw err;
    }
    const etcd = this.o.etcd();
    try {
      const members = await this.waitNoLearner(etcd);
      if (members.some((m) => m.name === req.member || m.peerUrls.includes(req.etcdPeerUrl))) {
        throw new AlreadyExistsError(`etcd already has a member named "${req.member}" or at ${req.etcdPeerUrl}`);
      }
      const voters = members.filter((m) => !m.isLearner);
      const endpoints = voters.flatMap((m) => m.clientUrls);
      if (!(await this.o.store.raw.delete(key, { ifValue: entry.value }))) {
        throw new UnauthorizedError('the join token was already used: create a new one with `cloudlet token create`');
      }
      if (voters.length >= DEFAULT_VOTERS) return this.answer({ mode: 'client', endpoints });
      const added = await etcd.addLearner(req.etcdPeerUrl);
      const initialCluster = initialClusterOf(added.members, added.id, req.member);
      this.o.logger.info('member joins etcd as a learner', { member: req.member, peerUrl: req.etcdPeerUrl });
      return this.answer({ mode: 'member', initialCluster, initialClusterState: 'existing', endpoints });
    } finally {
      etcd.close();
    }
  }

  /** waitNoLearner waits for a pending learner's promotion: etcd accepts one learner at a time. */
  private async waitNoLearner(etcd: EtcdMembership): Promise<EtcdMemberInfo[]> {
    const deadline = this.now() + (this.o.learnerWaitMs ?? 20_000);
    for (;;) {
      const members = await etcd.list();
      if (!members.some((m) => m.isLearner)) return members;
      if (this.now() > deadline) throw new UnavailableError('another member is still joining etcd; retry the join in a few seconds');
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async answer(etcd: MemberEtcdConfig): Promise<JoinResponse> {
    return {
      clusterName: this.o.clusterName,
      caCert: await readFile(join(this.o.pkiDir, 'ca.crt'), 'utf8'),
      caKey: await readFile(join(this.o.pkiDir, 'ca.key'), 'utf8'),
      adminToken: this.o.adminToken,
      etcd,
    };
  }

  /** removeMember marks the Member Left, removes its etcd member and heartbeat, then deletes the Member. */
  async removeMember(name: string): Promise<{ removed: string; etcdMemberRemoved: boolean }> {
    const member = await this.o.store.get<Member>(this.o.memberKind, name);
    const etcd = this.o.etcd();
    let etcdMemberRemoved = false;
    try {
      const members = await etcd.list();
      const target = members.find((m) => m.name === name);
      if (target) {
        const voters = members.filter((m) => !m.isLearner);
        if (!target.isLearner && voters.length <= 1) throw new ConflictError(`"${name}" is the last etcd voter: it cannot leave its own cluster`);
        await etcd.remove(target.id);
        etcdMemberRemoved = true;
      }
    } finally {
      etcd.close();
    }
    try {
      await this.o.store.update<Member>(this.o.memberKind, { ...member, status: { ...member.status, phase: 'Left', etcdRole: 'none' } }, { subresource: 'status' });
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
