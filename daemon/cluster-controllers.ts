/**
 * ClusterControllers are the controllers that act on the whole cluster and
 * run on one member at a time, the leader: membership health, the
 * scheduler, allocation, failover, and the namespace lifecycle and quota
 * usage. start() is called when this member starts leading (with a signal
 * that aborts when leadership ends); stop() when it stops.
 */
import type { Informer } from '../lib/controller/informer.js';
import { Controller } from '../lib/controller/controller.js';
import { enqueueMapped, enqueueObject } from '../lib/controller/handlers.js';
import { RawPrefixSource } from '../lib/controller/raw-source.js';
import { EventRecorder } from '../lib/controller/events.js';
import type { Instance, Member } from '../lib/kinds/types.js';
import type { KubeObject } from '../lib/store/types.js';
import { MembershipReconciler } from '../controllers/membership/membership-reconciler.js';
import { HEARTBEAT_PREFIX } from '../controllers/membership/member-agent.js';
import { SchedulerReconciler } from '../controllers/instances/scheduler-reconciler.js';
import { AllocationReconciler } from '../controllers/instances/allocation.js';
import { IdmapReclaimer, RECLAIM_KEY } from '../controllers/instances/security/idmap-reclaimer.js';
import { FAILOVER_KEY, FailoverReconciler } from '../controllers/membership/failover-reconciler.js';
import { STORAGE_DRIVER_INFO } from '../controllers/storage/drivers/registry.js';
import type { StoragePool, Volume } from '../lib/kinds/types.js';
import type { ControllerDeps } from '../lib/controller/deps.js';
import { NAMESPACE_KIND, RESOURCE_QUOTA_KIND } from '../lib/kinds/builtin.js';
import type { Namespace, ResourceQuota } from '../lib/kinds/types.js';
import { NamespaceReconciler } from '../controllers/namespaces/namespace-reconciler.js';
import { enqueueQuotaLimits, enqueueQuotasFor, QuotaReconciler } from '../controllers/namespaces/quota-reconciler.js';

/** ClusterControllersOptions wire the leader's controllers. */
export type ClusterControllersOptions = ControllerDeps;

/** ClusterControllers starts and stops the leader-only controllers together. */
export class ClusterControllers {
  private controllers: Controller[] = [];
  private sources: RawPrefixSource[] = [];

  constructor(private readonly o: ClusterControllersOptions) {}

  /** start builds and starts every cluster controller; they stop when `signal` aborts or stop() is called. */
  async start(signal: AbortSignal): Promise<void> {
    const { store, kinds, informers, logger, metrics, clock, memberName } = this.o;
    const memberKind = kinds.resolve('members');
    const members = informers.forKind<Member>(memberKind);
    const membership = new Controller({
      name: 'membership',
      reconciler: new MembershipReconciler({
        store,
        memberKind,
        members,
        clock,
        events: new EventRecorder({ store, logger, metrics, component: 'membership-controller', host: memberName, clock }),
      }),
      logger,
      metrics,
      clock,
    }).watches(members, enqueueObject<Member>());
    this.controllers.push(membership);
    this.watchHeartbeats(membership);
    this.controllers.push(...this.instanceControllers(members));
    this.controllers.push(...this.namespaceControllers());
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    await Promise.all(this.controllers.map((c) => c.start()));
  }

  /**
   * instanceControllers: the scheduler (every unscheduled instance, retried
   * when any member changes) and the allocation keeper (a member, whenever
   * an instance assigned to it changes).
   */
  private instanceControllers(members: Informer<Member>): Controller[] {
    const { store, kinds, informers, logger, metrics, clock, memberName } = this.o;
    const instanceKind = kinds.resolve('instances');
    const instances = informers.forKind<Instance>(instanceKind);
    const scheduler = SchedulerReconciler.watch(
      new Controller({
        name: 'scheduler',
        // decisions are made synchronously against the cache plus assumed placements, so workers can overlap their writes
        concurrency: 16,
        reconciler: new SchedulerReconciler({
          store,
          instanceKind,
          members,
          instances,
          clock,
          events: new EventRecorder({ store, logger, metrics, component: 'scheduler', host: memberName, clock }),
        }),
        logger,
        metrics,
        clock,
      }),
      { instances, members },
    );
    const allocation = AllocationReconciler.watch(
      new Controller({
        name: 'allocation',
        reconciler: new AllocationReconciler({ store, memberKind: kinds.resolve('members'), members, instances }),
        logger,
        metrics,
        clock,
      }),
      { members, instances },
    );
    return [scheduler, allocation, this.failoverController(members, instances), this.idmapReclaimer(instances)];
  }

  /** idmapReclaimer gives back the private id ranges of instances gone without releasing them (one key: at start and on every instance delete). */
  private idmapReclaimer(instances: Informer<Instance>): Controller {
    const { store, logger, metrics, clock } = this.o;
    const controller = new Controller({
      name: 'idmap-reclaimer',
      reconciler: new IdmapReclaimer({ raw: store.raw, instances, logger }),
      logger,
      metrics,
      clock,
    }).watches(instances, { onAdd: () => undefined, onUpdate: () => undefined, onDelete: (_obj, q) => q.add(RECLAIM_KEY) });
    controller.add(RECLAIM_KEY);
    return controller;
  }

  /** failoverController moves instances off lost, fenced and evacuated members (one cluster-wide key, on every change). */
  private failoverController(members: Informer<Member>, instances: Informer<Instance>): Controller {
    const { store, kinds, informers, logger, metrics, clock, memberName } = this.o;
    const pools = informers.forKind<StoragePool>(kinds.resolve('storagepools'));
    const volumes = informers.forKind<Volume>(kinds.resolve('volumes'));
    const all = enqueueMapped<KubeObject>(() => [FAILOVER_KEY]);
    return new Controller({
      name: 'failover',
      reconciler: new FailoverReconciler({
        store,
        instanceKind: kinds.resolve('instances'),
        memberKind: kinds.resolve('members'),
        members,
        instances,
        pools,
        volumes,
        drivers: STORAGE_DRIVER_INFO,
        clock,
        logger,
        events: new EventRecorder({ store, logger, metrics, component: 'failover-controller', host: memberName, clock }),
      }),
      logger,
      metrics,
      clock,
    })
      .watches(members, all)
      .watches(instances, all)
      .watches(pools, all)
      .watches(volumes, all);
  }

  /**
   * namespaceControllers: the namespace lifecycle (a Namespace, and the
   * Namespace of any instance or volume that goes while it terminates) and
   * quota usage (a ResourceQuota, and the quotas of the namespace of any
   * instance or volume whose usage changes).
   */
  private namespaceControllers(): Controller[] {
    const { store, kinds, informers, logger, metrics, clock } = this.o;
    const namespaces = informers.forKind<Namespace>(NAMESPACE_KIND);
    const quotas = informers.forKind<ResourceQuota>(RESOURCE_QUOTA_KIND);
    const instanceKind = kinds.resolve('instances');
    const volumeKind = kinds.resolve('volumes');
    const instances = informers.forKind<Instance>(instanceKind);
    const volumes = informers.forKind<Volume>(volumeKind);
    const terminatingNamespace = enqueueMapped<KubeObject>((obj) => {
      const ns = obj.metadata.namespace ? namespaces.get({ name: obj.metadata.namespace }) : undefined;
      return ns?.metadata.deletionTimestamp ? [{ name: ns.metadata.name }] : [];
    });
    const namespace = new Controller({
      name: 'namespace',
      reconciler: new NamespaceReconciler({ store, kinds, namespaces, clock }),
      logger,
      metrics,
      clock,
    })
      .watches(namespaces, enqueueObject<Namespace>())
      .watches(instances, terminatingNamespace)
      .watches(volumes, terminatingNamespace);
    const quota = new Controller({
      name: 'quota',
      reconciler: new QuotaReconciler({ store, kinds, quotas }),
      logger,
      metrics,
      clock,
    })
      .watches(quotas, enqueueQuotaLimits())
      .watches(instances, enqueueQuotasFor<Instance>(instanceKind, quotas))
      .watches(volumes, enqueueQuotasFor<Volume>(volumeKind, quotas));
    return [namespace, quota];
  }

  /** watchHeartbeats turns every heartbeat key change into a reconcile of that member. */
  private watchHeartbeats(membership: Controller): void {
    const source = new RawPrefixSource({
      raw: this.o.store.raw,
      prefix: HEARTBEAT_PREFIX,
      onEvent: (ev) => membership.add({ name: ev.key.slice(HEARTBEAT_PREFIX.length) }),
      logger: this.o.logger,
      metrics: this.o.metrics,
      component: 'membership',
      clock: this.o.clock,
    });
    source.start();
    this.sources.push(source);
  }

  /** stop stops every cluster controller; safe to call more than once. */
  async stop(): Promise<void> {
    await Promise.all(this.sources.splice(0).map((s) => s.stop()));
    await Promise.all(this.controllers.splice(0).map((c) => c.stop()));
  }
}
