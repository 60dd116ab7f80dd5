/**
 * PlacementGuard is the instance agent's fencing discipline (DESIGN.md §5),
 * kept apart from the ordinary plan so the rules are in one place:
 * - a local container made for an older placement epoch than the current one
 *   is a stale copy: it is deleted before anything else happens;
 * - an instance this member fenced (stopped by itself when it could not
 *   renew its lease) is never started here again at the epoch it was fenced
 *   at; its status says Unknown/Fenced until the failover controller places
 *   it again;
 * - an instance with recovery `failover` starts only while this member holds
 *   its lock (bound to this member's lease) at the current epoch, checked
 *   again right before the start.
 * The reconciler's observe step reads the facts here (`placementFacts`), the
 * pure `decidePlacement` turns them into a verdict, and its act step calls the
 * effects (`removeStaleCopy`, `holdFenced`, `lockForStart`, `mayStart`, …).
 */
import { setCondition } from '../../lib/controller/conditions.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import type { Clock } from '../../lib/controller/clock.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance, InstanceStatus } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import type { FencedInstances } from './fenced-instances.js';
import type { InstanceLocks } from './instance-lock.js';
import { filePlacementRecords, memoryPlacementRecords, type PlacementRecords } from './placement-record.js';
import type { Observation, Runtime } from './runtimes/types.js';

/** FENCED_RECHECK_MS is how often a fenced instance is looked at again (the failover controller moves it meanwhile). */
export const FENCED_RECHECK_MS = 5000;
/** LOCK_WAIT_MS is how soon an instance waiting for its lock tries again. */
export const LOCK_WAIT_MS = 500;

/** PlacementGuardOptions wire the guard. */
export interface PlacementGuardOptions {
  store: Store;
  instanceKind: KindInfo;
  memberName: string;
  dataDir: string;
  runtime: Runtime;
  events: EventRecorder;
  clock: Clock;
  locks?: InstanceLocks;
  fenced?: FencedInstances;
  /** removeContainer deletes a container and its root filesystem (the reconciler's) */
  removeContainer: (containerName: string) => Promise<void>;
}

/** GuardVerdict: go on with the plan, or stop here and requeue after `requeueAfter` ms. */
export type GuardVerdict = { proceed: true } | { proceed: false; requeueAfter: number };

/** PlacementFacts is what the observe step finds of an instance assigned here: its local copy's record and its fencing. */
export interface PlacementFacts {
  /** epoch is the instance's current placement epoch */
  epoch: number;
  /** recordEpoch is the epoch the local container was made for (undefined: no container, or no record) */
  recordEpoch?: number;
  /** fenced: this member fenced the instance at its current epoch */
  fenced: boolean;
}

/** PlacementVerdict: plan as usual, delete the stale local copy first, or keep the fenced instance stopped. */
export type PlacementVerdict = { kind: 'proceed' } | { kind: 'staleCopy'; recordEpoch: number } | { kind: 'fenced' };

/** decidePlacement applies the first two rules of the file comment: a stale copy goes first, a fenced instance stays stopped. */
export function decidePlacement(facts: PlacementFacts): PlacementVerdict {
  if (facts.recordEpoch !== undefined && facts.recordEpoch < facts.epoch) return { kind: 'staleCopy', recordEpoch: facts.recordEpoch };
  return facts.fenced ? { kind: 'fenced' } : { kind: 'proceed' };
}

function ref(instance: Instance): { ns: string; name: string; epoch: number } {
  return { ns: instance.metadata.namespace ?? 'default', name: instance.metadata.name, epoch: instance.status?.placementEpoch ?? 0 };
}

/** isFailover tells whether the instance has recovery failover. */
export function isFailover(instance: Instance): boolean {
  return instance.spec?.recovery === 'failover';
}

/** PlacementGuard applies the rules in the file comment. */
export class PlacementGuard {
  private readonly o: PlacementGuardOptions;
  /** records: which placement epoch each local container was made for */
  readonly records: PlacementRecords;
  constructor(opts: PlacementGuardOptions) {
    this.o = opts;
    this.records = opts.runtime.info.simulated ? memoryPlacementRecords() : filePlacementRecords(opts.dataDir);
  }

  /**
   * placementFacts reads the facts decidePlacement needs for an instance
   * assigned here (not being deleted); it forgets fencing that a new
   * placement made moot, in the same step as it reads the fencing, so a
   * fence added meanwhile is never lost.
   */
  async placementFacts(instance: Instance, containerName: string, obs: Observation): Promise<PlacementFacts> {
    const { ns, name, epoch } = ref(instance);
    const { fenced } = this.o;
    if (fenced && !fenced.blocks(ns, name, epoch)) fenced.forget(ns, name);
    const recordEpoch = obs.exists ? (await this.records.read(containerName))?.epoch : undefined;
    return { epoch, ...(recordEpoch !== undefined ? { recordEpoch } : {}), fenced: fenced?.blocks(ns, name, epoch) ?? false };
  }

  /** forgetFencing drops the instance's fencing: it is placed elsewhere or going away, so fencing here is moot. */
  forgetFencing(namespace: string, name: string): void {
    this.o.fenced?.forget(namespace, name);
  }

  /** removeStaleCopy deletes the local copy made for an older epoch and says so in an Event. */
  async removeStaleCopy(instance: Instance, containerName: string, message: string): Promise<void> {
    await this.removeCopy(containerName);
    void this.o.events.normal(instance, 'StaleCopyRemoved', message);
  }

  /** holdFenced keeps a fenced instance stopped (force-stopping a running copy) and shows it Unknown/Fenced. */
  async holdFenced(instance: Instance, containerName: string, opts: { stop: boolean; message: string }): Promise<void> {
    if (opts.stop) await this.o.runtime.stop(containerName, { force: true });
    await this.writeStatus(instance, { phase: 'Unknown', message: opts.message }, 'Fenced');
  }

  /** lockForStart takes the instance lock before a start (failover instances only); when it is held elsewhere it says so in status.message. */
  async lockForStart(instance: Instance): Promise<GuardVerdict> {
    if (!isFailover(instance) || !this.o.locks) return { proceed: true };
    const { ns, name, epoch } = ref(instance);
    const got = await this.o.locks.ensure(ns, name, epoch);
    if (got.ok) return { proceed: true };
    await this.writeStatus(
      instance,
      { phase: instance.status?.phase === 'Running' ? 'Starting' : (instance.status?.phase ?? 'Starting'), message: got.message },
      'WaitingForLock',
    );
    return { proceed: false, requeueAfter: LOCK_WAIT_MS };
  }

  /** keepLock re-binds the lock of a running failover instance to the current lease (after a daemon restart, say); best effort. */
  async keepLock(instance: Instance): Promise<void> {
    if (!isFailover(instance) || !this.o.locks) return;
    const { ns, name, epoch } = ref(instance);
    await this.o.locks.ensure(ns, name, epoch);
  }

  /** mayStart is the last check right before a start: still ours at this epoch, not fenced, and the lock held. */
  async mayStart(instance: Instance): Promise<boolean> {
    const { ns, name, epoch } = ref(instance);
    if (this.o.fenced?.blocks(ns, name, epoch)) return false;
    if (!isFailover(instance) || !this.o.locks) return true;
    return this.o.locks.holds(ns, name, epoch);
  }

  /** defined records the placement a container was made for. */
  async defined(instance: Instance, containerName: string): Promise<void> {
    const { ns, name, epoch } = ref(instance);
    await this.records.write(containerName, { namespace: ns, name, member: this.o.memberName, epoch });
  }

  /** removed forgets a deleted container: its record, its fencing, and the lock if this member holds it. */
  async removed(containerName: string, instance?: Instance): Promise<void> {
    await this.records.remove(containerName);
    if (!instance) return;
    const { ns, name } = ref(instance);
    this.o.fenced?.forget(ns, name);
    await this.o.locks?.release(ns, name);
  }

  private async removeCopy(containerName: string): Promise<void> {
    await this.o.removeContainer(containerName);
  }

  private async writeStatus(instance: Instance, patch: { phase: InstanceStatus['phase']; message: string }, reason: string): Promise<void> {
    const old = instance.status ?? {};
    if (old.phase === patch.phase && old.message === patch.message) return;
    const conditions = setCondition(
      old.conditions,
      { type: 'Ready', status: 'False', reason, message: patch.message, observedGeneration: instance.metadata.generation },
      this.o.clock.now(),
    );
    const status: InstanceStatus = { ...old, ...patch, conditions };
    delete status.startedAt;
    await this.o.store.update<Instance>(this.o.instanceKind, { ...instance, status }, { subresource: 'status' });
  }
}
