import { expect } from 'chai';
import {
  createBlocked,
  INSTANCE_FINALIZER,
  planAfterStart,
  planInstance,
  rebaseStatus,
  withFailoverFields,
  needsImage,
  type PlanInput,
  type PlanAction,
  type ImageState,
} from '../../../../controllers/instances/instance-plan.js';
import type { Observation } from '../../../../controllers/instances/runtimes/types.js';
import type { CloudletErrorCode } from '../../../../lib/errors.js';
import type { Instance, InstancePhase, InstanceSpec, InstanceStatus } from '../../../../lib/kinds/types.js';

const NOW = Date.parse('2025-05-01T12:00:00Z');
const STARTED = '2025-05-01T11:00:00.000Z';
const CONTAINER = 'cl-0000abcd-default_web';

function inst(
  opts: { spec?: Partial<InstanceSpec>; status?: InstanceStatus; generation?: number; deleting?: boolean; ready?: string } = {},
): Instance {
  const status: InstanceStatus = { member: 'm1', placementEpoch: 1, observedGeneration: 1, ...opts.status };
  if (opts.ready) status.conditions = [{ type: 'Ready', status: 'False', reason: opts.ready, message: 'x', lastTransitionTime: STARTED }];
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'u1',
      generation: opts.generation ?? 1,
      finalizers: [INSTANCE_FINALIZER],
      ...(opts.deleting ? { deletionTimestamp: '2025-05-01T11:59:00Z' } : {}),
    },
    spec: { image: 'busybox', cpu: 1, memory: '128Mi', ...opts.spec },
    status,
  };
}

const running: Observation = { exists: true, state: 'RUNNING', pid: 4242, initStartedAt: STARTED };
const stopped: Observation = { exists: true, state: 'STOPPED' };
const absent: Observation = { exists: false, state: 'STOPPED' };

function input(instance: Instance, observation: Observation, extra: Partial<PlanInput> = {}): PlanInput {
  return {
    instance,
    memberName: 'm1',
    containerName: CONTAINER,
    observation,
    hasFinalizer: instance.metadata.finalizers?.includes(INSTANCE_FINALIZER) ?? false,
    liveResize: true,
    restartWaitMs: 0,
    restartDelayMs: 1000,
    now: NOW,
    ...extra,
  };
}

interface Row {
  title: string;
  input: PlanInput;
  actions: PlanAction[];
  phase?: InstancePhase | 'unchanged';
  ready?: string;
  events?: string[];
  requeue?: number | 'none' | 'some';
  check?: (p: ReturnType<typeof planInstance>) => void;
}

const ready: ImageState = { kind: 'ready' };
const rows: Row[] = [
  {
    title: 'adds the finalizer before creating anything for a newly scheduled instance',
    input: input({ ...inst({ status: { phase: 'Scheduled' } }), metadata: { name: 'web', namespace: 'default', generation: 1 } }, absent, {
      image: ready,
      hasFinalizer: false,
    }),
    actions: ['addFinalizer', 'ensureRootfs', 'define'],
    phase: 'Creating',
    requeue: 'some',
  },
  {
    title: 'creates the rootfs and container when the image is ready',
    input: input(inst({ status: { phase: 'Scheduled' } }), absent, { image: ready }),
    actions: ['ensureRootfs', 'define'],
    phase: 'Creating',
    ready: 'Creating',
  },
  {
    title: 'waits in Creating with the build progress while the image builds',
    input: input(inst({ spec: { image: 'debian/bookworm' }, status: { phase: 'Scheduled' } }), absent, {
      image: { kind: 'building', progress: 'downloading: Retrieving libc6' },
    }),
    actions: [],
    phase: 'Creating',
    requeue: 2000,
    check: (p) => expect(p.status?.imageProgress).to.equal('downloading: Retrieving libc6'),
  },
  {
    title: 'fails with a Warning when the image is unknown, and does not requeue',
    input: input(inst({ status: { phase: 'Scheduled' } }), absent, {
      image: { kind: 'failed', reason: 'InvalidImage', message: 'spec.image: "nope" is not an image', retryable: false },
    }),
    actions: [],
    phase: 'Failed',
    ready: 'InvalidImage',
    events: ['Warning/InvalidImage'],
    requeue: 'none',
  },
  {
    title: 'does not repeat the Warning while the same image failure persists',
    input: input(inst({ status: { phase: 'Failed', message: 'cannot create the container: image file:///x: missing' } }), absent, {
      image: { kind: 'failed', reason: 'ImageNotFound', message: 'image file:///x: missing', retryable: true },
    }),
    actions: [],
    phase: 'Failed',
    events: [],
    requeue: 60_000,
  },
  {
    title: 'starts a created, stopped container that should run',
    input: input(inst({ status: { phase: 'Creating' } }), stopped),
    actions: ['start'],
    phase: 'Starting',
    ready: 'Starting',
    requeue: 'some',
  },
  {
    title: 'reports Running with startedAt and Ready=True once the container runs',
    input: input(inst({ status: { phase: 'Starting' } }), running),
    actions: [],
    phase: 'Running',
    ready: 'Running',
    events: ['Normal/Started'],
    check: (p) => expect(p.status?.startedAt).to.equal(STARTED),
  },
  {
    title: 'adopts a running container as it is (no actions, no status change needed)',
    input: input(inst({ status: { phase: 'Running', startedAt: STARTED, containerName: CONTAINER } }), running),
    actions: [],
    phase: 'Running',
    events: [],
    requeue: 'none',
  },
  {
    title: 'stops a running container when spec.state is Stopped',
    input: input(inst({ spec: { state: 'Stopped' }, generation: 2, status: { phase: 'Running', startedAt: STARTED } }), running),
    actions: ['stop'],
    phase: 'Stopping',
    ready: 'Stopping',
    check: (p) => expect(p.status?.observedGeneration).to.equal(1),
  },
  {
    title: 'reports Stopped after the stop and records it',
    input: input(inst({ spec: { state: 'Stopped' }, status: { phase: 'Stopping' } }), stopped),
    actions: [],
    phase: 'Stopped',
    ready: 'Stopped',
    events: ['Normal/Stopped'],
  },
  {
    title: 'creates but does not start an instance that should be stopped',
    input: input(inst({ spec: { state: 'Stopped' }, status: { phase: 'Creating' } }), stopped),
    actions: [],
    phase: 'Stopped',
  },
  {
    title: 'applies changed limits live when the runtime can',
    input: input(inst({ generation: 2, status: { phase: 'Running', startedAt: STARTED } }), running),
    actions: ['setLimits'],
    phase: 'Running',
    events: ['Normal/LimitsUpdated'],
    check: (p) => {
      expect(p.statusWhen).to.equal('after');
      expect(p.status?.observedGeneration).to.equal(2);
    },
  },
  {
    title: 'restarts to apply changed limits when the runtime cannot resize live',
    input: input(inst({ generation: 2, status: { phase: 'Running', startedAt: STARTED } }), running, { liveResize: false }),
    actions: ['define', 'stop', 'start'],
    phase: 'Starting',
    events: ['Normal/Restarting'],
  },
  {
    title: 'writes changed limits into a stopped container definition',
    input: input(inst({ spec: { state: 'Stopped' }, generation: 3, status: { phase: 'Stopped' } }), stopped),
    actions: ['setLimits'],
    phase: 'Stopped',
  },
  {
    title: 'notices a crash of a Running container and schedules a restart after the backoff',
    input: input(inst({ status: { phase: 'Running', startedAt: STARTED } }), stopped, { restartDelayMs: 2000 }),
    actions: [],
    phase: 'Starting',
    ready: 'ContainerExited',
    events: ['Warning/ContainerExited'],
    requeue: 2000,
    check: (p) => {
      expect(p.crashed).to.equal(true);
      expect(p.status?.message).to.match(/restarting it in 2 s/);
    },
  },
  {
    title: 'waits out the backoff before restarting',
    input: input(inst({ status: { phase: 'Starting' }, ready: 'ContainerExited' }), stopped, { restartWaitMs: 1500 }),
    actions: [],
    phase: 'unchanged',
    requeue: 1500,
  },
  {
    title: 'restarts after the backoff, counting the restart',
    input: input(inst({ status: { phase: 'Starting', restartCount: 2 }, ready: 'ContainerExited' }), stopped),
    actions: ['start'],
    phase: 'Starting',
    ready: 'Restarting',
    events: ['Normal/Restarted'],
    check: (p) => expect(p.status?.restartCount).to.equal(3),
  },
  {
    title: 'does not emit Started when a restart comes up',
    input: input(inst({ status: { phase: 'Starting', restartCount: 3 }, ready: 'Restarting' }), running),
    actions: [],
    phase: 'Running',
    events: [],
  },
  {
    title: 'leaves a crashed instance Stopped with recovery none, saying why',
    input: input(inst({ spec: { recovery: 'none' }, status: { phase: 'Running', startedAt: STARTED } }), stopped),
    actions: [],
    phase: 'Stopped',
    ready: 'ContainerExited',
    events: ['Warning/ContainerExited'],
    check: (p) => expect(p.status?.message).to.match(/recovery is none/),
  },
  {
    title: 'keeps a recovery-none instance stopped on later passes',
    input: input(inst({ spec: { recovery: 'none' }, status: { phase: 'Stopped' }, ready: 'ContainerExited' }), stopped),
    actions: [],
    phase: 'unchanged',
    requeue: 'none',
  },
  {
    title: 'starts a recovery-none instance again after a spec change',
    input: input(inst({ spec: { recovery: 'none' }, generation: 2, status: { phase: 'Stopped' }, ready: 'ContainerExited' }), stopped),
    actions: ['setLimits', 'start'],
    phase: 'Starting',
    ready: 'Starting',
  },
  {
    title: 'deletes container and rootfs, then removes the finalizer, when being deleted',
    input: input(inst({ deleting: true, status: { phase: 'Running' } }), running),
    actions: ['deleteContainer', 'deleteRootfs', 'removeFinalizer'],
    phase: 'Deleting',
    events: ['Normal/Deleting'],
  },
  {
    title: 'does nothing for a deleted instance without its finalizer',
    input: input(inst({ deleting: true }), absent, { hasFinalizer: false }),
    actions: [],
    phase: 'unchanged',
  },
  {
    title: 'removes a stale copy of an instance now assigned to another member',
    input: input(inst({ status: { member: 'm2', phase: 'Running' } }), running),
    actions: ['deleteContainer', 'deleteRootfs'],
    phase: 'unchanged',
    events: ['Normal/StaleCopyRemoved'],
  },
  {
    title: 'ignores an instance of another member with no container here',
    input: input(inst({ status: { member: 'm2' } }), absent),
    actions: [],
    phase: 'unchanged',
    events: [],
  },
  {
    title: 'recreates a container that disappeared behind its back, with a Warning',
    input: input(inst({ status: { phase: 'Running', startedAt: STARTED } }), absent, { image: ready }),
    actions: ['ensureRootfs', 'define'],
    phase: 'Creating',
    events: ['Warning/ContainerLost'],
  },
  {
    title: 'retries a blocked creation without overwriting the reason it is blocked',
    input: input(
      inst({ status: { phase: 'Creating', message: 'cannot create the container: address taken' }, ready: 'CreateBlocked' }),
      absent,
      { image: ready },
    ),
    actions: ['ensureRootfs', 'define'],
    phase: 'unchanged',
    requeue: 'some',
  },
  {
    title: 'tries a blocked creation afresh, saying Creating, after a spec change',
    input: input(inst({ generation: 2, status: { phase: 'Creating' }, ready: 'CreateBlocked' }), absent, { image: ready }),
    actions: ['ensureRootfs', 'define'],
    phase: 'Creating',
    ready: 'Creating',
  },
  {
    title: 'leaves an instance whose spec cannot be created Failed until the spec changes',
    input: input(inst({ status: { phase: 'Failed' }, ready: 'CreateFailed' }), absent, { image: ready }),
    actions: [],
    phase: 'unchanged',
    requeue: 'none',
  },
  {
    title: 'creates an instance that failed for its spec once the spec changes',
    input: input(inst({ generation: 2, status: { phase: 'Failed' }, ready: 'CreateFailed' }), absent, { image: ready }),
    actions: ['ensureRootfs', 'define'],
    phase: 'Creating',
  },
  {
    title: 'looks again shortly while the container is in a transition state',
    input: input(inst({ status: { phase: 'Starting' } }), { exists: true, state: 'STARTING' }),
    actions: [],
    phase: 'unchanged',
    requeue: 500,
  },
];

describe('planInstance', () => {
  for (const row of rows) {
    it(row.title, () => {
      const p = planInstance(row.input);
      expect(p.actions).to.deep.equal(row.actions);
      if (row.phase === 'unchanged') expect(p.status).to.equal(undefined);
      else if (row.phase) expect(p.status?.phase).to.equal(row.phase);
      if (row.ready) expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.reason).to.equal(row.ready);
      if (row.events) expect(p.events.map((e) => `${e.type}/${e.reason}`)).to.deep.equal(row.events);
      if (row.requeue === 'none') expect(p.requeueAfterMs).to.equal(undefined);
      else if (row.requeue === 'some') expect(p.requeueAfterMs).to.be.greaterThan(0);
      else if (row.requeue !== undefined) expect(p.requeueAfterMs).to.equal(row.requeue);
      if (p.status) {
        expect(p.status.message, 'status.message is a sentence').to.be.a('string').and.not.equal('');
        expect(p.status.containerName).to.equal(CONTAINER);
      }
      row.check?.(p);
    });
  }

  it('keeps status byte-identical for an adopted running container (so nothing is written)', () => {
    const first = planInstance(input(inst({ status: { phase: 'Starting' } }), running));
    const again = planInstance(input({ ...inst(), status: first.status }, running));
    expect(again.status).to.deep.equal(first.status);
  });
});

describe('planAfterStart', () => {
  const starting = (ready: string, extra: Partial<InstanceStatus> = {}) =>
    inst({ status: { phase: 'Starting', message: 'starting', ...extra }, ready });

  it('reports a container its start left RUNNING as Running at once, with the Started Event and no requeue', () => {
    const p = planAfterStart(input(starting('Starting'), running));
    expect(p?.actions).to.deep.equal([]);
    expect(p?.status?.phase).to.equal('Running');
    expect(p?.status?.startedAt).to.equal(STARTED);
    expect(p?.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
    expect(p?.events.map((e) => e.reason)).to.deep.equal(['Started']);
    expect(p?.requeueAfterMs).to.equal(undefined);
  });

  it('says nothing new about a restart after an exit (its Restarted Event was recorded with the start)', () => {
    const p = planAfterStart(input(starting('Restarting', { restartCount: 1 }), running));
    expect(p?.status?.phase).to.equal('Running');
    expect(p?.events).to.deep.equal([]);
  });

  it('leaves a container that is not RUNNING after its start to the next reconcile', () => {
    expect(planAfterStart(input(starting('Starting'), { exists: true, state: 'STARTING' }))).to.equal(undefined);
    expect(planAfterStart(input(starting('Starting'), stopped))).to.equal(undefined);
    expect(planAfterStart(input(starting('Starting'), absent))).to.equal(undefined);
  });

  it('leaves more than a status write to the next reconcile (a spec changed meanwhile, spec.state Stopped, no finalizer)', () => {
    expect(planAfterStart(input(inst({ generation: 2, status: { phase: 'Starting' }, ready: 'Starting' }), running))).to.equal(undefined);
    expect(planAfterStart(input(inst({ spec: { state: 'Stopped' }, status: { phase: 'Starting' } }), running))).to.equal(undefined);
    expect(planAfterStart(input(starting('Starting'), running, { hasFinalizer: false }))).to.equal(undefined);
  });
});

describe('rebaseStatus', () => {
  const from = inst({ status: { phase: 'Creating', message: 'creating' }, ready: 'Creating' });
  from.metadata.resourceVersion = '10';
  const planned: InstanceStatus = { ...from.status, phase: 'Starting', message: 'starting' };
  const newer = (patch: Partial<InstanceStatus>, meta: Partial<Instance['metadata']> = {}): Instance => ({
    ...from,
    metadata: { ...from.metadata, resourceVersion: '11', ...meta },
    status: { ...from.status, ...patch },
  });

  it('carries the plan over a copy that only gained the failover controller’s recoverable fields', () => {
    const latest = newer({ recoverable: false, recoverableReason: 'NoTarget' });
    expect(rebaseStatus({ planned, from, latest })).to.deep.equal({ ...planned, recoverable: false, recoverableReason: 'NoTarget' });
  });

  it('writes the failover controller’s fields as the copy being updated has them, never as planned', () => {
    const latest = newer({ recoverable: true, recoverableReason: 'Recoverable' });
    expect(withFailoverFields({ ...planned, recoverable: false }, latest)).to.deep.equal({
      ...planned,
      recoverable: true,
      recoverableReason: 'Recoverable',
    });
    expect(withFailoverFields({ ...planned, recoverable: false, recoverableReason: 'x' }, from)).to.deep.equal(planned);
  });

  it('refuses a copy where anything else changed: status, spec or metadata', () => {
    expect(rebaseStatus({ planned, from, latest: newer({ phase: 'Deleting' }) })).to.equal(undefined);
    expect(rebaseStatus({ planned, from, latest: newer({ recoverable: true, member: 'm2' }) })).to.equal(undefined);
    expect(rebaseStatus({ planned, from, latest: newer({}, { generation: 2 }) })).to.equal(undefined);
    expect(rebaseStatus({ planned, from, latest: newer({}, { deletionTimestamp: '2025-05-01T12:00:01Z' }) })).to.equal(undefined);
    expect(rebaseStatus({ planned, from, latest: { ...newer({}), spec: { ...from.spec, image: 'debian' } } })).to.equal(undefined);
  });
});

describe('needsImage', () => {
  it('needs the image only when the container does not exist and the instance is not being deleted', () => {
    expect(needsImage(inst(), absent)).to.equal(true);
    expect(needsImage(inst(), stopped)).to.equal(false);
    expect(needsImage(inst({ deleting: true }), absent)).to.equal(false);
  });
});

describe('createBlocked', () => {
  const base = inst({ status: { phase: 'Creating', message: 'creating the container' }, ready: 'Creating' });
  const rows: Array<{
    title: string;
    instance: Instance;
    error: { code?: CloudletErrorCode; message: string };
    phase: InstancePhase;
    reason: string;
    terminal: boolean;
    event: boolean;
  }> = [
    {
      title: 'keeps an instance Creating, with the reason, when its network is not ready yet',
      instance: base,
      error: { code: 'Unavailable', message: 'nic 0: network "lan" is not ready on member m1 yet' },
      phase: 'Creating',
      reason: 'CreateBlocked',
      terminal: false,
      event: true,
    },
    {
      title: 'keeps it Creating when a fixed address is held by another instance (it may be freed)',
      instance: base,
      error: { code: 'Conflict', message: 'address 10.42.0.10 on network "lan" is held by default/db nic 0' },
      phase: 'Creating',
      reason: 'CreateBlocked',
      terminal: false,
      event: true,
    },
    {
      title: 'fails it, terminally, when a fixed address is outside the subnet',
      instance: base,
      error: { code: 'Invalid', message: 'address 10.9.0.1 cannot be used on network "lan": it is outside 10.42.0.0/24' },
      phase: 'Failed',
      reason: 'CreateFailed',
      terminal: true,
      event: true,
    },
    {
      title: 'does not repeat the Warning for the same blocked reason',
      instance: inst({
        status: { phase: 'Creating', message: 'cannot create the container: nic 0: network "lan" does not exist' },
        ready: 'CreateBlocked',
      }),
      error: { code: 'NotFound', message: 'nic 0: network "lan" does not exist' },
      phase: 'Creating',
      reason: 'CreateBlocked',
      terminal: false,
      event: false,
    },
    {
      title: 'treats an error without a code as retryable',
      instance: base,
      error: { message: 'lxc-create exited 1' },
      phase: 'Creating',
      reason: 'CreateBlocked',
      terminal: false,
      event: true,
    },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const b = createBlocked({ instance: row.instance, containerName: CONTAINER, now: NOW, error: row.error });
      expect(b.status.phase).to.equal(row.phase);
      expect(b.status.message).to.equal(`cannot create the container: ${row.error.message}`);
      expect(b.status.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: row.reason });
      expect(b.terminal).to.equal(row.terminal);
      expect(b.event !== undefined).to.equal(row.event);
      if (b.event) expect(b.event).to.include({ type: 'Warning', reason: row.reason });
    });
  }
});
