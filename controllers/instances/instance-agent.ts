/**
 * InstanceAgent is the per-member host agent for instances. It runs an
 * InstanceReconciler over the Instance informer for the instances assigned
 * to this member (and any instance that still has a container here), and
 * composes the parts the informer cannot provide:
 * - a crash prober (crash-prober.ts): every couple of seconds it checks each
 *   Running instance's container cheaply and queues the instance when it is
 *   not the one seen running last;
 * - an orphan sweep (orphan-sweeper.ts), once the informer has synced and
 *   then every minute: containers and root filesystems this runtime owns
 *   that no instance assigned here claims are deleted;
 * - fencing (instance-fencing.ts): stale copies are removed when the member
 *   comes back, before anything starts, and `fence` stops failover copies
 *   when the member cannot renew its lease.
 * Stopping the agent leaves containers running; the next start adopts them.
 */
import type { Clock } from '../../lib/controller/clock.js';
import { Controller } from '../../lib/controller/controller.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import { enqueueMapped } from '../../lib/controller/handlers.js';
import type { Informer } from '../../lib/controller/informer.js';
import { requestFor, type Request } from '../../lib/controller/reconciler.js';
import { errorMessage } from '../../lib/errors.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { Store } from '../../lib/store/types.js';
import { ImageBuilds } from './image-builds.js';
import type { ImageStore } from './images/image-store.js';
import type { RootfsProvider } from './images/rootfs.js';
import { InstanceReconciler, type InstanceReconcilerOptions } from './instance-reconciler.js';
import { RestartBackoffTracker } from './restart-backoff.js';
import type { Runtime } from './runtimes/types.js';
import type { InstanceLocks } from './instance-lock.js';
import { FencedInstances } from './fenced-instances.js';
import { CrashProber } from './crash-prober.js';
import { InstanceFencing, type FencedCopy } from './instance-fencing.js';
import { OrphanSweeper } from './orphan-sweeper.js';

export type { FencedCopy } from './instance-fencing.js';

/** InstanceAgentOptions wire the agent; `images` and `rootfs` are required unless the runtime is simulated. */
export interface InstanceAgentOptions {
  store: Store;
  instanceKind: KindInfo;
  instances: Informer<Instance>;
  memberName: string;
  dataDir: string;
  runtime: Runtime;
  images?: ImageStore;
  rootfs?: RootfsProvider;
  events: EventRecorder;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  concurrency?: number;
  probeIntervalMs?: number;
  orphanSweepMs?: number;
  stopTimeoutSeconds?: number;
  /** nics gives instances their NICs (networking's NicPlumber) */
  nics?: InstanceReconcilerOptions['nics'];
  /** volumes gives instances their spec.volumes bind mounts (storage's VolumeMounter) */
  volumes?: InstanceReconcilerOptions['volumes'];
  /** reconcileTimeoutMs bounds one reconcile (default 10 min: cloning a large rootfs takes a while) */
  reconcileTimeoutMs?: number;
  /** locks: instance locks bound to this member's lease (see instance-lock.ts) */
  locks?: InstanceLocks;
  /** fenced: the instances this member fenced (shared with its Fencer) */
  fenced?: FencedInstances;
  /** idmaps allocates private id ranges cluster-wide (see security/idmap-allocator.ts) */
  idmaps?: InstanceReconcilerOptions['idmaps'];
}

/** InstanceAgent runs this member's instances; see the file comment. */
export class InstanceAgent {
  readonly controller: Controller;
  readonly reconciler: InstanceReconciler;
  private readonly o: InstanceAgentOptions;
  private readonly log: Logger;
  /** containers this runtime holds (from list() at start, then kept up to date) */
  private readonly local = new Set<string>();
  private readonly prober: CrashProber;
  private readonly sweeper: OrphanSweeper;
  private readonly fencing: InstanceFencing;
  private stopped = false;
  /** fenced: the instances this member fenced; shared with the Fencer */
  readonly fenced: FencedInstances;
  private readonly abort = new AbortController();

  constructor(opts: InstanceAgentOptions) {
    this.o = opts;
    this.log = opts.logger.child({ component: 'instance-agent', member: opts.memberName });
    this.fenced = opts.fenced ?? new FencedInstances();
    const builds =
      opts.images && !opts.runtime.info.simulated
        ? new ImageBuilds({ images: opts.images, clock: opts.clock, logger: this.log, onSettled: (image) => this.wakeWaitingFor(image) })
        : undefined;
    this.reconciler = new InstanceReconciler({
      store: opts.store,
      instanceKind: opts.instanceKind,
      memberName: opts.memberName,
      dataDir: opts.dataDir,
      runtime: opts.runtime,
      builds,
      rootfs: opts.rootfs,
      events: opts.events,
      clock: opts.clock,
      backoff: new RestartBackoffTracker(),
      stopTimeoutSeconds: opts.stopTimeoutSeconds,
      nics: opts.nics,
      volumes: opts.volumes,
      locks: opts.locks,
      fenced: this.fenced,
      idmaps: opts.idmaps,
      observed: (name, obs) => {
        if (obs.exists) this.local.add(name);
        else this.local.delete(name);
        this.prober.remember(name, obs);
      },
      removed: (name) => {
        this.local.delete(name);
        this.prober.forget(name);
      },
    });
    this.controller = new Controller({
      name: 'instance-agent',
      reconciler: this.reconciler,
      logger: opts.logger,
      metrics: opts.metrics,
      clock: opts.clock,
      concurrency: opts.concurrency ?? 4,
      timeoutMs: opts.reconcileTimeoutMs ?? 10 * 60_000,
    }).watches(
      opts.instances,
      enqueueMapped<Instance>((obj) => (this.concerns(obj) ? [requestFor(obj)] : [])),
    );
    const parts = {
      memberName: opts.memberName,
      runtime: opts.runtime,
      instances: opts.instances,
      clock: opts.clock,
      logger: this.log,
      mine: (pick?: (i: Instance) => boolean) => this.mineWhere(pick),
      containerNameOf: (req: Request) => this.reconciler.containerNameOf(req),
      removeContainer: (name: string) => this.reconciler.removeContainer(name),
      warn: (message: string, err: unknown) => this.warn(message, err),
    };
    this.prober = new CrashProber({
      ...parts,
      metrics: opts.metrics,
      intervalMs: opts.probeIntervalMs,
      builds,
      requeue: (req) => this.controller.add(req),
    });
    this.sweeper = new OrphanSweeper({ ...parts, rootfs: opts.rootfs, volumes: opts.volumes, intervalMs: opts.orphanSweepMs });
    this.fencing = new InstanceFencing({ ...parts, events: opts.events, fenced: this.fenced, records: this.reconciler.guard.records });
  }

  /** concerns tells whether an instance is this agent's business: assigned here, or with a container here. */
  private concerns(obj: Instance): boolean {
    return obj.status?.member === this.o.memberName || this.local.has(this.reconciler.containerNameOf(requestFor(obj)));
  }

  /** start lists the runtime's containers, starts the controller (after the informer syncs), the prober and the sweep. */
  async start(): Promise<void> {
    for (const name of await this.o.runtime.list()) this.local.add(name);
    // A member coming back first deletes its stale copies, before any reconcile can start anything.
    await this.o.instances.waitForSync(this.abort.signal);
    if (this.stopped) return;
    await this.removeStaleCopies().catch((err: unknown) => this.warn('stale copy removal failed', err));
    await this.controller.start();
    if (this.stopped) return;
    this.prober.start();
    await this.sweeper.sweepSafely();
    if (this.stopped) return;
    this.sweeper.start();
  }

  /** stop stops the timers and the controller; containers keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.prober.stop();
    this.sweeper.stop();
    await this.controller.stop();
  }

  private warn(message: string, err: unknown): void {
    this.log.warn(message, { error: errorMessage(err) });
    this.o.metrics.errors.inc({ component: 'instance-agent' });
  }

  /**
   * mineWhere returns requests for this member's instances that pass `pick`,
   * reading the cache's own objects inside the filter (never copying them):
   * the prober runs every couple of seconds over possibly thousands of instances.
   */
  private mineWhere(pick: (i: Instance) => boolean = () => true): Request[] {
    const out: Request[] = [];
    this.o.instances.list((i) => {
      if (i.status?.member === this.o.memberName && pick(i)) out.push(requestFor(i));
      return false;
    });
    return out;
  }

  private wakeWaitingFor(image: string): void {
    for (const req of this.mineWhere((i) => i.spec?.image === image)) this.controller.add(req);
  }

  /** probe runs one crash probe now (see CrashProber.probe). */
  async probe(): Promise<void> {
    await this.prober.probe();
  }

  /** cancelUnwantedBuilds stops the builds of images no live instance assigned here names; returns them. */
  cancelUnwantedBuilds(): string[] {
    return this.prober.cancelUnwantedBuilds();
  }

  /** removeStaleCopies deletes local copies placed elsewhere or at a newer epoch (see InstanceFencing.removeStaleCopies). */
  async removeStaleCopies(): Promise<string[]> {
    return this.fencing.removeStaleCopies();
  }

  /** fence force-stops the local copies of failover instances assigned here (see InstanceFencing.fence). */
  async fence(): Promise<FencedCopy[]> {
    return this.fencing.fence();
  }

  /** sweepOrphans runs one orphan sweep now (see OrphanSweeper.sweepOrphans). */
  async sweepOrphans(): Promise<string[]> {
    return this.sweeper.sweepOrphans();
  }
}
