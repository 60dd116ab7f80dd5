/**
 * MembershipReconciler is the cluster controller for member health: it sets
 * each Member's phase and Ready condition from whether the member's heartbeat
 * key (bound to its lease) exists, and records an Event on every change.
 * It runs on the leader only.
 */
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import type { Clock } from '../../lib/controller/clock.js';
import { getCondition, setCondition } from '../../lib/controller/conditions.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import { isCode } from '../../lib/errors.js';
import { decideMemberHealth } from './health.js';
import { HEARTBEAT_PREFIX } from './member-agent.js';

/** MembershipReconcilerOptions wire the reconciler. */
export interface MembershipReconcilerOptions {
  store: Store;
  memberKind: KindInfo;
  members: Informer<Member>;
  events: EventRecorder;
  clock: Clock;
  /** recheckMs: level-triggered safety net between heartbeat events (default 15 s) */
  recheckMs?: number;
}

/** MembershipReconciler keeps Member phase and Ready condition true to the heartbeat lease. */
export class MembershipReconciler implements Reconciler {
  constructor(private readonly o: MembershipReconcilerOptions) {}

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const recheck = { requeueAfter: this.o.recheckMs ?? 15_000 };
    const cached = this.o.members.get({ name: req.name });
    if (!cached) return {};
    const heartbeat = await this.o.store.raw.get(HEARTBEAT_PREFIX + req.name);
    const decision = decideMemberHealth({ heartbeatPresent: heartbeat !== undefined, phase: cached.status?.phase });
    const before = getCondition(cached.status?.conditions, 'Ready');
    const wantStatus = decision.ready ? 'True' : 'False';
    if (cached.status?.phase === decision.phase && before?.status === wantStatus && before.reason === decision.reason) return recheck;

    // Read the latest copy so the status write does not fight the member agent's.
    const member = await this.o.store.get<Member>(this.o.memberKind, req.name);
    const conditions = setCondition(
      member.status?.conditions,
      {
        type: 'Ready',
        status: wantStatus,
        reason: decision.reason,
        message: decision.message,
        observedGeneration: member.metadata.generation,
      },
      this.o.clock.now(),
    );
    const previous = member.status?.phase;
    try {
      await this.o.store.update<Member>(
        this.o.memberKind,
        { ...member, status: { ...member.status, phase: decision.phase, conditions, observedGeneration: member.metadata.generation } },
        { subresource: 'status' },
      );
    } catch (err) {
      // A concurrent status write by the member agent: the next event retries with fresh data.
      if (isCode(err, 'Conflict')) return { requeueAfter: 50 };
      throw err;
    }
    if (previous !== decision.phase) {
      const message = `${previous ?? 'new'} → ${decision.phase}: ${decision.message}`;
      void (decision.ready
        ? this.o.events.normal(member, decision.reason, message)
        : this.o.events.warning(member, decision.reason, message));
    }
    return recheck;
  }
}
