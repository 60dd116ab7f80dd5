/**
 * InstanceReconciler is the host agent's reconciler for one member. Each
 * reconcile reads straight through in three steps:
 * - observe gathers what is: the Instance from the store, its container
 *   through the Runtime, the placement guard's facts (the local copy's
 *   epoch, fencing), the image's state when a container must be made, and
 *   the restart backoff; for an instance assigned here it also records, once,
 *   how the instance is isolated, since every plan depends on that record;
 * - plan is the pure `planReconcile` (reconcile-plan.ts), which applies the
 *   placement rules and asks `planInstance` (instance-plan.ts) what to do;
 * - act carries the plan out idempotently — the instance lock, finalizer,
 *   status writes (status subresource), host actions, Events — and returns
 *   when to look again.
 * It never starts a container for an instance whose assigned member or
 * placement epoch changed since it was read.
 */
import type { Clock } from '../../lib/controller/clock.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../lib/controller/finalizers.js';
import { requestFor, type Reconciler, type ReconcileContext, type Request, type Result } from '../../lib/controller/reconciler.js';
import { updateStatus } from '../../lib/controller/status.js';
import { CloudletError, ConflictError, errorMessage, isCode, TerminalError, UnavailableError } from '../../lib/errors.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance, InstanceStatus } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import type { ImageBuilds } from './image-builds.js';
import type { RootfsProvider } from './images/rootfs.js';
import type { ImageInfo } from './images/types.js';
import {
  createBlocked,
  INSTANCE_FINALIZER,
  needsImage,
  planAfterStart,
  rebaseStatus,
  sameButFailoverFields,
  STEP_MS,
  withFailoverFields,
  type ImageState,
  type Plan,
} from './instance-plan.js';
import type { RestartBackoffTracker } from './restart-backoff.js';
import { containerNameFor, hostnameFor } from './runtimes/naming.js';
import type { FencedInstances } from './fenced-instances.js';
import type { InstanceLocks } from './instance-lock.js';
import { decidePlacement, PlacementGuard, type PlacementVerdict } from './placement-guard.js';
import { planAfterDefine, planReconcile, type FoundInstance, type Observed, type ReconcilePlan } from './reconcile-plan.js';
import type { ContainerSpec, MountSpec, NicSpec, Observation, Runtime } from './runtimes/types.js';
import { requestsOf } from './scheduler.js';
import { DEFAULT_SUBID_RANGE, sharedIdmap, type IdMap, type SubidRange } from './security/idmap.js';
import type { IdmapAllocator } from './security/idmap-allocator.js';
import { containerSecurity, decideSecurity, securityRecord, type SecurityRecord } from './security/security-plan.js';

/** DEFAULT_PROCESS_LIMIT is an instance's process and thread limit when spec.limits.processes is empty. */
export const DEFAULT_PROCESS_LIMIT = 2000;

/** SIMULATED_ROOTFS is the root filesystem path given to simulated runtimes, which need none. */
export const SIMULATED_ROOTFS = '/nonexistent/cloudlet-simulated-rootfs';

/**
 * InstanceVolumes is what the agent needs of storage (the VolumeMounter):
 * bind mounts for a container, made idempotently (again before every start),
 * and `release` of the shared volumes a container mounted — after the agent
 * deleted the container, and while the instance is Stopped. `users` names
 * containers with volumes still mounted, so the orphan sweep retries a
 * release that failed.
 */
export interface InstanceVolumes {
  mountsFor(instance: Instance, containerName: string): Promise<MountSpec[]>;
  release(containerName: string): Promise<void>;
  users(): Promise<string[]>;
}

/** InstanceReconcilerOptions wire the reconciler to its member's host. */
export interface InstanceReconcilerOptions {
  store: Store;
  instanceKind: KindInfo;
  memberName: string;
  dataDir: string;
  runtime: Runtime;
  /** builds and rootfs are not used by simulated runtimes */
  builds?: ImageBuilds;
  rootfs?: RootfsProvider;
  events: EventRecorder;
  clock: Clock;
  backoff: RestartBackoffTracker;
  /** stopTimeoutSeconds is how long a clean stop may take before the kill (default 30) */
  stopTimeoutSeconds?: number;
  /** observed hears every observation, so a prober can check running containers cheaply */
  observed?: (containerName: string, obs: Observation) => void;
  /** removed hears every container the agent deletes */
  removed?: (containerName: string) => void;
  /** nics gives instances their NICs (networking's NicPlumber); without it containers get a loopback only */
  nics?: {
    nicsFor(instance: Instance, rootfsPath: string): Promise<NicSpec[]>;
    release(instance: Instance): Promise<void>;
  };
  /** volumes gives instances their spec.volumes bind mounts and takes shared ones back (storage's VolumeMounter); without it spec.volumes is ignored */
  volumes?: InstanceVolumes;
  /** locks: instance locks bound to this member's lease (failover instances start only while holding theirs) */
  locks?: InstanceLocks;
  /** fenced: instances this member fenced; they never start again here at the epoch they were fenced at */
  fenced?: FencedInstances;
  /** idmaps allocates private id ranges (spec.security.isolatedIdmap) cluster-wide; without it such instances stay blocked */
  idmaps?: IdmapAllocator;
  /** subids is root's subordinate id range the maps come from (default DEFAULT_SUBID_RANGE) */
  subids?: SubidRange;
}

/** InstanceReconciler drives this member's instances; see the file comment. */
export class InstanceReconciler implements Reconciler {
  private readonly o: InstanceReconcilerOptions;
  /** guard applies the fencing discipline (stale copies, fenced instances, locks) */
  readonly guard: PlacementGuard;
  constructor(opts: InstanceReconcilerOptions) {
    this.o = opts;
    this.guard = new PlacementGuard({ ...opts, removeContainer: (name) => this.removeContainer(name) });
  }

  /** containerNameOf is the container name of namespace/name on this member. */
  containerNameOf(req: Request): string {
    return containerNameFor({ dataDir: this.o.dataDir, namespace: req.namespace ?? 'default', name: req.name });
  }

  /** reconcile observes, plans and acts; see the file comment. */
  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const seen = await this.observe(req);
    const plan = planReconcile(seen);
    return this.act(plan);
  }

  /**
   * observe gathers what planReconcile needs. An instance gone from the
   * store ends it there. When the placement guard will not let the instance
   * be planned (a stale copy, a fenced instance), neither is its isolation
   * recorded nor its image resolved.
   */
  private async observe(req: Request): Promise<Observed> {
    const { store, instanceKind, runtime, memberName } = this.o;
    const namespace = req.namespace ?? 'default';
    const containerName = this.containerNameOf(req);
    let instance: Instance;
    try {
      instance = await store.get<Instance>(instanceKind, req.name, req.namespace);
    } catch (err) {
      if (!isCode(err, 'NotFound')) throw err;
      return { kind: 'gone', namespace, name: req.name, containerName };
    }
    const container = await runtime.observe(containerName);
    this.o.observed?.(containerName, container);
    const assignedHere = instance.status?.member === memberName && instance.metadata.deletionTimestamp === undefined;
    let placement: PlacementVerdict = { kind: 'proceed' };
    // Fencing here is moot once the instance is placed elsewhere or going away.
    if (!assignedHere) this.guard.forgetFencing(namespace, req.name);
    else placement = decidePlacement(await this.guard.placementFacts(instance, containerName, container));
    const proceed = placement.kind === 'proceed';
    const read = instance;
    const security = assignedHere && proceed ? await this.recordSecurity(read, container.exists) : undefined;
    if (security) instance = security.instance;
    const image = proceed ? await this.observeImage(instance, container) : {};
    const now = this.o.clock.now();
    const key = instance.metadata.uid ?? `${req.namespace}/${req.name}`;
    const restart = this.o.backoff.facts(key, { now, startedAt: instance.status?.startedAt });
    return {
      kind: 'found',
      instance,
      memberName,
      containerName,
      container,
      assignedHere,
      placement,
      ...image,
      restart,
      liveResize: runtime.info.liveResize,
      now,
      ...(security?.unsaved ? { unsavedSecurity: security.unsaved, read: security.read } : {}),
    };
  }

  /** observeImage resolves the image (starting its build if needed) when a container must be made here; otherwise there is nothing to know. */
  private async observeImage(instance: Instance, container: Observation): Promise<{ image?: ImageState; imageInfo?: ImageInfo }> {
    if (!needsImage(instance, container) || instance.status?.member !== this.o.memberName || this.o.runtime.info.simulated) return {};
    const resolved = await this.builds().resolve(instance.spec?.image ?? '');
    return {
      image: resolved.kind === 'ready' ? { kind: 'ready' } : resolved,
      ...(resolved.info ? { imageInfo: resolved.info } : {}),
    };
  }

  /** act carries out what planReconcile decided and says when to look again. */
  private async act(next: ReconcilePlan): Promise<Result> {
    switch (next.kind) {
      case 'removeOrphan':
        // Gone from the store without us (finalizer removed by hand): nothing claims the container.
        this.guard.forgetFencing(next.namespace, next.name);
        await this.removeContainer(next.containerName);
        return {};
      case 'removeStaleCopy':
        await this.guard.removeStaleCopy(next.instance, next.containerName, next.message);
        return { requeueAfter: next.requeueAfter };
      case 'holdFenced':
        await this.guard.holdFenced(next.instance, next.containerName, next);
        return { requeueAfter: next.requeueAfter };
      case 'instance':
        return this.actOnInstance(next.seen, next.plan, next.lock);
      default:
        return unreachable(next);
    }
  }

  /** actOnInstance takes or keeps the instance lock the plan needs, applies the plan, then keeps the backoff and records the Events. */
  private async actOnInstance(seen: FoundInstance, plan: Plan, lock: 'take' | 'keep' | 'none'): Promise<Result> {
    const { containerName, restart, now } = seen;
    let { instance } = seen;
    // The isolation record rides on the plan's first status write when there is one, else it is written on its own first.
    const security = seen.unsavedSecurity;
    let stored = seen.read ?? instance;
    if (security && !carriesSecurity(plan, lock)) {
      instance = await this.writeStatus(instance, security.status, stored);
      stored = instance;
      if (security.event) void this.o.events.event(instance, security.event.type, security.event.reason, security.event.message);
    }
    if (lock === 'take') {
      const verdict = await this.guard.lockForStart(instance);
      if (!verdict.proceed) return { requeueAfter: verdict.requeueAfter };
    } else if (lock === 'keep') {
      await this.guard.keepLock(instance);
    }
    const applied = await this.apply({ instance, stored, plan, containerName, info: seen.imageInfo });
    if (applied.aborted) return { requeueAfter: 100 };
    if (security?.event && carriesSecurity(plan, lock))
      void this.o.events.event(applied.cur, security.event.type, security.event.reason, security.event.message);
    if (plan.crashed) this.o.backoff.crashed(restart.key, { now, ranForMs: restart.ranForMs });
    if (plan.actions.includes('removeFinalizer')) this.o.backoff.forget(restart.key);
    for (const ev of plan.events) void this.o.events.event(instance, ev.type, ev.reason, ev.message);
    if (applied.started) return this.afterStart(seen, applied.cur, applied.started);
    // A container just made is started in the same reconcile when that is all that is left to do; when the
    // instance changed meanwhile (another controller wrote it), the next reconcile plans again on fresh data.
    const next = planAfterDefine(seen, plan, applied.cur, this.o.clock.now());
    if (next?.kind === 'instance') return this.actOnInstance(next.seen, next.plan, next.lock).catch(lookAgainOnConflict);
    return plan.requeueAfterMs ? { requeueAfter: plan.requeueAfterMs } : {};
  }

  /**
   * afterStart reports a container the plan just started as Running at once,
   * from what the start itself observed (planAfterStart), instead of in a
   * reconcile one step later; when that is not all that is left, or the
   * write meets a newer instance, the next reconcile looks again.
   */
  private async afterStart(seen: FoundInstance, cur: Instance, started: Observation): Promise<Result> {
    this.o.observed?.(seen.containerName, started);
    const next = planAfterStart({
      instance: cur,
      memberName: seen.memberName,
      containerName: seen.containerName,
      observation: started,
      hasFinalizer: hasFinalizer(cur, INSTANCE_FINALIZER),
      liveResize: seen.liveResize,
      restartWaitMs: 0,
      restartDelayMs: seen.restart.delayMs,
      now: this.o.clock.now(),
    });
    if (!next?.status) return { requeueAfter: STEP_MS };
    try {
      cur = await this.writeStatus(cur, next.status);
    } catch (err) {
      return lookAgainOnConflict(err);
    }
    for (const ev of next.events) void this.o.events.event(cur, ev.type, ev.reason, ev.message);
    return next.requeueAfterMs ? { requeueAfter: next.requeueAfterMs } : {};
  }

  /** imageBuilds is the background image builds tracker, when the runtime needs images. */
  get imageBuilds(): ImageBuilds | undefined {
    return this.o.builds;
  }

  private builds(): ImageBuilds {
    if (!this.o.builds) throw new Error('the instance agent needs an image store for a non-simulated runtime');
    return this.o.builds;
  }

  /**
   * apply carries out the plan; `aborted` when it stopped early because the
   * placement changed, else the instance as last written (`cur`) and what a
   * start observed of the container it started (`started`).
   */
  private async apply(opts: {
    instance: Instance;
    /** stored: `instance` as stored (without an isolation record the plan's status carries) */
    stored: Instance;
    plan: Plan;
    containerName: string;
    info: ImageInfo | undefined;
  }): Promise<Applied> {
    const { plan, containerName } = opts;
    const { store, instanceKind, runtime } = this.o;
    let cur = opts.instance;
    let stored = opts.stored;
    if (plan.actions.includes('addFinalizer')) cur = stored = await this.addFinalizer(stored);
    if (plan.status && plan.statusWhen === 'before') cur = await this.writeStatus(cur, plan.status, stored);
    let rootfsPath = runtime.info.simulated ? SIMULATED_ROOTFS : undefined;
    let started: Observation | undefined;
    for (const action of plan.actions) {
      switch (action) {
        case 'ensureRootfs':
          if (!runtime.info.simulated)
            rootfsPath = await this.rootfs().ensureRootfs({
              containerName,
              image: await this.imageInfo(cur, opts.info),
              pool: cur.spec?.rootfs?.pool,
            });
          break;
        case 'define':
          try {
            await runtime.ensureCreated(await this.containerSpec(cur, containerName, rootfsPath, opts.info));
          } catch (err) {
            throw await this.createBlocked(cur, containerName, err);
          }
          await this.guard.defined(cur, containerName);
          break;
        case 'setLimits':
          await runtime.setLimits(containerName, this.limitsOf(cur));
          break;
        case 'start':
          // A Stopped instance gave its shared volumes back: mount them again (a no-op when mounted).
          await this.mountVolumes(cur, containerName);
          if (await this.placementChanged(cur)) return { aborted: true };
          if (!(await this.guard.mayStart(cur))) return { aborted: true };
          try {
            started = await runtime.start(containerName);
          } catch (err) {
            // A spec the host refuses (a volume path the instance pointed outside its rootfs) is shown, not retried blindly.
            if (isCode(err, 'Invalid')) throw await this.createBlocked(cur, containerName, err);
            throw err;
          }
          break;
        case 'stop':
          await runtime.stop(containerName, { timeoutSeconds: this.o.stopTimeoutSeconds ?? 30 });
          break;
        case 'deleteContainer':
          await runtime.delete(containerName);
          await this.o.volumes?.release(containerName);
          this.o.removed?.(containerName);
          await this.guard.removed(containerName, cur);
          break;
        case 'deleteRootfs':
          if (!runtime.info.simulated) await this.rootfs().deleteRootfs(containerName);
          break;
        case 'removeFinalizer':
          // The instance is going for good: its addresses and its private id range go back.
          await this.o.nics?.release(cur);
          await this.o.idmaps?.release(this.idmapOwner(cur));
          await this.guard.removed(containerName, cur);
          cur = await store.update<Instance>(instanceKind, removeFinalizer(cur, INSTANCE_FINALIZER));
          break;
        case 'releaseVolumes':
          await this.o.volumes?.release(containerName);
          break;
        case 'addFinalizer':
          break;
        default:
          return unreachable(action);
      }
    }
    if (plan.status && plan.statusWhen === 'after') cur = await this.writeStatus(cur, plan.status);
    return { aborted: false, cur, ...(started ? { started } : {}) };
  }

  /**
   * createBlocked writes why the container could not be created (status and
   * a Warning Event when the reason is new) and returns the error to throw:
   * a TerminalError for a spec error, the original error (retried with
   * backoff) otherwise.
   */
  private async createBlocked(cur: Instance, containerName: string, err: unknown): Promise<unknown> {
    const error = { message: errorMessage(err), ...(err instanceof CloudletError ? { code: err.code } : {}) };
    const blocked = createBlocked({ instance: cur, containerName, now: this.o.clock.now(), error });
    await this.writeStatus(cur, blocked.status);
    if (blocked.event) void this.o.events.event(cur, blocked.event.type, blocked.event.reason, blocked.event.message);
    return blocked.terminal ? new TerminalError(blocked.status.message ?? error.message, { cause: err }) : err;
  }

  /**
   * writeStatus writes a status planned from `cur` (stored as `from`). A conflict is retried
   * once, and only when the newer copy differs from `from` in nothing but the
   * failover controller's status.recoverable fields (rebaseStatus), which it
   * writes at a random moment soon after an instance is placed; any other
   * change throws the ConflictError, and the runner plans again on fresh data.
   * Those fields are always written as the copy being updated has them.
   */
  private async writeStatus(cur: Instance, status: InstanceStatus, from: Instance = cur): Promise<Instance> {
    const key = { name: cur.metadata.name, namespace: cur.metadata.namespace };
    const mutate = (latest: Instance): InstanceStatus => {
      if (latest === cur) return withFailoverFields(status, cur);
      const rebased = rebaseStatus({ planned: status, from, latest });
      if (!rebased) throw new ConflictError(`instance ${cur.metadata.name} changed since this reconcile read it`);
      return rebased;
    };
    return (await updateStatus<Instance>(this.o.store, this.o.instanceKind, key, mutate, { latest: cur, attempts: 2 })) ?? cur;
  }

  /**
   * addFinalizer adds the agent's finalizer to `cur`. Like writeStatus, a
   * conflict is retried once, on the newer copy, only when that copy differs
   * from `cur` in nothing but the failover controller's status fields.
   */
  private async addFinalizer(cur: Instance): Promise<Instance> {
    // `cur` is the instance as stored: the comparison below must not see an unsaved isolation record.
    const { store, instanceKind } = this.o;
    try {
      return await store.update<Instance>(instanceKind, addFinalizer(cur, INSTANCE_FINALIZER));
    } catch (err) {
      if (!isCode(err, 'Conflict')) throw err;
      const latest = await store.get<Instance>(instanceKind, cur.metadata.name, cur.metadata.namespace);
      if (!sameButFailoverFields(cur, latest)) throw err;
      return store.update<Instance>(instanceKind, addFinalizer(latest, INSTANCE_FINALIZER));
    }
  }

  /** placementChanged re-reads the instance: starting is allowed only while it is still ours at the same epoch. */
  private async placementChanged(cur: Instance): Promise<boolean> {
    const fresh = await this.o.store.get<Instance>(this.o.instanceKind, cur.metadata.name, cur.metadata.namespace);
    if (fresh.metadata.deletionTimestamp !== undefined) return true;
    return fresh.status?.member !== this.o.memberName || (fresh.status?.placementEpoch ?? 0) !== (cur.status?.placementEpoch ?? 0);
  }

  private rootfs(): RootfsProvider {
    if (!this.o.rootfs) throw new Error('the instance agent needs a rootfs provider for a non-simulated runtime');
    return this.o.rootfs;
  }

  private async imageInfo(cur: Instance, known: ImageInfo | undefined): Promise<ImageInfo> {
    const info = known ?? (await this.builds().cachedInfo(cur.spec?.image ?? ''));
    // The image went missing between the plan and now: the next reconcile rebuilds it.
    if (!info) throw new ConflictError(`image ${cur.spec?.image ?? ''} is not in the cache any more`);
    return info;
  }

  private limitsOf(cur: Instance): { cpu: number; memoryBytes: number; processes: number } {
    return { ...requestsOf(cur), processes: cur.spec?.limits?.processes ?? DEFAULT_PROCESS_LIMIT };
  }

  private idmapOwner(cur: Instance): { namespace: string; name: string; uid: string } {
    return { namespace: cur.metadata.namespace ?? 'default', name: cur.metadata.name, uid: cur.metadata.uid ?? '' };
  }

  /**
   * recordSecurity decides, once, how the instance is isolated (see
   * security/security-plan.ts): privileged or not, and the id map —
   * allocated cluster-wide for a private one. It returns the instance with
   * the record in its status and the record itself (`unsaved`), which the
   * act step writes before anything is created — with the plan's first
   * status write when there is one — so every member that runs the instance
   * later uses the same map.
   */
  private async recordSecurity(
    cur: Instance,
    containerExists: boolean,
  ): Promise<{ instance: Instance; unsaved?: SecurityRecord; read?: Instance }> {
    const decision = decideSecurity({ instance: cur, containerExists });
    if (!decision.record) return { instance: cur };
    let idmap: IdMap | undefined;
    try {
      if (decision.map === 'shared') idmap = sharedIdmap(this.o.subids ?? DEFAULT_SUBID_RANGE);
      if (decision.map === 'isolated') {
        if (!this.o.idmaps) throw new UnavailableError('this member cannot allocate private id ranges (no allocator is configured)');
        idmap = await this.o.idmaps.allocate(this.idmapOwner(cur));
      }
    } catch (err) {
      throw await this.createBlocked(cur, this.containerNameOf(requestFor(cur)), err);
    }
    const rec = securityRecord({ instance: cur, reason: decision.reason, idmap, now: this.o.clock.now() });
    return { instance: { ...cur, status: rec.status }, unsaved: rec, read: cur };
  }

  private async containerSpec(
    cur: Instance,
    containerName: string,
    rootfsPath: string | undefined,
    known: ImageInfo | undefined,
  ): Promise<ContainerSpec> {
    const limits = this.limitsOf(cur);
    const security = containerSecurity(cur.status, sharedIdmap(this.o.subids ?? DEFAULT_SUBID_RANGE));
    const spec: ContainerSpec = {
      containerName,
      hostname: hostnameFor(cur.metadata.name),
      rootfsPath: rootfsPath ?? SIMULATED_ROOTFS,
      cpu: limits.cpu,
      memoryBytes: limits.memoryBytes,
      processes: limits.processes,
      nics: [],
      mounts: [],
    };
    if (security.idmap) spec.idmap = { hostId: security.idmap.hostId, size: security.idmap.size };
    if (this.o.runtime.info.simulated) return spec;
    const info = await this.imageInfo(cur, known);
    spec.rootfsPath = rootfsPath ?? (await this.rootfs().ensureRootfs({ containerName, image: info, pool: cur.spec?.rootfs?.pool }));
    const mounts = this.o.volumes ? await this.o.volumes.mountsFor(cur, containerName) : [];
    const nics = this.o.nics ? await this.o.nics.nicsFor(cur, spec.rootfsPath) : [];
    return { ...spec, nics, mounts, distro: info.distro, haltSignal: info.haltSignal };
  }

  private async mountVolumes(cur: Instance, containerName: string): Promise<void> {
    if (this.o.runtime.info.simulated || !this.o.volumes || (cur.spec?.volumes ?? []).length === 0) return;
    await this.o.volumes.mountsFor(cur, containerName);
  }

  /** removeContainer deletes a container and its rootfs that no instance claims any more, and releases its volumes; absent is success. */
  async removeContainer(containerName: string): Promise<void> {
    const obs = await this.o.runtime.observe(containerName);
    if (obs.exists) await this.o.runtime.delete(containerName);
    if (!this.o.runtime.info.simulated && this.o.rootfs) await this.o.rootfs.deleteRootfs(containerName);
    await this.o.volumes?.release(containerName);
    this.o.removed?.(containerName);
    await this.guard.removed(containerName);
  }
}

/**
 * carriesSecurity tells whether an unsaved isolation record goes out with
 * the plan's own first status write: one written before any action, with no
 * instance lock to take first (a lock held elsewhere writes its own status
 * and stops there).
 */
function carriesSecurity(plan: Plan, lock: 'take' | 'keep' | 'none'): boolean {
  return plan.status !== undefined && plan.statusWhen === 'before' && lock !== 'take';
}

/** lookAgainOnConflict turns a ConflictError of a follow-up step into a quiet look again (STEP_MS); anything else is rethrown. */
function lookAgainOnConflict(err: unknown): Result {
  if (isCode(err, 'Conflict')) return { requeueAfter: STEP_MS };
  throw err;
}

/** Applied is how apply ended: stopped early, or done with the instance as last written and what a start observed. */
type Applied = { aborted: true } | { aborted: false; cur: Instance; started?: Observation };

function unreachable(action: never): never {
  throw new Error(`unknown plan action ${String(action)}`);
}
