/**
 * PoolReconciler is the host-agent half of StoragePool: on each member it
 * makes the member's part of the pool (through the pool's driver), reports
 * it as a `status.members[]` entry, and recomputes the pool-level phase.
 * Each selected member holds its own finalizer, so a deleted pool is torn
 * down on every member before it disappears; deletion is refused (condition
 * DeletionBlocked, a Warning event, finalizer kept) while volumes use the
 * pool. Bad input and unreachable backends make the pool NotReady with the
 * reason and a slow retry — never a thrown hot loop.
 */
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import type { Informer } from '../../lib/controller/informer.js';
import { setCondition, removeCondition } from '../../lib/controller/conditions.js';
import { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from '../../lib/controller/finalizers.js';
import { updateStatus } from '../../lib/controller/status.js';
import { errorMessage } from '../../lib/errors.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member, StoragePool, StoragePoolStatus, Volume } from '../../lib/kinds/types.js';
import type { PoolObservation } from './drivers/types.js';
import { isSelected, memberEntry, poolFinalizer, poolPhase, selectedMembers, toPoolSpec, withEntry, withoutEntry } from './pool-plan.js';
import { storageRequeue, type StorageReconcilerOptions, type StorageRequeue } from './storage-reconciler.js';

/** PoolReconcilerOptions wire the reconciler for one member. */
export interface PoolReconcilerOptions extends StorageReconcilerOptions {
  poolKind: KindInfo;
  pools: Informer<StoragePool>;
  volumes: Informer<Volume>;
  members: Informer<Member>;
}

/** PoolReconciler drives this member's part of each StoragePool; see the file comment. */
export class PoolReconciler implements Reconciler {
  private readonly requeue: StorageRequeue;
  constructor(private readonly o: PoolReconcilerOptions) {
    this.requeue = storageRequeue(o);
  }

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const cached = this.o.pools.get({ name: req.name });
    if (!cached) return {};
    const me = this.o.memberName;
    if (isBeingDeleted(cached) || !isSelected(cached, me)) return this.teardown(cached);
    const pool = hasFinalizer(cached, poolFinalizer(me))
      ? cached
      : await this.update(addFinalizer(structuredClone(cached), poolFinalizer(me)));
    const obs = await this.ensure(pool);
    await this.writeStatus(pool, (status) => {
      status.members = withEntry(status.members, memberEntry(me, obs));
      status.conditions = removeCondition(status.conditions, 'DeletionBlocked');
    });
    return obs.ready ? this.requeue.resync : this.requeue.slow;
  }

  private async ensure(pool: StoragePool): Promise<PoolObservation> {
    try {
      const driver = this.o.drivers.get(pool.spec?.driver ?? '');
      return await driver.ensurePool(toPoolSpec(pool));
    } catch (err) {
      void this.o.events.warning(pool, 'PoolNotReady', `member ${this.o.memberName}: ${errorMessage(err)}`);
      return { ready: false, message: errorMessage(err) };
    }
  }

  /** teardown removes this member's part of a pool being deleted (or no longer selecting it), then its finalizer. */
  private async teardown(pool: StoragePool): Promise<Result> {
    const me = this.o.memberName;
    if (!hasFinalizer(pool, poolFinalizer(me))) return {};
    const users = this.o.volumes
      .list((v) => v.spec?.pool === pool.metadata.name)
      .map((v) => `${v.metadata.namespace}/${v.metadata.name}`)
      .sort();
    if (users.length > 0) {
      const message = `pool ${pool.metadata.name} still has ${users.length} volume(s): ${users.join(', ')}; delete them first`;
      return this.blockDeletion(pool, 'VolumesExist', 'DeletionBlocked', message);
    }
    try {
      await this.o.drivers.get(pool.spec?.driver ?? '').deletePool(toPoolSpec(pool));
    } catch (err) {
      return this.blockDeletion(pool, 'TeardownFailed', 'TeardownFailed', `tearing down on member ${me} failed: ${errorMessage(err)}`);
    }
    const fresh = await this.writeStatus(pool, (status) => {
      status.members = withoutEntry(status.members, me);
    });
    await this.update(removeFinalizer(structuredClone(fresh), poolFinalizer(me)));
    void this.o.events.normal(pool, 'TornDown', `member ${me} removed its part of the pool`);
    return {};
  }

  /** blockDeletion sets DeletionBlocked=True with `reason`, warns with an Event of `eventReason`, and retries slowly. */
  private async blockDeletion(pool: StoragePool, reason: string, eventReason: string, message: string): Promise<Result> {
    await this.writeStatus(pool, (status) => {
      status.conditions = setCondition(status.conditions, { type: 'DeletionBlocked', status: 'True', reason, message }, this.o.clock.now());
    });
    void this.o.events.warning(pool, eventReason, message);
    return this.requeue.slow;
  }

  private async update(pool: StoragePool): Promise<StoragePool> {
    return this.o.store.update<StoragePool>(this.o.poolKind, pool);
  }

  /**
   * writeStatus applies `change` to the latest copy of the pool's status,
   * recomputes the phase from every member's entry and writes it through
   * the status subresource, retrying on conflicts with other members.
   */
  private async writeStatus(pool: StoragePool, change: (status: StoragePoolStatus) => void): Promise<StoragePool> {
    const written = await updateStatus<StoragePool>(
      this.o.store,
      this.o.poolKind,
      { name: pool.metadata.name },
      (latest) => {
        const status: StoragePoolStatus = structuredClone(latest.status ?? {});
        change(status);
        const known = this.o.members.list().map((m) => m.metadata.name);
        const selected = selectedMembers(latest, known.includes(this.o.memberName) ? known : [...known, this.o.memberName]);
        const decision = poolPhase({ selected, entries: status.members ?? [], deleting: isBeingDeleted(latest) });
        status.phase = decision.phase;
        status.message = decision.message;
        status.observedGeneration = latest.metadata.generation;
        try {
          status.shared = this.o.drivers.get(latest.spec?.driver ?? '').info.shared;
        } catch {
          // An unknown driver is reported through the member entry's message.
        }
        status.conditions = setCondition(
          status.conditions,
          {
            type: 'Ready',
            status: decision.phase === 'Ready' ? 'True' : 'False',
            reason: decision.phase,
            message: decision.message,
            observedGeneration: latest.metadata.generation,
          },
          this.o.clock.now(),
        );
        return status;
      },
      { latest: pool, attempts: 6 },
    );
    // updateStatus resolves undefined only with ifGone: 'skip'.
    return written ?? pool;
  }
}
