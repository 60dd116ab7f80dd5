/**
 * The instance reconciler's plan step as a pure function: from what the
 * observe step found (InstanceReconciler.observe), `planReconcile` decides
 * the whole reconcile — remove a container nothing claims, remove a stale
 * copy, keep a fenced instance stopped, or carry out `planInstance`'s plan
 * (taking or keeping the instance lock when the plan needs it). The act step
 * (InstanceReconciler.act) carries it out; nothing here touches the store,
 * the host or the clock.
 */
import { hasFinalizer } from '../../lib/controller/finalizers.js';
import type { Instance } from '../../lib/kinds/types.js';
import type { ImageInfo } from './images/types.js';
import { INSTANCE_FINALIZER, planInstance, STEP_MS, type ImageState, type Plan } from './instance-plan.js';
import { FENCED_RECHECK_MS, type PlacementVerdict } from './placement-guard.js';
import type { RestartFacts } from './restart-backoff.js';
import type { Observation } from './runtimes/types.js';
import type { SecurityRecord } from './security/security-plan.js';

/** FoundInstance is what the observe step found of an instance that is in the store. */
export interface FoundInstance {
  kind: 'found';
  /** instance as read, with its isolation recorded when it is assigned here */
  instance: Instance;
  memberName: string;
  containerName: string;
  container: Observation;
  /** assignedHere: assigned to this member and not being deleted */
  assignedHere: boolean;
  /** placement is the placement guard's verdict (always proceed when not assigned here) */
  placement: PlacementVerdict;
  /** image: the image's state, resolved only when a container must be made here */
  image?: ImageState;
  /** imageInfo: the resolved image, handed to the act step */
  imageInfo?: ImageInfo;
  restart: RestartFacts;
  /** liveResize: the runtime changes limits of a running container without a restart */
  liveResize: boolean;
  now: number;
  /** unsavedSecurity: the isolation record observe made (already in `instance.status`), not yet written */
  unsavedSecurity?: SecurityRecord;
  /** read: the instance as stored, without the unsaved record (set with unsavedSecurity) */
  read?: Instance;
}

/** Observed is what the observe step found: the instance is gone from the store, or found. */
export type Observed = { kind: 'gone'; namespace: string; name: string; containerName: string } | FoundInstance;

/** ReconcilePlan is what the act step does; `requeueAfter` (ms) is when to look again. */
export type ReconcilePlan =
  /** removeOrphan: the instance is gone (its finalizer removed by hand); its container goes too */
  | { kind: 'removeOrphan'; namespace: string; name: string; containerName: string }
  /** removeStaleCopy: the local copy was made for an older epoch; delete it first, then look again */
  | { kind: 'removeStaleCopy'; instance: Instance; containerName: string; message: string; requeueAfter: number }
  /** holdFenced: this member fenced the instance at this epoch; keep it stopped and say so */
  | { kind: 'holdFenced'; instance: Instance; containerName: string; stop: boolean; message: string; requeueAfter: number }
  /** instance: carry out the instance plan made from `seen`; `lock` says whether the instance lock is taken first or kept */
  | { kind: 'instance'; seen: FoundInstance; plan: Plan; lock: 'take' | 'keep' | 'none' };

/** planReconcile decides one reconcile from what was observed; see the file comment. */
export function planReconcile(seen: Observed): ReconcilePlan {
  if (seen.kind === 'gone') return { kind: 'removeOrphan', namespace: seen.namespace, name: seen.name, containerName: seen.containerName };
  const { placement, instance, memberName, containerName } = seen;
  const epoch = instance.status?.placementEpoch ?? 0;
  if (placement.kind === 'staleCopy') {
    return {
      kind: 'removeStaleCopy',
      instance,
      containerName,
      message: `removed the copy made for placement epoch ${placement.recordEpoch} from member ${memberName}: the instance is placed here again at epoch ${epoch}`,
      requeueAfter: STEP_MS,
    };
  }
  if (placement.kind === 'fenced') {
    return {
      kind: 'holdFenced',
      instance,
      containerName,
      stop: seen.container.state === 'RUNNING',
      message: `fenced on member ${memberName}: its copy was stopped because the member could not renew its heartbeat lease; it runs again once the failover controller places it (a new placement epoch)`,
      requeueAfter: FENCED_RECHECK_MS,
    };
  }
  const plan = planInstance({
    instance,
    memberName,
    containerName,
    observation: seen.container,
    image: seen.image,
    hasFinalizer: hasFinalizer(instance, INSTANCE_FINALIZER),
    liveResize: seen.liveResize,
    restartWaitMs: seen.restart.waitMs,
    restartDelayMs: seen.restart.delayMs,
    now: seen.now,
  });
  return { kind: 'instance', seen, plan, lock: lockFor(seen, plan) };
}

/**
 * planAfterDefine plans, in the same reconcile, the step after a plan that
 * made the container (it was absent, and `define` succeeded): it now
 * exists, stopped, so when all the next reconcile would do is start it
 * (planning from the instance as written, `instance`) that plan is returned
 * — the same decision without another store read and lxc-info. The start
 * still looks at the container itself before it touches the rootfs
 * (LxcRuntime.start). Otherwise undefined, and the next reconcile decides.
 */
export function planAfterDefine(seen: FoundInstance, done: Plan, instance: Instance, now: number): ReconcilePlan | undefined {
  if (seen.container.exists || !done.actions.includes('define') || done.actions.includes('start')) return undefined;
  const { image: _image, imageInfo: _info, unsavedSecurity: _security, read: _read, ...rest } = seen;
  const next = planReconcile({ ...rest, instance, container: { exists: true, state: 'STOPPED' }, now });
  if (next.kind !== 'instance' || next.plan.actions.length !== 1 || next.plan.actions[0] !== 'start') return undefined;
  return next;
}

/** lockFor: a start here takes the instance lock first; a running copy here keeps it bound to the current lease. */
function lockFor(seen: FoundInstance, plan: Plan): 'take' | 'keep' | 'none' {
  if (!seen.assignedHere) return 'none';
  if (plan.actions.includes('start')) return 'take';
  return seen.container.state === 'RUNNING' ? 'keep' : 'none';
}
