import { expect } from 'chai';
import { AllocationReconciler, allocatedTo } from '../../../../controllers/instances/allocation.js';
import { SchedulerReconciler } from '../../../../controllers/instances/scheduler-reconciler.js';
import { Controller } from '../../../../lib/controller/controller.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Instance, Member } from '../../../../lib/kinds/types.js';
import { createMember, type Harness, INSTANCE, instanceObj, makeHarness, member, MEMBER } from './harness.js';

async function startScheduler(h: Harness, concurrency = 1): Promise<Controller[]> {
  const members = h.informers.forKind<Member>(MEMBER);
  const instances = h.informers.forKind<Instance>(INSTANCE);
  const events = new EventRecorder({ store: h.store, logger: h.logger, metrics: h.metrics, component: 'scheduler', clock: h.clock });
  const scheduler = SchedulerReconciler.watch(
    new Controller({
      name: 'scheduler',
      reconciler: new SchedulerReconciler({ store: h.store, instanceKind: INSTANCE, members, instances, events, clock: h.clock }),
      logger: h.logger,
      metrics: h.metrics,
      clock: h.clock,
      concurrency,
    }),
    { instances, members },
  );
  const allocation = AllocationReconciler.watch(
    new Controller({
      name: 'allocation',
      reconciler: new AllocationReconciler({ store: h.store, memberKind: MEMBER, members, instances }),
      logger: h.logger,
      metrics: h.metrics,
      clock: h.clock,
    }),
    { members, instances },
  );
  h.informers.start();
  await Promise.all([scheduler.start(), allocation.start()]);
  return [scheduler, allocation];
}

describe('SchedulerReconciler', () => {
  let h: Harness;
  let controllers: Controller[] = [];
  beforeEach(() => {
    h = makeHarness();
  });
  afterEach(async () => {
    await Promise.all(controllers.map((c) => c.stop()));
    await h.informers.stop();
  });

  it('assigns an instance to a Ready member with phase Scheduled, epoch 1, a condition and an Event', async () => {
    await createMember(h.store, member('m1'));
    controllers = await startScheduler(h);
    await h.store.create(INSTANCE, instanceObj('web'));
    await h.until('web is scheduled', async () => (await h.instance('web')).status?.phase === 'Scheduled');
    const web = await h.instance('web');
    expect(web.status).to.include({ member: 'm1', placementEpoch: 1, observedGeneration: 1 });
    const cond = web.status?.conditions?.find((c) => c.type === 'Scheduled');
    expect(cond).to.include({ status: 'True', reason: 'Scheduled', observedGeneration: 1 });
    await h.until('the Scheduled event is written', async () => (await h.events()).some((e) => e.reason === 'Scheduled'));
    expect((await h.events()).find((e) => e.reason === 'Scheduled')?.message).to.match(/^assigned to member m1: /);
  });

  it('keeps an instance Pending with the reason, warns once, and retries slowly until a member fits', async () => {
    await createMember(h.store, member('m1', { memory: '1Gi' }));
    controllers = await startScheduler(h);
    await h.store.create(INSTANCE, instanceObj('big', { memory: '8Gi' }));
    await h.until('big is Pending', async () => (await h.instance('big')).status?.phase === 'Pending');
    const big = await h.instance('big');
    const cond = big.status?.conditions?.find((c) => c.type === 'Scheduled');
    expect(cond).to.include({ status: 'False', reason: 'InsufficientResources' });
    expect(cond?.message).to.match(/no member has 8Gi of memory free/);
    expect(big.status?.message).to.match(/^cannot be scheduled: /);
    await h.clock.advanceAsync(35_000);
    const warnings = (await h.events()).filter((e) => e.reason === 'FailedScheduling');
    expect(warnings).to.have.length(1);
    expect(warnings[0]?.count).to.equal(1);
    // A bigger member joins: the member event retries the pending instance.
    await createMember(h.store, member('m2', { memory: '16Gi' }));
    await h.until('big is scheduled on m2', async () => (await h.instance('big')).status?.member === 'm2');
  });

  it('stays Pending naming an unknown member in placement', async () => {
    await createMember(h.store, member('m1'));
    controllers = await startScheduler(h);
    await h.store.create(INSTANCE, instanceObj('pinned', { placement: { member: 'nope' } }));
    await h.until('pinned is Pending', async () => (await h.instance('pinned')).status?.phase === 'Pending');
    expect((await h.instance('pinned')).status?.conditions?.find((c) => c.type === 'Scheduled')).to.include({ reason: 'MemberNotFound' });
  });

  it('counts its own fresh assignments so back-to-back instances do not overbook a member', async () => {
    await createMember(h.store, member('m1', { memory: '1Gi' }));
    await createMember(h.store, member('m2', { memory: '1Gi' }));
    await h.store.create(INSTANCE, instanceObj('a', { memory: '768Mi' }));
    await h.store.create(INSTANCE, instanceObj('b', { memory: '768Mi' }));
    controllers = await startScheduler(h);
    await h.until(
      'both are scheduled',
      async () => (await h.instance('a')).status?.member !== undefined && (await h.instance('b')).status?.member !== undefined,
    );
    expect(new Set([(await h.instance('a')).status?.member, (await h.instance('b')).status?.member])).to.have.length(2);
  });

  it('never overbooks a member when several workers place instances at once', async () => {
    await createMember(h.store, member('m1', { memory: '1Gi' }));
    await createMember(h.store, member('m2', { memory: '1Gi' }));
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) await h.store.create(INSTANCE, instanceObj(n, { memory: '512Mi' }));
    controllers = await startScheduler(h, 4);
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    await h.until('every instance is decided', async () =>
      (await Promise.all(names.map((n) => h.instance(n)))).every(
        (i) => i.status?.member !== undefined || i.status?.conditions?.some((c) => c.type === 'Scheduled' && c.status === 'False'),
      ),
    );
    const placed = (await Promise.all(names.map((n) => h.instance(n))))
      .map((i) => i.status?.member)
      .filter((m): m is string => m !== undefined);
    expect(placed).to.have.length(4);
    expect(placed.filter((m) => m === 'm1')).to.have.length(2);
    expect(placed.filter((m) => m === 'm2')).to.have.length(2);
  });

  it('keeps Member.status.allocated equal to what its instances request', async () => {
    await createMember(h.store, member('m1'));
    controllers = await startScheduler(h);
    await h.store.create(INSTANCE, instanceObj('a', { cpu: 0.5, memory: '256Mi' }));
    await h.store.create(INSTANCE, instanceObj('b', { cpu: 1, memory: '1Gi' }));
    await h.until(
      'm1 shows both allocated',
      async () =>
        JSON.stringify((await h.store.get<Member>(MEMBER, 'm1')).status?.allocated) === JSON.stringify({ cpu: 1.5, memory: '1280Mi' }),
    );
    await h.store.delete(INSTANCE, 'b', 'default');
    await h.until(
      'm1 shows one allocated',
      async () =>
        JSON.stringify((await h.store.get<Member>(MEMBER, 'm1')).status?.allocated) === JSON.stringify({ cpu: 0.5, memory: '256Mi' }),
    );
  });
});

describe('allocatedTo', () => {
  it('sums only the instances on the member, with CRD defaults filled in', () => {
    const on = (name: string, m: string, spec = {}): Instance => ({ ...instanceObj(name, spec), status: { member: m } });
    const list = [
      on('a', 'm1', { cpu: 2, memory: '1Gi' }),
      on('b', 'm2'),
      { ...instanceObj('c'), spec: { image: 'busybox' }, status: { member: 'm1' } },
    ];
    expect(allocatedTo('m1', list)).to.deep.equal({ cpu: 3, memory: '1280Mi' });
    expect(allocatedTo('m3', list)).to.deep.equal({ cpu: 0, memory: '0' });
  });
});
