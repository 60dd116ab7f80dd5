import { expect } from 'chai';
import { INSTANCE_FINALIZER, type Plan } from '../../../../controllers/instances/instance-plan.js';
import { FENCED_RECHECK_MS } from '../../../../controllers/instances/placement-guard.js';
import { planAfterDefine, planReconcile, type FoundInstance } from '../../../../controllers/instances/reconcile-plan.js';
import type { Observation } from '../../../../controllers/instances/runtimes/types.js';
import type { Instance } from '../../../../lib/kinds/types.js';
import { instanceObj } from './harness.js';

const NOW = Date.parse('2025-05-01T12:00:00Z');
const CONTAINER = 'cl-0000abcd-default_web';
const running: Observation = { exists: true, state: 'RUNNING', pid: 42, initStartedAt: '2025-05-01T11:00:00.000Z' };
const stopped: Observation = { exists: true, state: 'STOPPED' };

function instance(
  opts: { member?: string; phase?: 'Running' | 'Stopped' | 'Creating'; state?: 'Running' | 'Stopped'; deleting?: boolean } = {},
): Instance {
  const base = instanceObj('web', { recovery: 'failover', ...(opts.state ? { state: opts.state } : {}) });
  const deleting = opts.deleting ? { deletionTimestamp: '2025-05-01T11:59:00Z' } : {};
  base.metadata = { ...base.metadata, uid: 'u1', generation: 1, finalizers: [INSTANCE_FINALIZER], ...deleting };
  base.status = { member: opts.member ?? 'm1', placementEpoch: 3, observedGeneration: 1, phase: opts.phase ?? 'Running' };
  return base;
}

function found(inst: Instance, container: Observation, extra: Partial<FoundInstance> = {}): FoundInstance {
  return {
    kind: 'found',
    instance: inst,
    memberName: 'm1',
    containerName: CONTAINER,
    container,
    assignedHere: inst.status?.member === 'm1' && inst.metadata.deletionTimestamp === undefined,
    placement: { kind: 'proceed' },
    restart: { key: 'u1', waitMs: 0, delayMs: 1000 },
    liveResize: true,
    now: NOW,
    ...extra,
  };
}

describe('planReconcile', () => {
  it('removes the container of an instance gone from the store', () => {
    expect(planReconcile({ kind: 'gone', namespace: 'default', name: 'web', containerName: CONTAINER })).to.deep.equal({
      kind: 'removeOrphan',
      namespace: 'default',
      name: 'web',
      containerName: CONTAINER,
    });
  });

  it('removes a stale copy first, naming both epochs, and looks again at once', () => {
    const p = planReconcile(found(instance(), running, { placement: { kind: 'staleCopy', recordEpoch: 2 } }));
    expect(p.kind).to.equal('removeStaleCopy');
    if (p.kind !== 'removeStaleCopy') return;
    expect(p.containerName).to.equal(CONTAINER);
    expect(p.message).to.match(/placement epoch 2 from member m1: .* again at epoch 3/);
    expect(p.requeueAfter).to.equal(1);
  });

  it('force-stops a running fenced copy and looks again after the fence recheck', () => {
    const p = planReconcile(found(instance(), running, { placement: { kind: 'fenced' } }));
    expect(p).to.include({ kind: 'holdFenced', stop: true, requeueAfter: FENCED_RECHECK_MS });
    if (p.kind === 'holdFenced') expect(p.message).to.match(/^fenced on member m1/);
  });

  it('does not stop a fenced copy that is already stopped', () => {
    const p = planReconcile(found(instance(), stopped, { placement: { kind: 'fenced' } }));
    expect(p).to.include({ kind: 'holdFenced', stop: false });
  });

  it('takes the instance lock before a plan that starts the container', () => {
    const p = planReconcile(found(instance({ phase: 'Stopped' }), stopped));
    expect(p.kind).to.equal('instance');
    if (p.kind !== 'instance') return;
    expect(p.plan.actions).to.include('start');
    expect(p.lock).to.equal('take');
  });

  it('keeps the lock of a container running here', () => {
    const p = planReconcile(found(instance(), running));
    expect(p.kind === 'instance' && p.lock).to.equal('keep');
  });

  it('neither takes nor keeps a lock for an instance that is not assigned here', () => {
    const p = planReconcile(found(instance({ member: 'm2' }), running));
    expect(p.kind).to.equal('instance');
    if (p.kind !== 'instance') return;
    expect(p.plan.actions).to.deep.equal(['deleteContainer', 'deleteRootfs']);
    expect(p.lock).to.equal('none');
  });

  it('takes no lock for a stopped container that stays stopped', () => {
    const p = planReconcile(found(instance({ phase: 'Stopped', state: 'Stopped' }), stopped));
    expect(p.kind === 'instance' && p.lock).to.equal('none');
  });

  it('hands the observation on to planInstance', () => {
    const seen = found(instance({ deleting: true }), stopped);
    const p = planReconcile(seen);
    expect(p.kind).to.equal('instance');
    if (p.kind !== 'instance') return;
    expect(p.seen).to.equal(seen);
    expect(p.plan.actions).to.deep.equal(['deleteContainer', 'deleteRootfs', 'removeFinalizer']);
    expect(p.lock).to.equal('none');
  });
});

describe('planAfterDefine', () => {
  const absent: Observation = { exists: false, state: 'STOPPED' };
  const created: Plan = { actions: ['addFinalizer', 'ensureRootfs', 'define'], statusWhen: 'before', events: [], requeueAfterMs: 1 };
  const later = NOW + 500;

  it('starts a container just made, taking the lock, planned from the instance as written and a stopped container', () => {
    const seen = found(instance({ phase: 'Scheduled' as 'Creating' }), absent, { image: { kind: 'ready' } });
    const written = instance({ phase: 'Creating' });
    const p = planAfterDefine(seen, created, written, later);
    expect(p?.kind).to.equal('instance');
    if (p?.kind !== 'instance') return;
    expect(p.plan.actions).to.deep.equal(['start']);
    expect(p.plan.status?.phase).to.equal('Starting');
    expect(p.lock).to.equal('take');
    expect(p.seen.instance).to.equal(written);
    expect(p.seen.container).to.deep.equal({ exists: true, state: 'STOPPED' });
    expect(p.seen.now).to.equal(later);
    expect(p.seen.image).to.equal(undefined);
  });

  it('leaves everything else to the next reconcile', () => {
    const written = instance({ phase: 'Creating' });
    // the container existed before (a redefine), the plan made nothing, or it started already
    expect(planAfterDefine(found(written, stopped), created, written, later)).to.equal(undefined);
    expect(planAfterDefine(found(written, absent), { ...created, actions: ['addFinalizer'] }, written, later)).to.equal(undefined);
    expect(planAfterDefine(found(written, absent), { ...created, actions: ['define', 'start'] }, written, later)).to.equal(undefined);
    // spec.state Stopped: the next step is a status write, not a start
    const stay = instance({ phase: 'Creating', state: 'Stopped' });
    expect(planAfterDefine(found(stay, absent), created, stay, later)).to.equal(undefined);
    // a fenced instance is not started
    expect(planAfterDefine(found(written, absent, { placement: { kind: 'fenced' } }), created, written, later)).to.equal(undefined);
  });
});
