import { expect } from 'chai';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import { LeaderElector } from '../../../../lib/controller/leader-election.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { FakeStore } from './fake-store.js';

const KEY = '/cloudlet/leader/cluster-controllers';

function candidate(store: FakeStore, clock: FakeClock, identity: string) {
  const log: string[] = [];
  let signal: AbortSignal | undefined;
  const elector = new LeaderElector({
    store,
    clock,
    name: 'cluster-controllers',
    identity,
    logger: silentLogger(),
    onStartedLeading: (s) => {
      signal = s;
      log.push(`started@${clock.now()}`);
    },
    onStoppedLeading: () => {
      // record whether the key (and so the lease) still existed when we stepped down
      log.push(`stopped key=${store.raw.entries.has(KEY) ? 'present' : 'gone'}`);
    },
  });
  return { elector, log, signal: () => signal };
}

describe('LeaderElector', () => {
  let clock: FakeClock;
  let store: FakeStore;
  let electors: LeaderElector[];
  beforeEach(() => {
    clock = new FakeClock({ start: 0 });
    store = new FakeStore(clock);
    electors = [];
  });
  afterEach(async () => {
    for (const e of electors) await e.stop();
  });

  it('lets exactly one candidate lead and tells the others who leads', async () => {
    const a = candidate(store, clock, 'm1');
    const b = candidate(store, clock, 'm2');
    electors.push(a.elector, b.elector);
    a.elector.start();
    await flushPromises();
    b.elector.start();
    await clock.advanceAsync(10_000);
    expect(a.elector.isLeader()).to.equal(true);
    expect(b.elector.isLeader()).to.equal(false);
    expect(a.log).to.deep.equal(['started@0']);
    expect(b.log).to.deep.equal([]);
    expect(b.elector.leaderIdentity()).to.equal('m1');
    expect(store.raw.entries.get(KEY)?.value).to.equal('m1');
  });

  it('keeps the lease alive while leading', async () => {
    const a = candidate(store, clock, 'm1');
    electors.push(a.elector);
    a.elector.start();
    await clock.advanceAsync(60_000);
    expect(a.elector.isLeader()).to.equal(true);
    expect(store.raw.entries.has(KEY)).to.equal(true);
  });

  it('hands over at once when the leader stops and revokes its lease', async () => {
    const a = candidate(store, clock, 'm1');
    const b = candidate(store, clock, 'm2');
    electors.push(a.elector, b.elector);
    a.elector.start();
    await flushPromises();
    b.elector.start();
    await clock.advanceAsync(2000);
    const leaseId = store.raw.entries.get(KEY)?.lease ?? '';
    await a.elector.stop();
    await flushPromises();
    expect(store.raw.leases.get(leaseId)?.alive).to.equal(false);
    expect(a.signal()?.aborted).to.equal(true);
    expect(a.elector.isLeader()).to.equal(false);
    expect(b.elector.isLeader()).to.equal(true);
    expect(b.log).to.deep.equal(['started@2000']);
    expect(b.elector.leaderIdentity()).to.equal('m2');
  });

  it('stops leading by itself before its lease can expire when keep-alives fail', async () => {
    const a = candidate(store, clock, 'm1');
    const b = candidate(store, clock, 'm2');
    electors.push(a.elector, b.elector);
    a.elector.start();
    await flushPromises();
    b.elector.start();
    await clock.advanceAsync(3000);
    const leaseId = store.raw.entries.get(KEY)?.lease ?? '';
    store.raw.failing.add(leaseId);
    await clock.advanceAsync(20_000);
    expect(a.log[1]).to.equal('stopped key=present');
    expect(a.signal()?.aborted).to.equal(true);
    expect(a.elector.isLeader()).to.equal(false);
    // the lease then expired on its own, and the other candidate took over
    expect(store.raw.leases.get(leaseId)?.alive).to.equal(false);
    expect(b.elector.isLeader()).to.equal(true);
  });

  it('stops leading as soon as a keep-alive reports the lease expired', async () => {
    const a = candidate(store, clock, 'm1');
    electors.push(a.elector);
    a.elector.start();
    await clock.advanceAsync(500);
    const leaseId = store.raw.entries.get(KEY)?.lease ?? '';
    const lease = store.raw.leases.get(leaseId);
    if (!lease) throw new Error('no lease');
    store.raw.expire(lease);
    await clock.advanceAsync(1000);
    expect(a.log[1]).to.equal('stopped key=gone');
    // nobody else is running, so it claims the key again with a fresh lease
    await clock.advanceAsync(10_000);
    expect(a.elector.isLeader()).to.equal(true);
    expect(store.raw.entries.get(KEY)?.lease).to.not.equal(leaseId);
  });

  it('returns from stop within one TTL even when revoking the lease never answers', async () => {
    const a = candidate(store, clock, 'm1');
    a.elector.start();
    await clock.advanceAsync(1000);
    store.raw.hanging.add(store.raw.entries.get(KEY)?.lease ?? '');
    let stopped = false;
    const stopping = a.elector.stop().then(() => (stopped = true));
    await clock.advanceAsync(4000);
    expect(stopped).to.equal(false);
    expect(a.elector.isLeader()).to.equal(false);
    await clock.advanceAsync(1000);
    await stopping;
    expect(stopped).to.equal(true);
  });

  it('does nothing on a second start and returns from stop when it never led', async () => {
    const a = candidate(store, clock, 'm1');
    const b = candidate(store, clock, 'm2');
    a.elector.start();
    a.elector.start();
    await flushPromises();
    b.elector.start();
    await clock.advanceAsync(1000);
    await b.elector.stop();
    expect(b.log).to.deep.equal([]);
    await a.elector.stop();
    expect(store.raw.entries.has(KEY)).to.equal(false);
    expect(clock.pending()).to.equal(0);
  });
});
