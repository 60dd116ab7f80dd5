/**
 * FailoverReconciler is the leader-only failover controller. It reconciles
 * one key (the whole cluster): it runs the pure `planFailover` and
 * `planMaintenance` over the informer caches and writes the answers — a moved
 * instance gets status {member: new, placementEpoch: +1, phase: Scheduled};
 * a stuck one phase Unknown with the reason; every instance its truthful
 * status.recoverable; members their Evacuating/Evacuated/Ready phase — with
 * an Event at every step. Each write re-reads the object and checks that the
 * placement it planned from is still current, so a stale cache never moves
 * an instance twice.
 */
import type { Clock } from '../../lib/controller/clock.js';
import { setCondition } from '../../lib/controller/conditions.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import { updateStatus } from '../../lib/controller/status.js';
import { isCode } from '../../lib/errors.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance, InstanceStatus, Member, StoragePool, Volume } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import { deepEqual } from '../../lib/json.js';
import type { Store } from '../../lib/store/types.js';
import { EVACUATED_FROM_ANNOTATION, MAINTENANCE_ANNOTATION, planMaintenance, type MaintenanceAction } from './evacuation.js';
import { planFailover, type FailoverAction } from './failover-plan.js';
import type { StorageDriverCapabilities } from './recoverability.js';

/** FAILOVER_KEY is the single request the failover controller reconciles. */
export const FAILOVER_KEY: Request = { name: 'cluster' };
/** FAILOVER_MIN_INTERVAL_MS is the shortest time between two full failover passes. */
export const FAILOVER_MIN_INTERVAL_MS = 250;

/** FAILOVER_RECHECK_MS is the level-triggered safety net between events. */
export const FAILOVER_RECHECK_MS = 10_000;

/** FailoverReconcilerOptions wire the reconciler. */
export interface FailoverReconcilerOptions {
  store: Store;
  instanceKind: KindInfo;
  memberKind: KindInfo;
  members: Informer<Member>;
  instances: Informer<Instance>;
  /** pools and volumes: without them every instance that mounts a volume is unrecoverable (its volume is not found) */
  pools?: Informer<StoragePool>;
  volumes?: Informer<Volume>;
  /** drivers: each storage driver's capabilities by name (STORAGE_DRIVER_INFO), to tell shared pools from local ones */
  drivers: StorageDriverCapabilities;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
}

type Move = Extract<FailoverAction | MaintenanceAction, { kind: 'move' }>;

/** FailoverReconciler moves instances off lost and evacuated members; see the file comment. */
export class FailoverReconciler implements Reconciler {
  private lastPass = Number.NEGATIVE_INFINITY;
  constructor(private readonly o: FailoverReconcilerOptions) {}

  async reconcile(_req: Request, _ctx: ReconcileContext): Promise<Result> {
    // One pass looks at every instance, and every instance change asks for a
    // pass: coalesce a burst of changes into at most one pass per interval.
    const wait = this.lastPass + FAILOVER_MIN_INTERVAL_MS - this.o.clock.now();
    if (wait > 0) return { requeueAfter: wait };
    this.lastPass = this.o.clock.now();
    // read-only views of the caches: the plans are pure and apply() re-reads what it writes
    const members = [...this.o.members.listShared()];
    const instances = [...this.o.instances.listShared()];
    const pools = this.o.pools ? [...this.o.pools.listShared()] : [];
    const volumes = this.o.volumes ? [...this.o.volumes.listShared()] : [];
    const failover = planFailover({ members, instances, pools, volumes, drivers: this.o.drivers });
    const moved = new Set(failover.filter((a) => a.kind === 'move').map((a) => `${a.namespace}/${a.name}`));
    // Maintenance never touches what failover is moving in the same pass.
    const maintenance = planMaintenance({ members, instances }).filter((a) => a.kind !== 'move' || !moved.has(`${a.namespace}/${a.name}`));
    let retry = false;
    for (const action of [...failover, ...maintenance]) {
      try {
        await this.apply(action);
      } catch (err) {
        if (!isCode(err, 'Conflict') && !isCode(err, 'NotFound')) throw err;
        retry = true;
      }
    }
    return { requeueAfter: retry ? 50 : FAILOVER_RECHECK_MS };
  }

  private async apply(a: FailoverAction | MaintenanceAction): Promise<void> {
    switch (a.kind) {
      case 'move':
        return this.move(a);
      case 'unknown':
        return this.unknown(a);
      case 'recoverable':
        return this.patchStatus(a, (s) => ({ ...s, recoverable: a.recoverable, recoverableReason: a.reason }));
      case 'memberPhase':
        return this.memberPhase(a);
      case 'memberDone':
        return this.memberDone(a.member);
    }
  }

  private async get(ref: { namespace: string; name: string }): Promise<Instance> {
    return this.o.store.get<Instance>(this.o.instanceKind, ref.name, ref.namespace);
  }

  private async patchStatus(ref: { namespace: string; name: string }, f: (s: InstanceStatus) => InstanceStatus): Promise<void> {
    await updateStatus<Instance>(this.o.store, this.o.instanceKind, ref, (cur) =>
      cur.metadata.deletionTimestamp ? undefined : f(cur.status ?? {}),
    );
  }

  private async move(a: Move): Promise<void> {
    let cur = await this.get(a);
    if (cur.metadata.deletionTimestamp || cur.status?.member !== a.from) return;
    const sameEpochNoop = a.why === 'Restore' && a.from === a.to; // only drops the annotation of an instance already home
    if (!sameEpochNoop && (cur.status?.placementEpoch ?? 0) + 1 !== a.epoch) return; // planned from a stale cache
    if ('evacuatedFrom' in a) {
      const annotations = { ...cur.metadata.annotations };
      if (a.evacuatedFrom === null) delete annotations[EVACUATED_FROM_ANNOTATION];
      else annotations[EVACUATED_FROM_ANNOTATION] = a.evacuatedFrom;
      if (!deepEqual(annotations, cur.metadata.annotations ?? {}))
        cur = await this.o.store.update<Instance>(this.o.instanceKind, { ...cur, metadata: { ...cur.metadata, annotations } });
      if (a.from === a.to) return;
    }
    const now = this.o.clock.now();
    const old = cur.status ?? {};
    let conditions = setCondition(
      old.conditions,
      {
        type: 'Scheduled',
        status: 'True',
        reason: a.why === 'MemberLost' || a.why === 'Fenced' ? 'Rescheduled' : a.why,
        message: a.message,
        observedGeneration: cur.metadata.generation,
      },
      now,
    );
    conditions = setCondition(
      conditions,
      { type: 'Ready', status: 'False', reason: 'Rescheduled', message: a.message, observedGeneration: cur.metadata.generation },
      now,
    );
    const status: InstanceStatus = { ...old, member: a.to, placementEpoch: a.epoch, phase: 'Scheduled', message: a.message, conditions };
    delete status.startedAt;
    delete status.addresses;
    const written = await this.o.store.update<Instance>(this.o.instanceKind, { ...cur, status }, { subresource: 'status' });
    const at = new Date(now).toISOString();
    if (a.why === 'MemberLost') {
      void this.o.events.warning(
        written,
        'HeartbeatLost',
        `member ${a.from} lost its heartbeat (its lease expired; seen at ${at}); a member fences its failover instances before its lease can expire, so the copy on ${a.from} is stopped`,
      );
    }
    void this.o.events.normal(
      written,
      a.why === 'MemberLost' || a.why === 'Fenced' ? 'Rescheduled' : a.why === 'Evacuate' ? 'Evacuated' : 'Restored',
      `${a.message} (at ${at})`,
    );
    this.o.logger.info('instance moved', { instance: `${a.namespace}/${a.name}`, from: a.from, to: a.to, epoch: a.epoch, why: a.why });
  }

  private async unknown(a: Extract<FailoverAction, { kind: 'unknown' }>): Promise<void> {
    const cur = await this.get(a);
    if (cur.metadata.deletionTimestamp || cur.status?.member !== a.member) return;
    const old = cur.status ?? {};
    const conditions = setCondition(
      old.conditions,
      { type: 'Ready', status: 'False', reason: a.reason, message: a.message, observedGeneration: cur.metadata.generation },
      this.o.clock.now(),
    );
    const written = await this.o.store.update<Instance>(
      this.o.instanceKind,
      { ...cur, status: { ...old, phase: 'Unknown', message: a.message, conditions } },
      { subresource: 'status' },
    );
    void this.o.events.warning(written, a.reason === 'WaitingForMember' ? 'HeartbeatLost' : a.reason, a.message);
  }

  private async memberPhase(a: Extract<MaintenanceAction, { kind: 'memberPhase' }>): Promise<void> {
    const m = await this.o.store.get<Member>(this.o.memberKind, a.member);
    if (m.status?.phase === a.phase && m.status.message === a.message) return;
    const written = await this.o.store.update<Member>(
      this.o.memberKind,
      { ...m, status: { ...m.status, phase: a.phase, message: a.message } },
      { subresource: 'status' },
    );
    if (m.status?.phase !== a.phase) void this.o.events.normal(written, a.phase === 'Ready' ? 'Restored' : a.phase, a.message);
  }

  private async memberDone(name: string): Promise<void> {
    const m = await this.o.store.get<Member>(this.o.memberKind, name);
    const annotations = { ...m.metadata.annotations };
    if (!(MAINTENANCE_ANNOTATION in annotations)) return;
    delete annotations[MAINTENANCE_ANNOTATION];
    await this.o.store.update<Member>(this.o.memberKind, { ...m, metadata: { ...m.metadata, annotations } });
    this.o.logger.info('member maintenance finished', { member: name });
  }
}
