/**
 * InstanceAgent is the per-member host agent for instances. It runs an
 * InstanceReconciler over the Instance informer for the instances assigned
 * to this member (and any instance that still has a container here), and
 * two timers the informer cannot provide:
 * - a crash prober: every `probeIntervalMs` (default 2 s) it checks each
 *   Running instance's container cheaply — its init process on the host is
 *   still the one seen last (a /proc read), or for simulated runtimes the
 *   runtime's in-memory state — and queues the instance when it is not, so
 *   a container stopped behind Cloudlet's back is noticed within seconds;
 * - an orphan sweep, once the informer has synced and then every
 *   `orphanSweepMs` (default 60 s): containers and root filesystems this
 *   runtime owns that no instance assigned here claims are deleted (and
 *   the shared volumes they mounted released).
 * Stopping the agent leaves containers running; the next start adopts them.
 */
import type { Clock, TimerHandle } from '../../lib/controller/clock.js';
import { Controller } from '../../lib/controller/controller.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import { enqueueMapped } from '../../lib/controller/handlers.js';
import type { Informer } from '../../lib/controller/informer.js';
import { requestFor, type Request } from '../../lib/controller/reconciler.js';
import { errorMessage } from '../../lib/errors.js';
import { processStartTime } from '../../lib/host/proc.js';
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
import type { Observation, Runtime } from './runtimes/types.js';
import type { InstanceLocks } from './instance-lock.js';
import { FencedInstances } from './fenced-instances.js';
import { isFailover } from './placement-guard.js';

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

/** FencedCopy is one local copy the agent stopped when fencing. */
export interface FencedCopy {
  instance: Instance;
  containerName: string;
  /** wasRunning: the container was running and was force-stopped */
  wasRunning: boolean;
}

interface Seen {
  pid?: number;
  initStartedAt?: string;
}

/** InstanceAgent runs this member's instances; see the file comment. */
export class InstanceAgent {
  readonly controller: Controller;
  readonly reconciler: InstanceReconciler;
  private readonly o: InstanceAgentOptions;
  private readonly log: Logger;
  /** containers this runtime holds (from list() at start, then kept up to date) */
  private readonly local = new Set<string>();
  private readonly seen = new Map<string, Seen>();
  private probeTimer: TimerHandle | undefined;
  private sweepTimer: TimerHandle | undefined;
  private stopped = false;
  private probing = false;
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
      observed: (name, obs) => this.remember(name, obs),
      removed: (name) => {
        this.local.delete(name);
        this.seen.delete(name);
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
  }

  /** concerns tells whether an instance is this agent's business: assigned here, or with a container here. */
  private concerns(obj: Instance): boolean {
    return obj.status?.member === this.o.memberName || this.local.has(this.reconciler.containerNameOf(requestFor(obj)));
  }

  private remember(name: string, obs: Observation): void {
    if (obs.exists) this.local.add(name);
    else this.local.delete(name);
    if (obs.state === 'RUNNING') this.seen.set(name, { pid: obs.pid, initStartedAt: obs.initStartedAt });
    else this.seen.delete(name);
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
    this.scheduleProbe();
    await this.sweepOrphans().catch((err: unknown) => this.warn('orphan sweep failed', err));
    this.scheduleSweep();
  }

  /** stop stops the timers and the controller; containers keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.probeTimer) this.o.clock.clearTimeout(this.probeTimer);
    if (this.sweepTimer) this.o.clock.clearTimeout(this.sweepTimer);
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

  private scheduleProbe(): void {
    if (this.stopped) return;
    this.probeTimer = this.o.clock.setTimeout(() => {
      this.probe()
        .catch((err: unknown) => this.warn('crash probe failed', err))
        .finally(() => this.scheduleProbe());
    }, this.o.probeIntervalMs ?? 2000);
  }

  /**
   * probe queues every Running instance whose container is no longer the one
   * last seen running, and cancels image builds no instance here wants any
   * more (instances deleted or moved while their image was being built).
   */
  async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      this.cancelUnwantedBuilds();
      this.o.metrics.privilegedInstances.set({ member: this.o.memberName }, this.mineWhere((i) => i.status?.privileged === true).length);
      for (const req of this.mineWhere((i) => i.status?.phase === 'Running' && !i.metadata.deletionTimestamp)) {
        const name = this.reconciler.containerNameOf(req);
        if (!(await this.stillRunning(name))) this.controller.add(req);
      }
    } finally {
      this.probing = false;
    }
  }

  /** cancelUnwantedBuilds stops the builds of images no live instance assigned here names; returns them. */
  cancelUnwantedBuilds(): string[] {
    const builds = this.reconciler.imageBuilds;
    if (!builds || builds.building().length === 0) return [];
    const wanted = new Set(this.mineWhere((i) => !i.metadata.deletionTimestamp).map((r) => this.o.instances.get(r)?.spec?.image));
    const cancelled = builds.cancelUnwanted((image) => wanted.has(image));
    for (const image of cancelled) this.log.info('cancelled an image build no instance wants', { image });
    return cancelled;
  }

  private async stillRunning(name: string): Promise<boolean> {
    if (this.o.runtime.info.simulated) {
      const obs = await this.o.runtime.observe(name);
      const last = this.seen.get(name);
      return obs.state === 'RUNNING' && last !== undefined && obs.pid === last.pid && obs.initStartedAt === last.initStartedAt;
    }
    const last = this.seen.get(name);
    if (last?.pid === undefined || last.initStartedAt === undefined) return false;
    // The same init process (pid and start time) means the container has not stopped or restarted.
    const started = await processStartTime(last.pid);
    return started?.toISOString() === last.initStartedAt;
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    this.sweepTimer = this.o.clock.setTimeout(() => {
      this.sweepOrphans()
        .catch((err: unknown) => this.warn('orphan sweep failed', err))
        .finally(() => this.scheduleSweep());
    }, this.o.orphanSweepMs ?? 60_000);
  }

  /**
   * removeStaleCopies deletes every local container whose instance is now
   * assigned to another member, or to this one at a newer placement epoch
   * than the container was made for. Returns the removed container names.
   */
  async removeStaleCopies(): Promise<string[]> {
    const removed: string[] = [];
    const byName = new Map(this.o.instances.list().map((i) => [this.reconciler.containerNameOf(requestFor(i)), i] as const));
    for (const name of await this.o.runtime.list()) {
      const inst = byName.get(name);
      if (!inst?.status?.member) continue; // no instance claims it: the orphan sweep decides
      let stale = inst.status.member !== this.o.memberName;
      if (!stale) {
        const rec = await this.reconciler.guard.records.read(name);
        stale = rec !== undefined && rec.epoch < (inst.status.placementEpoch ?? 0);
      }
      if (!stale) continue;
      this.log.info('removing a stale copy', { container: name, assignedTo: inst.status.member, epoch: inst.status.placementEpoch });
      await this.reconciler.removeContainer(name);
      void this.o.events.normal(
        inst,
        'StaleCopyRemoved',
        `removed the stale copy ${name} from member ${this.o.memberName} on its return: the instance is placed on ${inst.status.member} at epoch ${inst.status.placementEpoch ?? 0}`,
      );
      removed.push(name);
    }
    return removed;
  }

  /**
   * fence force-stops every local copy of an instance with recovery failover
   * assigned here and remembers each as fenced at its epoch, so nothing here
   * starts it again until it is placed anew. It uses only the informer cache
   * and the runtime: it works while the store is unreachable.
   */
  async fence(): Promise<FencedCopy[]> {
    const out: FencedCopy[] = [];
    const targets = this.o.instances.list((i) => i.status?.member === this.o.memberName && isFailover(i) && !i.metadata.deletionTimestamp);
    for (const inst of targets) {
      const ns = inst.metadata.namespace ?? 'default';
      const epoch = inst.status?.placementEpoch ?? 0;
      const fresh = !this.fenced.blocks(ns, inst.metadata.name, epoch);
      this.fenced.add(ns, inst.metadata.name, epoch);
      const name = this.reconciler.containerNameOf(requestFor(inst));
      const obs = await this.o.runtime.observe(name);
      const wasRunning = obs.state === 'RUNNING' || obs.state === 'STARTING';
      if (obs.exists && obs.state !== 'STOPPED') await this.o.runtime.stop(name, { force: true });
      if (fresh || wasRunning) out.push({ instance: inst, containerName: name, wasRunning });
    }
    return out;
  }

  /** sweepOrphans deletes containers, root filesystems and volume mounts here that no instance assigned to this member claims. */
  async sweepOrphans(): Promise<string[]> {
    const claimedNow = (): Set<string> => new Set(this.mineWhere().map((r) => this.reconciler.containerNameOf(r)));
    const claimed = claimedNow();
    const names = new Set(await this.o.runtime.list());
    if (this.o.rootfs && !this.o.runtime.info.simulated) for (const n of await this.o.rootfs.list()) names.add(n);
    // A container deleted while its volumes failed to unmount: removing it again retries the release.
    if (this.o.volumes) for (const n of await this.o.volumes.users()) names.add(n);
    const removed: string[] = [];
    for (const name of names) {
      if (claimed.has(name)) continue;
      // Another instance may claim it now (the informer moved on while we listed): check again.
      if (claimedNow().has(name)) continue;
      this.log.info('removing orphaned container', { container: name });
      await this.reconciler.removeContainer(name);
      removed.push(name);
    }
    return removed;
  }
}
