/**
 * EtcdMembership is etcd's cluster API (member list, add as learner,
 * promote, remove) through the etcd3 client, with errors translated once
 * here. The daemon uses it at join time and the voter controller through the
 * small EtcdMembershipApi shape (controllers never see etcd3).
 */
import { Etcd3 } from 'etcd3';
import { ConflictError, NotFoundError, UnavailableError, errorMessage, CloudletError } from '../errors.js';
import { translateEtcdError } from '../store/etcd-errors.js';
import { etcdCredentials, type EtcdTlsOptions } from '../store/etcd-backend.js';

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
  tls?: EtcdTlsOptions;
  /** callTimeoutMs bounds each call (default 5 s) */
  callTimeoutMs?: number;
}

/**
 * MembershipRefusal is how one etcd cluster-API error is understood:
 * `transient` refusals clear by themselves (retry with backoff) and say what
 * they are waiting for; the others are final.
 */
export interface MembershipRefusal {
  code: 'NotFound' | 'Conflict' | 'Unavailable' | 'Other';
  /** waitingFor: for a transient refusal, what etcd waits for, as a phrase for progress lines */
  waitingFor?: string;
}

/**
 * MEMBERSHIP_REFUSALS is the table of etcd 3.4's cluster-API refusals, in
 * match order. The transient ones: etcd's strict reconfiguration check
 * ("unhealthy cluster": every voter must have been connected for 5 s, so a
 * change right after another one is refused), one learner at a time, no
 * leader or a leader change, a learner not yet in sync, a reconfiguration
 * that would leave too few started members, a cluster version not yet
 * decided, timeouts and an unreachable endpoint.
 */
export const MEMBERSHIP_REFUSALS: ReadonlyArray<{ pattern: RegExp } & MembershipRefusal> = [
  { pattern: /member not found|ID not found/i, code: 'NotFound' },
  { pattern: /not in sync|in sync with leader/i, code: 'Unavailable', waitingFor: 'the new etcd member to catch up with the leader' },
  {
    pattern: /unhealthy cluster|unhealthy/i,
    code: 'Unavailable',
    waitingFor: 'every etcd member to be connected to the others for a few seconds (etcd refuses a change right after another)',
  },
  {
    pattern: /too many learner/i,
    code: 'Unavailable',
    waitingFor: 'another member to finish joining etcd (etcd takes one learner at a time)',
  },
  {
    pattern: /not enough started members|re-configuration failed/i,
    code: 'Unavailable',
    waitingFor: 'enough etcd members to be started for a quorum after the change',
  },
  { pattern: /no leader|leader changed|leader failure|not leader/i, code: 'Unavailable', waitingFor: 'etcd to elect a leader' },
  { pattern: /not capable|cluster version/i, code: 'Unavailable', waitingFor: 'etcd to agree on the cluster version' },
  { pattern: /not started/i, code: 'Unavailable', waitingFor: 'the etcd member to start' },
  { pattern: /timed out|DEADLINE_EXCEEDED|deadline/i, code: 'Unavailable', waitingFor: 'etcd to answer in time' },
  // etcd 3.4: "Peer URLs already exists", "can only promote a learner member" (after "in sync" above).
  {
    pattern:
      /peerURL exists|Peer URLs already exists|member ID already exist|member not a learner|is not a learner|can only promote a learner member/i,
    code: 'Conflict',
  },
  {
    pattern: /ECONNREFUSED|ECONNRESET|No connection established|UNAVAILABLE|ClientClosed|circuit/i,
    code: 'Unavailable',
    waitingFor: 'an etcd endpoint to answer',
  },
];

/** classifyMembershipRefusal looks an etcd cluster-API error message up in MEMBERSHIP_REFUSALS; 'Other' when none matches. */
export function classifyMembershipRefusal(message: string): MembershipRefusal {
  const hit = MEMBERSHIP_REFUSALS.find((r) => r.pattern.test(message));
  return hit ? { code: hit.code, ...(hit.waitingFor ? { waitingFor: hit.waitingFor } : {}) } : { code: 'Other' };
}

/**
 * translateMembershipError maps an etcd cluster-API error during `op` by
 * classifyMembershipRefusal: an unknown member → NotFoundError; a transient
 * refusal → UnavailableError whose message says what etcd waits for (with a
 * suggested retry of 1 s); a peer URL in use or a promote of a voter →
 * ConflictError; anything else as the store translates it.
 */
export function translateMembershipError(err: unknown, op: string): CloudletError {
  if (err instanceof CloudletError) return err;
  const message = errorMessage(err);
  const refusal = classifyMembershipRefusal(message);
  switch (refusal.code) {
    case 'NotFound':
      return new NotFoundError(`etcd ${op}: ${message}`, { cause: err });
    case 'Conflict':
      return new ConflictError(`etcd ${op}: ${message}`, { cause: err });
    case 'Unavailable':
      return new UnavailableError(`etcd ${op}: ${message}; waiting for ${refusal.waitingFor ?? 'etcd'}`, {
        cause: err,
        retryAfterSeconds: 1,
      });
    case 'Other':
      return translateEtcdError(err, op);
  }
}

/** memberInfo maps etcd's wire member to EtcdMemberInfo. */
function memberInfo(m: { ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner?: boolean }): EtcdMemberInfo {
  return { id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner ?? false };
}

/** EtcdMembership: see the file comment. close() when done. */
export class EtcdMembership {
  private readonly client: Etcd3;
  private readonly timeout: number;

  constructor(opts: EtcdMembershipOptions) {
    this.timeout = opts.callTimeoutMs ?? 5000;
    this.client = new Etcd3({
      hosts: opts.endpoints.map((e) => e.replace(/^https?:\/\//, '')),
      credentials: etcdCredentials(opts.tls),
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeout }),
    });
  }

  /** list returns every member, learners included (linearizable). */
  async list(): Promise<EtcdMemberInfo[]> {
    try {
      const res = await this.client.cluster.memberList({ linearizable: true });
      return res.members.map(memberInfo);
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
        members: res.members.map(memberInfo),
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
