/**
 * The instance agent's decisions as pure functions: from the Instance (spec
 * and status), what the runtime observes of its container, the image's state
 * and the restart backoff, `planInstance` computes the actions to take on the
 * host, the next status, the Events and when to look again. The instance
 * reconciler (instance-reconciler.ts) gathers the inputs in its observe step,
 * calls it through planReconcile (reconcile-plan.ts) and applies the plan in
 * its act step; nothing here touches the store, the host or the clock.
 */
import { setCondition } from '../../lib/controller/conditions.js';
import { deepEqual } from '../../lib/json.js';
import { formatBytes } from '../../lib/kinds/quantity.js';
import type { CloudletErrorCode } from '../../lib/errors.js';
import type { Instance, InstanceStatus } from '../../lib/kinds/types.js';
import type { Observation } from './runtimes/types.js';
import { formatCpu, requestsOf } from './scheduler.js';

/** INSTANCE_FINALIZER keeps an Instance until its agent has removed the container and root filesystem. */
export const INSTANCE_FINALIZER = 'cloudlet.dev/instance-agent';

/** ImageState is what the agent knows of the instance's image when a container must be created. */
export type ImageState =
  | { kind: 'ready' }
  | { kind: 'building'; progress: string }
  | { kind: 'failed'; reason: 'InvalidImage' | 'ImageNotFound' | 'ImageBuildFailed'; message: string; retryable: boolean };

/** PlanAction is one step on the host, applied in order; every step is idempotent. */
export type PlanAction =
  | 'addFinalizer'
  | 'ensureRootfs'
  | 'define'
  | 'setLimits'
  | 'start'
  | 'stop'
  | 'deleteContainer'
  | 'deleteRootfs'
  | 'removeFinalizer'
  /** releaseVolumes gives back the shared volumes a Stopped instance mounted (they are mounted again before a start) */
  | 'releaseVolumes';

/** PlanEvent is an Event to record about the instance. */
export interface PlanEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** PlanInput is everything a decision depends on. */
export interface PlanInput {
  instance: Instance;
  /** memberName is this agent's member */
  memberName: string;
  containerName: string;
  observation: Observation;
  /** image: required only when the container does not exist (see needsImage) */
  image?: ImageState;
  hasFinalizer: boolean;
  /** liveResize: the runtime changes limits of a running container without a restart */
  liveResize: boolean;
  /** restartWaitMs: backoff left before a crashed instance may start again (0 = now) */
  restartWaitMs: number;
  /** restartDelayMs: the backoff this crash would get, if this reconcile finds one */
  restartDelayMs: number;
  now: number;
}

/** Plan is what to do: `status` (undefined = unchanged) is written before the actions or after them, per `statusWhen`. */
export interface Plan {
  actions: PlanAction[];
  status?: InstanceStatus;
  statusWhen: 'before' | 'after';
  events: PlanEvent[];
  /** crashed: the container exited behind Cloudlet's back and will be restarted after restartDelayMs */
  crashed?: boolean;
  requeueAfterMs?: number;
}

/** STEP_MS is the requeue after host actions, so the next reconcile observes their result at once. */
export const STEP_MS = 1;
/** BUILD_POLL_MS is how often an instance waiting for an image build refreshes its progress. */
export const BUILD_POLL_MS = 2000;
/** IMAGE_RETRY_MS is when a retryable image failure (mirror unreachable) is tried again. */
export const IMAGE_RETRY_MS = 60_000;

/** needsImage tells whether the agent must resolve the image before planning: a container that should exist does not yet. */
export function needsImage(instance: Instance, obs: Observation): boolean {
  return !obs.exists && instance.metadata.deletionTimestamp === undefined;
}

/** limitsText renders the instance's limits for messages ("1 CPU and 256Mi of memory"). */
export function limitsText(instance: Instance): string {
  const r = requestsOf(instance);
  return `${formatCpu(r.cpu)} and ${formatBytes(r.memoryBytes)} of memory`;
}

type ReadyReason =
  | 'Creating'
  | 'CreateBlocked'
  | 'CreateFailed'
  | 'Starting'
  | 'Running'
  | 'Stopping'
  | 'Stopped'
  | 'ContainerExited'
  | 'Restarting'
  | 'Deleting'
  | 'InvalidImage'
  | 'ImageNotFound'
  | 'ImageBuildFailed';

/**
 * statusWith builds the next status. `observed: false` keeps the old
 * observedGeneration: the spec's limits are not applied by this step yet, so a
 * later step must still see the generation as new.
 */
function statusWith(
  input: Pick<PlanInput, 'instance' | 'containerName' | 'now'>,
  patch: Partial<InstanceStatus> & { phase: InstanceStatus['phase']; message: string },
  ready: { ok: boolean; reason: ReadyReason },
  drop: Array<keyof InstanceStatus> = [],
  observed = true,
): InstanceStatus {
  const { instance } = input;
  const old = instance.status ?? {};
  const next: InstanceStatus = {
    ...old,
    observedGeneration: observed ? (instance.metadata.generation ?? old.observedGeneration) : old.observedGeneration,
    containerName: input.containerName,
    // status.recoverable and recoverableReason belong to the failover controller
    // (controllers/membership/recoverability.ts): copied through, never computed here.
    // 0 rather than absent, so RESTARTS reads 0 until the first restart
    restartCount: old.restartCount ?? 0,
    ...patch,
  };
  for (const key of drop) delete next[key];
  next.conditions = setCondition(
    old.conditions,
    {
      type: 'Ready',
      status: ready.ok ? 'True' : 'False',
      reason: ready.reason,
      message: patch.message,
      observedGeneration: instance.metadata.generation,
    },
    input.now,
  );
  return next;
}

function plan(actions: PlanAction[], rest: Partial<Plan> = {}): Plan {
  return { actions, statusWhen: 'before', events: [], ...rest };
}

function readyReason(instance: Instance): string | undefined {
  return instance.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
}

/**
 * Facts is what every branch of planInstance reads besides its input: the
 * current status, the actions that come first (the finalizer), the desired
 * state, and whether the spec changed since the status was written.
 */
interface Facts {
  input: PlanInput;
  instance: Instance;
  status: InstanceStatus;
  me: string;
  /** pre: actions before any other (addFinalizer while it is missing) */
  pre: PlanAction[];
  desired: 'Running' | 'Stopped';
  generationChanged: boolean;
}

/**
 * planInstance decides the next step for one instance on this member; see the
 * file comment. It picks the branch by what is observed: assigned elsewhere,
 * being deleted, no container, a running one, one in transition, a stopped one.
 */
export function planInstance(input: PlanInput): Plan {
  const { instance, observation: obs, memberName: me } = input;
  const status = instance.status ?? {};
  if (status.member !== me) return planOnAnotherMember(input);
  if (instance.metadata.deletionTimestamp !== undefined) return planDeleting(input);
  const facts: Facts = {
    input,
    instance,
    status,
    me,
    pre: input.hasFinalizer ? [] : ['addFinalizer'],
    desired: instance.spec?.state ?? 'Running',
    generationChanged: instance.metadata.generation !== undefined && status.observedGeneration !== instance.metadata.generation,
  };
  if (!obs.exists) return planAbsent(facts);
  if (obs.state === 'RUNNING') return planRunning(facts);
  // STARTING, STOPPING, FROZEN, ABORTING: a transition in progress; look again shortly.
  if (obs.state !== 'STOPPED') return plan(facts.pre, { requeueAfterMs: 500 });
  return planStopped(facts);
}

/**
 * planAfterStart plans the step after a start in the same reconcile: the
 * runtime's start resolved with `input.observation` of the container, and
 * `input.instance` is the instance as written by the plan that started it.
 * When the container runs and all that is left is to say so (Running, with
 * the Started Event), that plan is returned, so Running is written as soon
 * as the start returns rather than by another reconcile; otherwise
 * undefined, and the next reconcile looks again.
 */
export function planAfterStart(input: PlanInput): Plan | undefined {
  if (!input.observation.exists || input.observation.state !== 'RUNNING') return undefined;
  const next = planInstance(input);
  return next.actions.length === 0 && next.status?.phase === 'Running' ? next : undefined;
}

/** planOnAnotherMember: not ours (never or no longer), so a copy left here from an earlier placement must go. */
function planOnAnotherMember(input: PlanInput): Plan {
  if (!input.observation.exists) return plan([]);
  return plan(['deleteContainer', 'deleteRootfs'], {
    events: [
      {
        type: 'Normal',
        reason: 'StaleCopyRemoved',
        message: `removed the stale container ${input.containerName} from member ${input.memberName}: the instance is assigned to ${input.instance.status?.member ?? 'no member'}`,
      },
    ],
  });
}

/** planDeleting removes the container and its root filesystem, then the finalizer. */
function planDeleting(input: PlanInput): Plan {
  if (!input.hasFinalizer) return plan([]);
  const message = `deleting the container ${input.containerName} and its root filesystem from member ${input.memberName}`;
  return plan(['deleteContainer', 'deleteRootfs', 'removeFinalizer'], {
    status: statusWith(input, { phase: 'Deleting', message }, { ok: false, reason: 'Deleting' }, ['addresses', 'startedAt']),
    events: [{ type: 'Normal', reason: 'Deleting', message }],
  });
}

/** planAbsent: no container yet (or it was lost) — wait for the image, or create it. */
function planAbsent(f: Facts): Plan {
  const { input, instance, status, me, pre } = f;
  const img = input.image ?? { kind: 'ready' };
  if (img.kind !== 'ready') return planImageNotReady(f, img);
  const image = instance.spec?.image ?? '';
  // A spec the container cannot be made from stays Failed until the spec changes.
  if (readyReason(instance) === 'CreateFailed' && !f.generationChanged) return plan(pre);
  const lost = status.phase === 'Running' && f.desired === 'Running';
  const message = `creating the container ${input.containerName} from image ${image} with ${limitsText(instance)}`;
  // A creation blocked by what it needs (a network, an address, a volume) keeps saying why while it retries.
  const blocked = readyReason(instance) === 'CreateBlocked' && !f.generationChanged;
  return plan([...pre, 'ensureRootfs', 'define'], {
    ...(blocked
      ? {}
      : {
          status: statusWith(input, { phase: 'Creating', message }, { ok: false, reason: 'Creating' }, [
            'imageProgress',
            'startedAt',
            'addresses',
          ]),
        }),
    events: lost
      ? [
          {
            type: 'Warning',
            reason: 'ContainerLost',
            message: `the container ${input.containerName} disappeared from member ${me}; recreating it`,
          },
        ]
      : [],
    requeueAfterMs: STEP_MS,
  });
}

/** planImageNotReady: the image the container needs failed (Failed, retried when the failure is retryable) or is being built (Creating). */
function planImageNotReady(f: Facts, img: Exclude<ImageState, { kind: 'ready' }>): Plan {
  const { input, instance, status, me, pre } = f;
  if (img.kind === 'failed') {
    const message = `cannot create the container: ${img.message}`;
    const changed = status.phase !== 'Failed' || status.message !== message;
    return plan(pre, {
      status: statusWith(input, { phase: 'Failed', message }, { ok: false, reason: img.reason }, [
        'imageProgress',
        'startedAt',
        'addresses',
      ]),
      events: changed ? [{ type: 'Warning', reason: img.reason, message }] : [],
      ...(img.retryable ? { requeueAfterMs: IMAGE_RETRY_MS } : {}),
    });
  }
  const message = `building image ${instance.spec?.image ?? ''} on member ${me}; the container is created when it is ready`;
  return plan(pre, {
    status: statusWith(input, { phase: 'Creating', message, imageProgress: img.progress }, { ok: false, reason: 'Creating' }),
    requeueAfterMs: BUILD_POLL_MS,
  });
}

/** planRunning: the container runs — stop it, apply new limits, or report it Running. */
function planRunning(f: Facts): Plan {
  const { input, instance, status, me, pre } = f;
  const obs = input.observation;
  if (f.desired === 'Stopped') {
    const message = `stopping the container because spec.state is Stopped`;
    return plan([...pre, 'stop'], {
      status: statusWith(input, { phase: 'Stopping', message }, { ok: false, reason: 'Stopping' }, [], false),
      requeueAfterMs: STEP_MS,
    });
  }
  const startedAt = obs.initStartedAt ?? status.startedAt ?? new Date(input.now).toISOString();
  const message = `the container ${input.containerName} is running on member ${me}`;
  const running = statusWith(
    input,
    { phase: 'Running', message, startedAt, ...(obs.addresses ? { addresses: obs.addresses } : {}) },
    { ok: true, reason: 'Running' },
    obs.addresses ? ['imageProgress'] : ['imageProgress', 'addresses'],
  );
  if (f.generationChanged) return planNewLimits(f, running);
  const events: PlanEvent[] =
    status.phase === 'Starting' && readyReason(instance) !== 'Restarting'
      ? [{ type: 'Normal', reason: 'Started', message: `started the container ${input.containerName} on member ${me}` }]
      : [];
  return plan(pre, { status: running, events });
}

/** planNewLimits applies a changed spec to a running container: live when the runtime can, else by a restart. */
function planNewLimits(f: Facts, running: InstanceStatus): Plan {
  const { input, instance, pre } = f;
  if (input.liveResize) {
    return plan([...pre, 'setLimits'], {
      status: running,
      statusWhen: 'after',
      events: [
        {
          type: 'Normal',
          reason: 'LimitsUpdated',
          message: `applied ${limitsText(instance)} to the running container without a restart`,
        },
      ],
    });
  }
  const restarting = `restarting the container to apply ${limitsText(instance)}: this runtime cannot change limits of a running container`;
  return plan([...pre, 'define', 'stop', 'start'], {
    status: statusWith(input, { phase: 'Starting', message: restarting }, { ok: false, reason: 'Starting' }),
    statusWhen: 'after',
    events: [{ type: 'Normal', reason: 'Restarting', message: restarting }],
    requeueAfterMs: STEP_MS,
  });
}

/** planStopped: the container exists and is stopped — keep it stopped, notice a crash, restart it, or start it. */
function planStopped(f: Facts): Plan {
  const { input, instance, status, pre } = f;
  const limitsAction: PlanAction[] = f.generationChanged ? [input.liveResize ? 'setLimits' : 'define'] : [];
  if (f.desired === 'Stopped') {
    const message = `the container is stopped because spec.state is Stopped`;
    const events: PlanEvent[] =
      status.phase === 'Stopping' ? [{ type: 'Normal', reason: 'Stopped', message: `stopped the container ${input.containerName}` }] : [];
    // A Stopped instance holds no shared volume: its data is at rest in the pool, free to mount elsewhere (docs/storage.md).
    const release: PlanAction[] = (instance.spec?.volumes ?? []).length > 0 ? ['releaseVolumes'] : [];
    return plan([...pre, ...limitsAction, ...release], {
      status: statusWith(input, { phase: 'Stopped', message }, { ok: false, reason: 'Stopped' }, ['startedAt', 'addresses']),
      statusWhen: 'after',
      events,
    });
  }
  if (status.phase === 'Running') return planExited(f);
  const exited = readyReason(instance) === 'ContainerExited';
  // Left stopped after exiting with recovery none: only a spec change starts it again.
  if (exited && status.phase === 'Stopped' && !f.generationChanged) return plan(pre);
  if (exited && status.phase === 'Starting') return planRestart(f, limitsAction);
  const message = `starting the container ${input.containerName} on member ${f.me}`;
  return plan([...pre, ...limitsAction, 'start'], {
    status: statusWith(input, { phase: 'Starting', message }, { ok: false, reason: 'Starting' }),
    requeueAfterMs: STEP_MS,
  });
}

/** planExited: a container that was Running stopped on its own — leave it (recovery none) or restart it after the backoff. */
function planExited(f: Facts): Plan {
  const { input, instance, pre } = f;
  const how = `the container exited on its own (its init stopped: halted inside, stopped outside Cloudlet, or killed)`;
  if ((instance.spec?.recovery ?? 'restart') === 'none') {
    const message = `${how}; spec.recovery is none, so it stays stopped until its spec changes`;
    return plan(pre, {
      status: statusWith(input, { phase: 'Stopped', message }, { ok: false, reason: 'ContainerExited' }, ['startedAt', 'addresses'], false),
      events: [{ type: 'Warning', reason: 'ContainerExited', message }],
    });
  }
  const secs = Math.round(input.restartDelayMs / 100) / 10;
  const message = `${how}; restarting it in ${secs} s`;
  return plan(pre, {
    status: statusWith(input, { phase: 'Starting', message }, { ok: false, reason: 'ContainerExited' }, ['startedAt', 'addresses'], false),
    events: [{ type: 'Warning', reason: 'ContainerExited', message }],
    crashed: true,
    requeueAfterMs: Math.max(STEP_MS, input.restartDelayMs),
  });
}

/** planRestart starts an exited container again once its restart backoff has passed. */
function planRestart(f: Facts, limitsAction: PlanAction[]): Plan {
  const { input, status, pre } = f;
  if (input.restartWaitMs > 0) return plan(pre, { requeueAfterMs: input.restartWaitMs });
  const count = (status.restartCount ?? 0) + 1;
  const message = `restarting the container after it exited (restart ${count})`;
  return plan([...pre, ...limitsAction, 'start'], {
    status: statusWith(input, { phase: 'Starting', message, restartCount: count }, { ok: false, reason: 'Restarting' }),
    events: [
      {
        type: 'Normal',
        reason: 'Restarted',
        message: `restarted the container ${input.containerName} after it exited (restart ${count})`,
      },
    ],
    requeueAfterMs: STEP_MS,
  });
}

/** FAILOVER_STATUS_KEYS are the status fields the failover controller owns; the agent copies them through. */
const FAILOVER_STATUS_KEYS = ['recoverable', 'recoverableReason'] as const;

/**
 * sameButFailoverFields tells whether `latest`, a newer copy of the
 * instance `from`, differs from it only in what the failover controller
 * owns (status.recoverable and recoverableReason, which it writes once an
 * instance is placed) and its resourceVersion: then a plan made from `from`
 * still holds.
 */
export function sameButFailoverFields(from: Instance, latest: Instance): boolean {
  const rest = (o: Instance): unknown => {
    const { resourceVersion: _rv, ...metadata } = o.metadata;
    const status: Record<string, unknown> = { ...o.status };
    for (const k of FAILOVER_STATUS_KEYS) delete status[k];
    return { ...o, metadata, status };
  };
  return deepEqual(rest(from), rest(latest));
}

/** withFailoverFields returns `status` with the failover controller's fields as `latest` has them (never computed by the agent). */
export function withFailoverFields(status: InstanceStatus, latest: Instance): InstanceStatus {
  const next: InstanceStatus = { ...status };
  for (const k of FAILOVER_STATUS_KEYS) delete next[k];
  const old = latest.status ?? {};
  if (old.recoverable !== undefined) next.recoverable = old.recoverable;
  if (old.recoverableReason !== undefined) next.recoverableReason = old.recoverableReason;
  return next;
}

/**
 * rebaseStatus carries a status planned from `from` over to `latest`, a
 * newer copy of the same instance, when the two differ only in the failover
 * controller's fields (sameButFailoverFields): the planned status with those
 * fields taken from `latest`. Anything else changed (spec, metadata, any
 * other status field) gives undefined: the plan was made on stale data and
 * must be made again.
 */
export function rebaseStatus(input: { planned: InstanceStatus; from: Instance; latest: Instance }): InstanceStatus | undefined {
  return sameButFailoverFields(input.from, input.latest) ? withFailoverFields(input.planned, input.latest) : undefined;
}

/** CreateBlocked is how a failed container creation shows in status: see createBlocked. */
export interface CreateBlocked {
  status: InstanceStatus;
  /** event is set only when the message is new, so a retried failure does not repeat its Event */
  event?: PlanEvent;
  /** terminal: the spec itself is wrong (e.g. a fixed address outside the subnet); only a spec change helps */
  terminal: boolean;
}

/**
 * createBlocked turns an error from creating the container (a network that
 * does not exist or is not ready here, a fixed address that is taken or
 * invalid, a volume that is not ready) into the status that tells the user:
 * a spec error (`code` Invalid, a ValidationError) makes the instance Failed and is terminal;
 * anything else keeps it Creating with the reason while the agent retries.
 */
export function createBlocked(input: {
  instance: Instance;
  containerName: string;
  now: number;
  error: { code?: CloudletErrorCode; message: string };
}): CreateBlocked {
  const terminal = input.error.code === 'Invalid';
  const message = `cannot create the container: ${input.error.message}`;
  const old = input.instance.status ?? {};
  const status = statusWith(
    input,
    { phase: terminal ? 'Failed' : 'Creating', message },
    { ok: false, reason: terminal ? 'CreateFailed' : 'CreateBlocked' },
    ['imageProgress', 'startedAt', 'addresses'],
  );
  const changed = old.message !== message || old.phase !== status.phase;
  return {
    status,
    terminal,
    ...(changed ? { event: { type: 'Warning', reason: terminal ? 'CreateFailed' : 'CreateBlocked', message } } : {}),
  };
}
