/**
 * EtcdMembership is etcd's cluster API (member list, add as learner,
 * promote, remove) through the etcd3 client, with errors translated once
 * here. The daemon uses it at join time and the voter controller through the
 * small EtcdMembershipApi shape (controllers never see etcd3).
 */
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { ConflictError, NotFoundError, UnavailableError, errorMessage, CloudletError } from '../errors.js';
import { translateEtcdError } from '../store/etcd-errors.js';

/** EtcdMemberInfo is one etcd cluster member as etcd reports it. */
export interface EtcdMemberInfo {
  /** id is etcd's member id (decimal string) */
  id: string;
  /** name is empty until the member has started */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** EtcdMembershipOptions: endpoints (https://… when tls is given) and PEM files. */
export interface EtcdMembershipOptions {
  endpoints: string[];
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** callTimeoutMs bounds each call (default 5 s) */
  callTimeoutMs?: number;
}

/**
 * translateMembershipError maps an etcd cluster-API error during `op`: an
 * unknown member → NotFoundError; a change etcd cannot take now (a learner
 * not yet in sync — etcd 3.4 says "can only promote a learner member which
 * is in sync with leader" —, a second learner, an unhealthy cluster) →
 * UnavailableError; a peer URL in use or a promote of a voter →
 * ConflictError; anything else as the store translates it.
 */
export function translateMembershipError(err: unknown, op: string): CloudletError {
  const message = errorMessage(err);
  if (/member not found|ID not found/i.test(message)) return new NotFoundError(`etcd ${op}: ${message}`, { cause: err });
  if (/not in sync|in sync with leader|too many learner|unhealthy|re-configuration failed|not started/i.test(message)) {
    return new UnavailableError(`etcd ${op}: ${message}`, { cause: err });
  }
  // etcd 3.4: "Peer URLs already exists", "can only promote a learner member" (checked after "in sync" above).
  if (/peerURL exists|Peer URLs already exists|member not a learner|is not a learner|can only promote a learner member/i.test(message)) {
    return new ConflictError(`etcd ${op}: ${message}`, { cause: err });
  }
  return translateEtcdError(err, op);
}

/** EtcdMembership: see the file comment. close() when done. */
export class EtcdMembership {
  private readonly client: Etcd3;
  private readonly timeout: number;

  constructor(opts: EtcdMembershipOptions) {
    this.timeout = opts.callTimeoutMs ?? 5000;
    this.client = new Etcd3({
      hosts: opts.endpoints.map((e) => e.replace(/^https?:\/\//, '')),
      credentials: opts.tls
        ? {
            rootCertificate: readFileSync(opts.tls.caFile),
            certChain: opts.tls.certFile ? readFileSync(opts.tls.certFile) : undefined,
            privateKey: opts.tls.keyFile ? readFileSync(opts.tls.keyFile) : undefined,
          }
        : undefined,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeout }),
    });
  }

  /** list returns every member, learners included (linearizable). */
  async list(): Promise<EtcdMemberInfo[]> {
    try {
      const res = await this.client.cluster.memberList({ linearizable: true });
      return res.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner ?? false }));
    } catch (err) {
      throw translateMembershipError(err, 'member list');
    }
  }

  /** addLearner adds a non-voting member that will announce `peerUrl`; returns its id and the member list after the add. */
  async addLearner(peerUrl: string): Promise<{ id: string; members: EtcdMemberInfo[] }> {
    try {
      const res = await this.client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true });
      return {
        id: res.member.ID,
        members: res.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner ?? false })),
      };
    } catch (err) {
      throw translateMembershipError(err, 'member add');
    }
  }

  /** promote makes learner `id` a voter; UnavailableError while it is not yet in sync, ConflictError if it is no learner. */
  async promote(id: string): Promise<void> {
    try {
      await this.client.cluster.memberPromote({ ID: id });
    } catch (err) {
      throw translateMembershipError(err, 'member promote');
    }
  }

  /** remove removes member `id`; removing an absent member succeeds. */
  async remove(id: string): Promise<void> {
    try {
      await this.client.cluster.memberRemove({ ID: id });
    } catch (err) {
      const e = translateMembershipError(err, 'member remove');
      if (e.code !== 'NotFound') throw e;
    }
  }

  /** close drops the connections. */
  close(): void {
    this.client.close();
  }
}
