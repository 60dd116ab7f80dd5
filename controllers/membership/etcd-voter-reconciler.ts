/**
 * EtcdVoterReconciler is the leader-only controller that keeps etcd's voter
 * set on plan (planVoters) and each Member's status.etcdRole true to etcd. It
 * reconciles one key (ETCD_VOTERS_KEY) on member changes and every few
 * seconds, applies at most one membership change per pass (etcd commits them
 * one at a time) and re-plans from fresh data on the next pass.
 *
 * Adding a learner (etcd-learners.ts has the keys): the chosen member's
 * daemon has published the peer URL its etcd would announce. The reconciler
 * adds that URL to etcd as a learner and, in the same pass, writes the
 * assignment the member's daemon starts its etcd from (it then promotes
 * itself, as a joining learner does). Until that etcd starts, etcd lists the
 * learner without a name; the reconciler maps it to its member by the
 * assignment's id or the published peer URL. A learner of such a member that
 * is no voter `learnerTimeoutMs` after this reconciler first saw it is
 * stalled, and the plan removes it (a later pass may add it again). An
 * assignment is deleted once its member is a voter or its learner is gone,
 * and rewritten if the learner exists without one (a leader that died
 * between the add and the write). Events: EtcdLearnerAdded,
 * EtcdLearnerWanted, EtcdLearnerRemoved, EtcdLearnerTimedOut,
 * EtcdVoterPromoted, EtcdVoterRemoved.
 */
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import { realClock, type Clock } from '../../lib/controller/clock.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import { initialClusterOf } from '../../lib/etcd/args.js';
import { ETCD_MEMBERSHIP_LOCK_KEY } from '../../lib/store/key-space.js';
import { withMutex } from '../../lib/store/mutex.js';
import { isCode } from '../../lib/errors.js';
import { planVoters, type VoterAction, type VoterMember, type VoterRole } from './voter-plan.js';
import {
  ETCD_CANDIDATE_PREFIX,
  ETCD_LEARNER_PREFIX,
  parseAssignment,
  parseCandidate,
  type EtcdLearnerAssignment,
} from './etcd-learners.js';

/** ETCD_VOTERS_KEY is the one request this controller reconciles. */
export const ETCD_VOTERS_KEY = { name: 'etcd-voters' };

/** DEFAULT_LEARNER_TIMEOUT_MS is how long a learner this controller added may take to become a voter. */
export const DEFAULT_LEARNER_TIMEOUT_MS = 120_000;

/** EtcdMemberEntry is one etcd member as the cluster API lists it; `name` is empty until it has started. */
export interface EtcdMemberEntry {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** EtcdMembershipApi is the part of etcd's cluster API the controller needs (lib/etcd/membership.ts implements it). */
export interface EtcdMembershipApi {
  list(): Promise<EtcdMemberEntry[]>;
  /** addLearner adds a learner announcing `peerUrl`; its id and the member list after the add */
  addLearner(peerUrl: string): Promise<{ id: string; members: EtcdMemberEntry[] }>;
  promote(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** EtcdVoterReconcilerOptions wire the reconciler. */
export interface EtcdVoterReconcilerOptions {
  store: Store;
  memberKind: KindInfo;
  members: Informer<Member>;
  etcd: EtcdMembershipApi;
  events: EventRecorder;
  /** periodMs between passes (default 5 s) */
  periodMs?: number;
  /** target voters (default 3) */
  target?: number;
  /** learnerTimeoutMs: a learner this controller added that is no voter after this long is removed (default 120 s) */
  learnerTimeoutMs?: number;
  clock?: Clock;
}

function stateOf(m: Member): VoterMember['state'] {
  const phase = m.status?.phase;
  if (phase === 'NotReady') return 'NotReady';
  if (phase === 'Ready' || phase === 'Evacuating' || phase === 'Evacuated') return 'Ready';
  return 'Joining';
}

function votersOf(members: EtcdMemberEntry[]): string[] {
  return members.filter((m) => !m.isLearner).flatMap((m) => m.clientUrls);
}

/** View is one pass's picture: etcd members mapped to Cloudlet members, and the hand-over keys. */
interface View {
  etcdMembers: EtcdMemberEntry[];
  byMember: Map<string, EtcdMemberEntry>;
  otherLearners: number;
  candidates: Map<string, string>;
  assignments: Map<string, { assignment: EtcdLearnerAssignment | undefined; value: string }>;
}

/** EtcdVoterReconciler: see the file comment. */
export class EtcdVoterReconciler implements Reconciler {
  private readonly o: EtcdVoterReconcilerOptions;
  private readonly clock: Clock;
  /** firstSeen: etcd id of a learner of ours → when this reconciler first saw it */
  private readonly firstSeen = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(opts: EtcdVoterReconcilerOptions) {
    this.o = opts;
    this.clock = opts.clock ?? realClock;
  }

  async reconcile(_req: Request, _ctx: ReconcileContext): Promise<Result> {
    const period = { requeueAfter: this.o.periodMs ?? 5000 };
    const members = this.o.members.list((m) => m.status?.phase !== 'Left');
    const view = await this.view(new Set(members.map((m) => m.metadata.name)));
    const roleOf = (name: string): VoterRole => {
      const e = view.byMember.get(name);
      return e ? (e.isLearner ? 'learner' : 'voter') : 'none';
    };
    let conflicts = false;
    for (const m of members) {
      if (m.status?.etcdRole !== roleOf(m.metadata.name))
        conflicts = (await this.writeRole(m.metadata.name, roleOf(m.metadata.name))) || conflicts;
    }
    await this.tidyAssignments(view);
    const now = this.clock.now();
    const ours = (name: string): boolean => view.candidates.has(name) || view.assignments.has(name);
    const stalled = (name: string): boolean => {
      const e = view.byMember.get(name);
      return (
        e !== undefined &&
        e.isLearner &&
        ours(name) &&
        now - (this.firstSeen.get(e.id) ?? now) >= (this.o.learnerTimeoutMs ?? DEFAULT_LEARNER_TIMEOUT_MS)
      );
    };
    const plan = planVoters({
      members: members.map((m) => ({
        name: m.metadata.name,
        state: stateOf(m),
        role: roleOf(m.metadata.name),
        ...(m.spec?.failureDomain ? { failureDomain: m.spec.failureDomain } : {}),
        canHostEtcd: (m.spec?.roles ?? ['control-plane']).includes('control-plane'),
        ...(stalled(m.metadata.name) ? { stalled: true } : {}),
      })),
      ...(this.o.target ? { target: this.o.target } : {}),
      otherLearners: view.otherLearners,
    });
    const action = plan[0];
    if (action && (await this.applyExclusive(action, view, stalled(action.member)))) return { requeueAfter: 200 };
    return conflicts ? { requeueAfter: 100 } : period;
  }

  /** view lists etcd and the hand-over keys and maps every etcd member it can to a Member in `names`. */
  private async view(names: Set<string>): Promise<View> {
    const etcdMembers = await this.o.etcd.list();
    const candidates = new Map<string, string>();
    for (const e of (await this.o.store.raw.list(ETCD_CANDIDATE_PREFIX)).entries) {
      const c = parseCandidate(e.value);
      if (c) candidates.set(e.key.slice(ETCD_CANDIDATE_PREFIX.length), c.peerUrl);
    }
    const assignments: View['assignments'] = new Map();
    for (const e of (await this.o.store.raw.list(ETCD_LEARNER_PREFIX)).entries) {
      assignments.set(e.key.slice(ETCD_LEARNER_PREFIX.length), { assignment: parseAssignment(e.value), value: e.value });
    }
    const byMember = new Map<string, EtcdMemberEntry>();
    let otherLearners = 0;
    for (const e of etcdMembers) {
      const name =
        e.name ||
        [...assignments.values()].find((a) => a.assignment?.id === e.id)?.assignment?.member ||
        [...candidates.entries()].find(([, url]) => e.peerUrls.includes(url))?.[0];
      if (name !== undefined && names.has(name)) byMember.set(name, e);
      else if (e.isLearner) otherLearners++;
    }
    const now = this.clock.now();
    for (const id of [...this.firstSeen.keys()]) if (!etcdMembers.some((e) => e.id === id && e.isLearner)) this.firstSeen.delete(id);
    for (const [name, e] of byMember) {
      if (e.isLearner && (candidates.has(name) || assignments.has(name)) && !this.firstSeen.has(e.id)) this.firstSeen.set(e.id, now);
    }
    return { etcdMembers, byMember, otherLearners, candidates, assignments };
  }

  /** tidyAssignments deletes assignments whose learner is gone or promoted, and writes a missing one for a learner of ours. */
  private async tidyAssignments(view: View): Promise<void> {
    for (const [name, { assignment, value }] of view.assignments) {
      const e = view.byMember.get(name);
      if (!e || !e.isLearner || e.id !== assignment?.id) {
        await this.o.store.raw.delete(ETCD_LEARNER_PREFIX + name, { ifValue: value });
        view.assignments.delete(name);
      }
    }
    for (const [name, e] of view.byMember) {
      const peerUrl = view.candidates.get(name);
      if (!e.isLearner || e.name !== '' || peerUrl === undefined || view.assignments.has(name)) continue;
      const assignment = this.assignmentFor(name, e.id, peerUrl, view.etcdMembers);
      await this.o.store.raw.put(ETCD_LEARNER_PREFIX + name, JSON.stringify(assignment));
      view.assignments.set(name, { assignment, value: JSON.stringify(assignment) });
    }
  }

  private assignmentFor(member: string, id: string, peerUrl: string, etcdMembers: EtcdMemberEntry[]): EtcdLearnerAssignment {
    return { member, id, peerUrl, initialCluster: initialClusterOf(etcdMembers, id, member), endpoints: votersOf(etcdMembers) };
  }

  /**
   * applyExclusive applies one action holding the cluster's etcd membership
   * mutex, so it never interleaves with a join or a member removal. A busy
   * mutex is "not now": false, and the next pass (at most a period away)
   * re-plans from fresh data.
   */
  private async applyExclusive(action: VoterAction, view: View, stalled: boolean): Promise<boolean> {
    try {
      return await withMutex(
        {
          store: this.o.store,
          key: ETCD_MEMBERSHIP_LOCK_KEY,
          holder: `the etcd voter controller (${action.type} ${action.member})`,
          waitMs: 2000,
          clock: this.clock,
        },
        () => this.apply(action, view, stalled),
      );
    } catch (err) {
      if (isCode(err, 'Unavailable')) return false;
      throw err;
    }
  }

  /** apply performs one action; true when etcd changed. */
  private async apply(action: VoterAction, view: View, stalled: boolean): Promise<boolean> {
    const member = this.o.members.get({ name: action.member });
    if (action.type === 'addLearner') return this.addLearner(action, view, member);
    const id = view.byMember.get(action.member)?.id;
    if (id === undefined) return false;
    try {
      if (action.type === 'promote') await this.o.etcd.promote(id);
      else await this.o.etcd.remove(id);
    } catch (err) {
      // A learner not yet in sync, or already promoted by its own daemon: the next pass re-plans.
      if (isCode(err, 'Unavailable') || isCode(err, 'Conflict')) return false;
      throw err;
    }
    if (action.type === 'removeLearner') {
      this.firstSeen.delete(id);
      const pending = view.assignments.get(action.member);
      if (pending) await this.o.store.raw.delete(ETCD_LEARNER_PREFIX + action.member, { ifValue: pending.value });
    }
    if (member) {
      if (action.type === 'removeLearner' && stalled)
        void this.o.events.warning(member, 'EtcdLearnerTimedOut', `${action.reason}; removed it from etcd`);
      else {
        const reason =
          action.type === 'promote' ? 'EtcdVoterPromoted' : action.type === 'removeVoter' ? 'EtcdVoterRemoved' : 'EtcdLearnerRemoved';
        void this.o.events.normal(member, reason, action.reason);
      }
    }
    return true;
  }

  /** addLearner adds the member's published peer URL as a learner and hands the member its assignment. */
  private async addLearner(action: VoterAction, view: View, member: Member | undefined): Promise<boolean> {
    const peerUrl = view.candidates.get(action.member);
    if (peerUrl === undefined) {
      this.reportOnce(
        member,
        'EtcdLearnerWanted',
        `${action.reason}; ${action.member} publishes no etcd peer URL (its daemon is not running, or is older than this one)`,
      );
      return false;
    }
    let added: { id: string; members: EtcdMemberEntry[] };
    try {
      added = await this.o.etcd.addLearner(peerUrl);
    } catch (err) {
      // etcd refuses a second learner or an add without a healthy quorum (Unavailable), or a peer URL in use (Conflict).
      if (!isCode(err, 'Unavailable') && !isCode(err, 'Conflict')) throw err;
      this.reportOnce(
        member,
        'EtcdLearnerWanted',
        `${action.reason}; etcd refused to add ${peerUrl}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
    const assignment = this.assignmentFor(action.member, added.id, peerUrl, added.members);
    await this.o.store.raw.put(ETCD_LEARNER_PREFIX + action.member, JSON.stringify(assignment));
    this.firstSeen.set(added.id, this.clock.now());
    this.reported.clear();
    if (member)
      void this.o.events.normal(
        member,
        'EtcdLearnerAdded',
        `${action.reason}; added ${peerUrl} as etcd learner ${added.id}; the member starts etcd and promotes itself`,
      );
    return true;
  }

  private reportOnce(member: Member | undefined, reason: string, message: string): void {
    const key = `${member?.metadata.name ?? ''}/${message}`;
    if (!member || this.reported.has(key)) return;
    this.reported.add(key);
    void this.o.events.normal(member, reason, message);
  }

  /** writeRole sets status.etcdRole; true on a write conflict (retried soon). */
  private async writeRole(name: string, role: VoterRole): Promise<boolean> {
    try {
      const latest = await this.o.store.get<Member>(this.o.memberKind, name);
      await this.o.store.update<Member>(
        this.o.memberKind,
        { ...latest, status: { ...latest.status, etcdRole: role } },
        { subresource: 'status' },
      );
      return false;
    } catch (err) {
      if (isCode(err, 'Conflict')) return true;
      if (isCode(err, 'NotFound')) return false;
      throw err;
    }
  }
}
