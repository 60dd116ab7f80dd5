import { expect } from 'chai';
import { MAINTENANCE_ANNOTATION, EVACUATED_FROM_ANNOTATION } from '../../../../controllers/membership/evacuation.js';
import { FAILOVER_KEY, FAILOVER_MIN_INTERVAL_MS, FailoverReconciler } from '../../../../controllers/membership/failover-reconciler.js';
import { STORAGE_DRIVER_INFO } from '../../../../controllers/storage/drivers/registry.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Informer } from '../../../../lib/controller/informer.js';
import type { ReconcileContext } from '../../../../lib/controller/reconciler.js';
import type { Instance, InstanceSpec, Member } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMember, INSTANCE, instanceObj, makeHarness, member, MEMBER, type Harness } from '../instances/harness.js';

describe('FailoverReconciler over a MemoryStore', () => {
  let h: Harness;
  let r: FailoverReconciler;
  let members: Informer<Member>;
  let instances: Informer<Instance>;
  const ctx: ReconcileContext = { log: silentLogger(), signal: new AbortController().signal, reconcileId: 'test', controller: 'failover' };

  async function assign(name: string, spec: Partial<InstanceSpec>, memberName: string, epoch = 1): Promise<void> {
    const created = await h.store.create<Instance>(INSTANCE, instanceObj(name, spec));
    await h.store.update<Instance>(
      INSTANCE,
      { ...created, status: { phase: 'Running', member: memberName, placementEpoch: epoch } },
      { subresource: 'status' },
    );
  }

  async function settle(): Promise<void> {
    // passes are at least FAILOVER_MIN_INTERVAL_MS apart
    await h.clock.advanceAsync(FAILOVER_MIN_INTERVAL_MS + 10);
    await r.reconcile(FAILOVER_KEY, ctx);
    await h.clock.advanceAsync(10);
  }

  beforeEach(async () => {
    h = makeHarness();
    members = h.informers.forKind<Member>(MEMBER);
    instances = h.informers.forKind<Instance>(INSTANCE);
    r = new FailoverReconciler({
      store: h.store,
      instanceKind: INSTANCE,
      memberKind: MEMBER,
      members,
      instances,
      drivers: STORAGE_DRIVER_INFO,
      clock: h.clock,
      logger: h.logger,
      events: new EventRecorder({
        store: h.store,
        logger: h.logger,
        metrics: h.metrics,
        component: 'failover-controller',
        host: 'm1',
        clock: h.clock,
      }),
    });
    h.informers.start();
  });
  afterEach(() => h.informers.stop());

  it('moves a failover instance off a NotReady member with a bumped epoch and HeartbeatLost then Rescheduled events', async () => {
    await createMember(h.store, member('m1'));
    await createMember(h.store, member('m2', { phase: 'NotReady' }));
    await assign('web', { recovery: 'failover' }, 'm2', 4);
    await h.until('caches synced', () => instances.list().length === 1 && members.list().length === 2);
    await settle();
    const web = await h.instance('web');
    expect(web.status).to.include({ member: 'm1', placementEpoch: 5, phase: 'Scheduled', recoverable: true });
    await h.until('events written', async () => (await h.events()).length >= 2);
    const reasons = (await h.events()).map((e) => e.reason);
    expect(reasons).to.include.members(['HeartbeatLost', 'Rescheduled']);
  });

  it('coalesces passes asked for within the minimum interval', async () => {
    await createMember(h.store, member('m1'));
    await h.until('caches synced', () => members.list().length === 1);
    await h.clock.advanceAsync(FAILOVER_MIN_INTERVAL_MS + 10);
    expect((await r.reconcile(FAILOVER_KEY, ctx)).requeueAfter).to.be.greaterThan(FAILOVER_MIN_INTERVAL_MS);
    const second = await r.reconcile(FAILOVER_KEY, ctx);
    expect(second.requeueAfter).to.be.greaterThan(0).and.at.most(FAILOVER_MIN_INTERVAL_MS);
  });

  it('does not move an instance twice from a stale cache', async () => {
    await createMember(h.store, member('m1'));
    await createMember(h.store, member('m2', { phase: 'NotReady' }));
    await assign('web', { recovery: 'failover' }, 'm2', 1);
    await h.until('caches synced', () => instances.list().length === 1 && members.list().length === 2);
    await r.reconcile(FAILOVER_KEY, ctx); // the cache still shows m2 afterwards until the watch catches up
    await r.reconcile(FAILOVER_KEY, ctx);
    expect((await h.instance('web')).status?.placementEpoch).to.equal(2);
  });

  it('marks a restart instance on a lost member Unknown with the reason', async () => {
    await createMember(h.store, member('m1'));
    await createMember(h.store, member('m2', { phase: 'NotReady' }));
    await assign('db', { recovery: 'restart' }, 'm2');
    await h.until('caches synced', () => instances.list().length === 1 && members.list().length === 2);
    await settle();
    const db = await h.instance('db');
    expect(db.status?.phase).to.equal('Unknown');
    expect(db.status?.message).to.match(/waits for m2 to come back/);
    expect(db.status?.recoverable).to.equal(false);
  });

  it('keeps an instance pinned to its lost member there, Unknown, and says the pin blocks failover', async () => {
    await createMember(h.store, member('m1'));
    await createMember(h.store, member('m2', { phase: 'NotReady' }));
    await assign('db', { recovery: 'failover', placement: { member: 'm2' } }, 'm2', 3);
    await h.until('caches synced', () => instances.list().length === 1 && members.list().length === 2);
    await settle();
    const db = await h.instance('db');
    expect(db.status).to.include({
      member: 'm2',
      placementEpoch: 3,
      phase: 'Unknown',
      recoverable: false,
      recoverableReason: 'pinned to member "m2" by spec.placement.member',
    });
    expect(db.status?.message).to.include('cannot fail over: pinned to member "m2"');
    await h.until('events written', async () => (await h.events()).length >= 1);
    expect((await h.events()).map((e) => e.reason))
      .to.include('NotRecoverable')
      .and.not.include('Rescheduled');
  });

  it('evacuates a member, then restores it and moves the instance back', async () => {
    await createMember(h.store, member('m1'));
    await createMember(h.store, member('m2'));
    await assign('web', { recovery: 'failover' }, 'm2', 1);
    const m2 = await h.store.get<Member>(MEMBER, 'm2');
    await h.store.update<Member>(MEMBER, {
      ...m2,
      metadata: { ...m2.metadata, annotations: { [MAINTENANCE_ANNOTATION]: 'evacuate' } },
      spec: { ...m2.spec, unschedulable: true },
    });
    await h.until('caches synced', async () => instances.list().length === 1 && members.get({ name: 'm2' })?.spec?.unschedulable === true);
    await settle();
    let web = await h.instance('web');
    expect(web.status).to.include({ member: 'm1', placementEpoch: 2 });
    expect(web.metadata.annotations?.[EVACUATED_FROM_ANNOTATION]).to.equal('m2');
    await h.until('cache shows the move', () => instances.get({ name: 'web', namespace: 'default' })?.status?.member === 'm1');
    await settle();
    expect((await h.store.get<Member>(MEMBER, 'm2')).status?.phase).to.equal('Evacuated');

    const again = await h.store.get<Member>(MEMBER, 'm2');
    await h.store.update<Member>(MEMBER, {
      ...again,
      metadata: { ...again.metadata, annotations: { [MAINTENANCE_ANNOTATION]: 'restore' } },
      spec: { ...again.spec, unschedulable: false },
    });
    await h.until('cache shows restore', () => members.get({ name: 'm2' })?.metadata.annotations?.[MAINTENANCE_ANNOTATION] === 'restore');
    await settle(); // phase Ready
    await h.until('cache shows Ready', () => members.get({ name: 'm2' })?.status?.phase === 'Ready');
    await settle(); // move back
    web = await h.instance('web');
    expect(web.status).to.include({ member: 'm2', placementEpoch: 3 });
    expect(web.metadata.annotations?.[EVACUATED_FROM_ANNOTATION]).to.equal(undefined);
    await h.until('cache shows the move back', () => instances.get({ name: 'web', namespace: 'default' })?.status?.member === 'm2');
    await settle();
    expect((await h.store.get<Member>(MEMBER, 'm2')).metadata.annotations?.[MAINTENANCE_ANNOTATION]).to.equal(undefined);
  });
});
