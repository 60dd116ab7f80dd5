/**
 * EtcdVoterReconciler is the leader-only controller that keeps etcd's voter
 * set on plan (planVoters) and each Member's status.etcdRole true to etcd. It
 * reconciles one key (ETCD_VOTERS_KEY) on member changes and every few
 * seconds, applies at most one membership change per pass (etcd commits them
 * one at a time) and re-plans from fresh data on the next pass.
 *
 * Adding a learner needs the chosen member to start an etcd of its own; that
 * host side does not exist yet, so `addLearner` is reported, not applied.
 */
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import { isCode } from '../../lib/errors.js';
import { planVoters, type VoterAction, type VoterMember, type VoterRole } from './voter-plan.js';

/** ETCD_VOTERS_KEY is the one request this controller reconciles. */
export const ETCD_VOTERS_KEY = { name: 'etcd-voters' };

/** EtcdMembershipApi is the part of etcd's cluster API the controller needs (lib/etcd/membership.ts implements it). */
export interface EtcdMembershipApi {
  list(): Promise<Array<{ id: string; name: string; isLearner: boolean }>>;
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
}

function stateOf(m: Member): VoterMember['state'] {
  const phase = m.status?.phase;
  if (phase === 'NotReady') return 'NotReady';
  if (phase === 'Ready' || phase === 'Evacuating' || phase === 'Evacuated') return 'Ready';
  return 'Joining';
}

/** EtcdVoterReconciler: see the file comment. */
export class EtcdVoterReconciler implements Reconciler {
  private readonly o: EtcdVoterReconcilerOptions;
  private reportedAdd = '';

  constructor(opts: EtcdVoterReconcilerOptions) {
    this.o = opts;
  }

  async reconcile(_req: Request, _ctx: ReconcileContext): Promise<Result> {
    const period = { requeueAfter: this.o.periodMs ?? 5000 };
    const etcdMembers = await this.o.etcd.list();
    const roleOf = (name: string): VoterRole => {
      const e = etcdMembers.find((x) => x.name === name);
      return e ? (e.isLearner ? 'learner' : 'voter') : 'none';
    };
    const members = this.o.members.list((m) => m.status?.phase !== 'Left');
    let conflicts = false;
    for (const m of members) {
      if (m.status?.etcdRole !== roleOf(m.metadata.name)) conflicts = (await this.writeRole(m.metadata.name, roleOf(m.metadata.name))) || conflicts;
    }
    const plan = planVoters({
      members: members.map((m) => ({
        name: m.metadata.name,
        state: stateOf(m),
        role: roleOf(m.metadata.name),
        ...(m.spec?.failureDomain ? { failureDomain: m.spec.failureDomain } : {}),
        canHostEtcd: (m.spec?.roles ?? ['control-plane']).includes('control-plane'),
      })),
      ...(this.o.target ? { target: this.o.target } : {}),
    });
    const action = plan[0];
    if (action) {
      const id = etcdMembers.find((x) => x.name === action.member)?.id;
      if (await this.apply(action, id)) return { requeueAfter: 200 };
    }
    return conflicts ? { requeueAfter: 100 } : period;
  }

  /** apply performs one action; true when etcd changed. */
  private async apply(action: VoterAction, id: string | undefined): Promise<boolean> {
    const member = this.o.members.get({ name: action.member });
    if (action.type === 'addLearner') {
      if (this.reportedAdd !== action.member && member) void this.o.events.normal(member, 'EtcdLearnerWanted', `${action.reason}; adding an etcd member to a running member is not supported yet`);
      this.reportedAdd = action.member;
      return false;
    }
    if (id === undefined) return false;
    try {
      if (action.type === 'promote') await this.o.etcd.promote(id);
      else await this.o.etcd.remove(id);
    } catch (err) {
      // A learner not yet in sync, or already promoted by its own daemon: the next pass re-plans.
      if (isCode(err, 'Unavailable') || isCode(err, 'Conflict')) return false;
      throw err;
    }
    const reason = action.type === 'promote' ? 'EtcdVoterPromoted' : action.type === 'removeVoter' ? 'EtcdVoterRemoved' : 'EtcdLearnerRemoved';
    if (member) void this.o.events.normal(member, reason, action.reason);
    return true;
  }

  /** writeRole sets status.etcdRole; true on a write conflict (retried soon). */
  private async writeRole(name: string, role: VoterRole): Promise<boolean> {
    try {
      const latest = await this.o.store.get<Member>(this.o.memberKind, name);
      await this.o.store.update<Member>(this.o.memberKind, { ...latest, status: { ...latest.status, etcdRole: role } }, { subresource: 'status' });
      return false;
    } catch (err) {
      if (isCode(err, 'Conflict')) return true;
      if (isCode(err, 'NotFound')) return false;
      throw err;
    }
  }
}
