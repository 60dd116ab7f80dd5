/**
 * SchedulerReconciler is the leader-only controller that places instances:
 * for an Instance with no `status.member` that is not being deleted, it runs
 * the pure `schedule` over the Member and Instance informers and writes the
 * answer through the status subresource — phase Scheduled, member, a bumped
 * placementEpoch and Scheduled=True, with a `Scheduled` Event; or phase
 * Pending with Scheduled=False and the scheduler's reason, a Warning
 * `FailedScheduling` Event only when the reason changes, and a slow requeue.
 * Assignments it has written but the informer has not shown yet are kept in
 * an "assumed" map so back-to-back decisions count them.
 */
import type { Clock } from '../../lib/controller/clock.js';
import type { Controller } from '../../lib/controller/controller.js';
import { enqueueMapped } from '../../lib/controller/handlers.js';
import { getCondition, setCondition } from '../../lib/controller/conditions.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import type { Informer } from '../../lib/controller/informer.js';
import { cacheKey } from '../../lib/controller/informer.js';
import { requestFor, type Reconciler, type ReconcileContext, type Request, type Result } from '../../lib/controller/reconciler.js';
import { isCode } from '../../lib/errors.js';
import { deepEqual } from '../../lib/json.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance, InstanceStatus, Member } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import { schedule } from './scheduler.js';

/** PENDING_RETRY_MS is how long an unschedulable instance waits before the next try (member changes retry sooner). */
export const PENDING_RETRY_MS = 10_000;
/** CONFLICT_RETRY_MS is how soon an instance is decided again after a concurrent status write. */
export const CONFLICT_RETRY_MS = 20;

/** SchedulerReconcilerOptions wire the reconciler. */
export interface SchedulerReconcilerOptions {
  store: Store;
  instanceKind: KindInfo;
  members: Informer<Member>;
  instances: Informer<Instance>;
  events: EventRecorder;
  clock: Clock;
  pendingRetryMs?: number;
}

/** SchedulerReconciler places unscheduled instances; see the file comment. */
export class SchedulerReconciler implements Reconciler {
  private readonly assumed = new Map<string, Instance>();

  constructor(private readonly o: SchedulerReconcilerOptions) {}

  /** needsScheduling tells whether the scheduler acts on `obj`: no member yet and not being deleted. */
  static needsScheduling(obj: Instance): boolean {
    return !obj.status?.member && obj.metadata.deletionTimestamp === undefined;
  }

  /** SchedulerReconciler.watch makes `controller` reconcile every instance that needs scheduling, and all of them again when any member changes. */
  static watch(controller: Controller, o: { instances: Informer<Instance>; members: Informer<Member> }): Controller {
    return controller
      .watches(
        o.instances,
        enqueueMapped<Instance>((i) => (SchedulerReconciler.needsScheduling(i) ? [requestFor(i)] : [])),
      )
      .watches(
        o.members,
        enqueueMapped<Member>(() => o.instances.listShared(SchedulerReconciler.needsScheduling).map(requestFor)),
      );
  }

  private instancesWithAssumed(): readonly Instance[] {
    // read-only view of the cache: schedule() is pure, and assumed entries replace, never modify
    const list = this.o.instances.listShared();
    const seen = new Set<string>();
    const out = list.map((i) => {
      const key = cacheKey(i.metadata);
      seen.add(key);
      const a = this.assumed.get(key);
      if (!a) return i;
      if (i.status?.member || i.metadata.uid !== a.metadata.uid) {
        this.assumed.delete(key);
        return i;
      }
      return a;
    });
    for (const key of [...this.assumed.keys()]) if (!seen.has(key)) this.assumed.delete(key);
    return out;
  }

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    // Decide from the informer's copy: every write below is conditional on its
    // resourceVersion, so a copy that is behind loses with a conflict and is
    // decided again from the newer copy (no extra read per decision).
    let instance = this.o.instances.get(req);
    if (!instance || !SchedulerReconciler.needsScheduling(instance) || this.assumed.has(cacheKey(req))) return {};
    if (!instance.status?.phase) {
      // Say Pending first, so watchers see the whole life: Pending → Scheduled → … → Running.
      const pending = await this.writeStatus(instance, {
        ...instance.status,
        phase: 'Pending',
        message: 'waiting for the scheduler to choose a member',
        observedGeneration: instance.metadata.generation,
      });
      if (!pending) return { requeueAfter: CONFLICT_RETRY_MS };
      instance = pending;
    }
    const result = schedule({ instance, members: [...this.o.members.listShared()], instances: [...this.instancesWithAssumed()] });
    const now = this.o.clock.now();
    const old = instance.status ?? {};
    const generation = instance.metadata.generation;
    if (result.member !== undefined) {
      const status: InstanceStatus = {
        ...old,
        phase: 'Scheduled',
        member: result.member,
        placementEpoch: (old.placementEpoch ?? 0) + 1,
        message: `assigned to member ${result.member}; waiting for its agent to create the container`,
        observedGeneration: generation,
        conditions: setCondition(
          old.conditions,
          { type: 'Scheduled', status: 'True', reason: 'Scheduled', message: result.reason, observedGeneration: generation },
          now,
        ),
      };
      // Assume the placement before the first await: with several workers, the
      // next decision (made while this write is in flight) already counts it.
      this.assumed.set(cacheKey(req), { ...instance, status });
      const written = await this.writeStatus(instance, status).catch((err: unknown) => {
        this.assumed.delete(cacheKey(req));
        throw err;
      });
      if (!written) {
        this.assumed.delete(cacheKey(req));
        return { requeueAfter: CONFLICT_RETRY_MS };
      }
      this.assumed.set(cacheKey(req), written);
      // schedule() words its reason as "placed on member X: why"; the Event says the member once.
      const why = result.reason.replace(/^placed on member "[^"]*": /, '');
      void this.o.events.normal(written, 'Scheduled', `assigned to member ${result.member}: ${why}`);
      return {};
    }
    const previous = getCondition(old.conditions, 'Scheduled');
    const message = `cannot be scheduled: ${result.reason}`;
    const status: InstanceStatus = {
      ...old,
      phase: 'Pending',
      message,
      observedGeneration: generation,
      conditions: setCondition(
        old.conditions,
        { type: 'Scheduled', status: 'False', reason: result.code, message: result.reason, observedGeneration: generation },
        now,
      ),
    };
    if (!deepEqual(status, old)) {
      const written = await this.writeStatus(instance, status);
      if (!written) return { requeueAfter: CONFLICT_RETRY_MS };
      if (previous?.message !== result.reason) void this.o.events.warning(written, 'FailedScheduling', result.reason);
    }
    return { requeueAfter: this.o.pendingRetryMs ?? PENDING_RETRY_MS };
  }

  /** writeStatus writes the status subresource; undefined when another writer got there first or the instance is gone (decide again with fresh data). */
  private async writeStatus(instance: Instance, status: InstanceStatus): Promise<Instance | undefined> {
    try {
      return await this.o.store.update<Instance>(this.o.instanceKind, { ...instance, status }, { subresource: 'status' });
    } catch (err) {
      if (isCode(err, 'Conflict') || isCode(err, 'NotFound')) return undefined;
      throw err;
    }
  }
}
