import { expect } from 'chai';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import { Informer } from '../../../../lib/controller/informer.js';
import { SharedInformerFactory } from '../../../../lib/controller/shared-informer-factory.js';
import { GoneError, UnavailableError } from '../../../../lib/errors.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { FakeStore } from './fake-store.js';
import { INSTANCE, MEMBER, instance } from './kinds.js';

function recorder(informer: Informer) {
  const events: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => events.push(`add ${o.metadata.name}`),
    onUpdate: (a, b) => events.push(a === b ? `resync ${b.metadata.name}` : `update ${b.metadata.name}`),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  return events;
}

async function setup(opts: { resyncPeriodMs?: number } = {}) {
  const clock = new FakeClock();
  const store = new FakeStore(clock);
  await store.create(INSTANCE, instance('a'));
  await store.create(INSTANCE, instance('b'));
  const informer = new Informer({ store, kind: INSTANCE, logger: silentLogger(), clock, resyncPeriodMs: opts.resyncPeriodMs ?? 0 });
  const events = recorder(informer);
  return { clock, store, informer, events };
}

describe('Informer', () => {
  let stopAll: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stopAll) await s();
    stopAll = [];
  });

  it('lists, reports synced, then follows the watch', async () => {
    const t = await setup();
    stopAll.push(() => t.informer.stop());
    expect(t.informer.hasSynced()).to.equal(false);
    t.informer.start();
    await t.informer.waitForSync();
    expect(t.informer.hasSynced()).to.equal(true);
    expect(t.events).to.deep.equal(['add a', 'add b']);
    await t.store.create(INSTANCE, instance('c'));
    const a = await t.store.get<KubeObject>(INSTANCE, 'a', 'default');
    await t.store.update(INSTANCE, { ...a, spec: { image: 'debian/bookworm' } });
    await t.store.delete(INSTANCE, 'b', 'default');
    await flushPromises();
    expect(t.events).to.deep.equal(['add a', 'add b', 'add c', 'update a', 'delete b']);
    expect(
      t.informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).to.deep.equal(['a', 'c']);
    expect(t.informer.get({ namespace: 'default', name: 'a' })?.spec).to.deep.equal({ image: 'debian/bookworm' });
    expect(t.informer.lastSyncResourceVersion()).to.equal(String(t.store.revision));
  });

  it('hands out copies, so a caller cannot corrupt the cache', async () => {
    const t = await setup();
    stopAll.push(() => t.informer.stop());
    t.informer.start();
    await t.informer.waitForSync();
    const a = t.informer.get({ namespace: 'default', name: 'a' });
    if (!a) throw new Error('a missing');
    a.metadata.name = 'changed';
    expect(t.informer.get({ namespace: 'default', name: 'a' })?.metadata.name).to.equal('a');
    expect(t.informer.list((o) => o.metadata.name === 'b')).to.have.length(1);
    expect(t.informer.get({ namespace: 'other', name: 'a' })).to.equal(undefined);
  });

  it('replays the cache as adds to a handler registered after sync', async () => {
    const t = await setup();
    stopAll.push(() => t.informer.stop());
    t.informer.start();
    await t.informer.waitForSync();
    const late = recorder(t.informer);
    expect(late).to.deep.equal(['add a', 'add b']);
  });

  it('relists on 410 Gone and emits the differences it missed', async () => {
    const t = await setup();
    stopAll.push(() => t.informer.stop());
    await t.store.create(INSTANCE, instance('c'));
    t.informer.start();
    await t.informer.waitForSync();
    t.events.length = 0;
    // changes whose watch events were lost
    t.store.deleteSilently(INSTANCE, 'b', 'default');
    t.store.putSilently(INSTANCE, { ...instance('a'), spec: { image: 'debian/bookworm' } });
    t.store.putSilently(INSTANCE, instance('d'));
    await flushPromises();
    t.store.compact();
    t.store.breakWatches(new GoneError('compacted'));
    await flushPromises();
    expect(t.store.listCalls).to.equal(2);
    expect([...t.events].sort()).to.deep.equal(['add d', 'delete b', 'update a']);
    expect(
      t.informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).to.deep.equal(['a', 'c', 'd']);
    await t.store.create(INSTANCE, instance('e'));
    await flushPromises();
    expect(t.events).to.include('add e');
  });

  it('re-watches from the last revision after backoff on other watch errors, without relisting', async () => {
    const t = await setup();
    stopAll.push(() => t.informer.stop());
    t.informer.start();
    await t.informer.waitForSync();
    await flushPromises();
    t.store.breakWatches(new UnavailableError('etcd down'));
    await flushPromises();
    await t.store.create(INSTANCE, instance('during-outage'));
    await flushPromises();
    expect(t.events).to.not.include('add during-outage');
    await t.clock.advanceAsync(200);
    expect(t.events).to.include('add during-outage');
    expect(t.store.listCalls).to.equal(1);
  });

  it('re-emits every cached object as an update on each resync period', async () => {
    const t = await setup({ resyncPeriodMs: 60_000 });
    stopAll.push(() => t.informer.stop());
    t.informer.start();
    await t.informer.waitForSync();
    t.events.length = 0;
    await t.clock.advanceAsync(59_999);
    expect(t.events).to.deep.equal([]);
    await t.clock.advanceAsync(1);
    expect([...t.events].sort()).to.deep.equal(['resync a', 'resync b']);
    await t.clock.advanceAsync(60_000);
    expect(t.events).to.have.length(4);
  });

  it('keeps delivering to other handlers when one throws', async () => {
    const t = await setup();
    stopAll.push(() => t.informer.stop());
    t.informer.addEventHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    t.informer.start();
    await t.informer.waitForSync();
    expect(t.events).to.deep.equal(['add a', 'add b']);
  });

  it('stops cleanly and leaves no timers behind', async () => {
    const t = await setup({ resyncPeriodMs: 1000 });
    t.informer.start();
    await t.informer.waitForSync();
    await t.informer.stop();
    expect(t.clock.pending()).to.equal(0);
  });
});

describe('SharedInformerFactory', () => {
  it('hands everyone the same informer per kind and starts late ones', async () => {
    const clock = new FakeClock();
    const store = new FakeStore(clock);
    const factory = new SharedInformerFactory({ store, logger: silentLogger(), clock, resyncPeriodMs: 0 });
    const a = factory.forKind(INSTANCE);
    expect(factory.forKind(INSTANCE)).to.equal(a);
    factory.start();
    const m = factory.forKind(MEMBER);
    expect(m).to.not.equal(a);
    await factory.waitForSync();
    expect(a.hasSynced() && m.hasSynced()).to.equal(true);
    await factory.stop();
  });
});
