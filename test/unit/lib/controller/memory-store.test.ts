import { expect } from 'chai';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import { Controller } from '../../../../lib/controller/controller.js';
import { enqueueObject } from '../../../../lib/controller/handlers.js';
import { LeaderElector } from '../../../../lib/controller/leader-election.js';
import { SharedInformerFactory } from '../../../../lib/controller/shared-informer-factory.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { INSTANCE, instance } from './kinds.js';

describe('the controller framework over MemoryStore', () => {
  let clock: FakeClock;
  let store: MemoryStore;
  let cleanups: Array<() => Promise<void>>;
  beforeEach(() => {
    clock = new FakeClock();
    store = new MemoryStore({ now: () => new Date(clock.now()), leaseClock: () => clock.now() });
    cleanups = [];
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    await store.close();
  });

  it('keeps an informer cache in step with creates, updates and deletes', async () => {
    await store.create(INSTANCE, instance('a'));
    const factory = new SharedInformerFactory({ store, logger: silentLogger(), clock, resyncPeriodMs: 0 });
    cleanups.push(() => factory.stop());
    const informer = factory.forKind(INSTANCE);
    const events: string[] = [];
    informer.addEventHandler({
      onAdd: (o) => events.push(`add ${o.metadata.name}`),
      onUpdate: (_a, b) => events.push(`update ${b.metadata.name}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    factory.start();
    await factory.waitForSync();
    await flushPromises();
    await store.create(INSTANCE, instance('b'));
    const a = await store.get<KubeObject>(INSTANCE, 'a', 'default');
    await store.update(INSTANCE, { ...a, spec: { image: 'debian/bookworm' } });
    await store.delete(INSTANCE, 'b', 'default');
    await flushPromises();
    expect(events).to.deep.equal(['add a', 'add b', 'update a', 'delete b']);
    expect(informer.get({ namespace: 'default', name: 'a' })?.spec).to.deep.equal({ image: 'debian/bookworm' });
    expect(informer.list()).to.have.length(1);
  });

  it('runs a controller that reconciles each object the informer reports', async () => {
    await store.create(INSTANCE, instance('a'));
    const factory = new SharedInformerFactory({ store, logger: silentLogger(), clock, resyncPeriodMs: 60_000 });
    const seen: string[] = [];
    const controller = new Controller({
      name: 'test',
      logger: silentLogger(),
      metrics: createMetrics(),
      clock,
      reconciler: { reconcile: async (req) => (seen.push(req.name), {}) },
    }).watches(factory.forKind(INSTANCE), enqueueObject());
    cleanups.push(
      () => factory.stop(),
      () => controller.stop(),
    );
    factory.start();
    await controller.start();
    await clock.advanceAsync(0);
    await store.create(INSTANCE, instance('b'));
    await clock.advanceAsync(0);
    expect(seen).to.deep.equal(['a', 'b']);
    // a resync re-checks every object even though nothing changed
    await clock.advanceAsync(60_000);
    expect([...seen].slice(2).sort()).to.deep.equal(['a', 'b']);
  });

  it('elects one leader and hands over when its lease is revoked or expires', async () => {
    const make = (identity: string, log: string[]) =>
      new LeaderElector({
        store,
        clock,
        name: 'ctl',
        identity,
        logger: silentLogger(),
        onStartedLeading: () => void log.push(`${identity} started`),
        onStoppedLeading: () => void log.push(`${identity} stopped`),
      });
    const log: string[] = [];
    const m1 = make('m1', log);
    const m2 = make('m2', log);
    const m3 = make('m3', log);
    cleanups.push(
      () => m1.stop(),
      () => m2.stop(),
      () => m3.stop(),
    );
    m1.start();
    await clock.advanceAsync(100);
    m2.start();
    await clock.advanceAsync(3000);
    expect([m1.isLeader(), m2.isLeader()]).to.deep.equal([true, false]);
    expect(m2.leaderIdentity()).to.equal('m1');
    await m1.stop();
    await clock.advanceAsync(100);
    expect(m2.isLeader()).to.equal(true);
    m3.start();
    await clock.advanceAsync(100);
    // m2's lease ends from outside (as when etcd expires it): m2 notices, m3 takes over
    const entry = await store.raw.get('/cloudlet/leader/ctl');
    store.expireLease(entry?.lease ?? '');
    await clock.advanceAsync(2000);
    expect(m2.isLeader()).to.equal(false);
    expect(m3.isLeader()).to.equal(true);
    // an expiry forced from outside is seen by m3's watch before m2's next keep-alive, so only the sets are fixed
    expect(log.slice(0, 3)).to.deep.equal(['m1 started', 'm1 stopped', 'm2 started']);
    expect([...log.slice(3)].sort()).to.deep.equal(['m2 stopped', 'm3 started']);
  });
});
