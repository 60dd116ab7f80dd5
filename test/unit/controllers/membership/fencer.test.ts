import { expect } from 'chai';
import { Fencer } from '../../../../controllers/membership/fencer.js';
import { fenceDeadline } from '../../../../controllers/membership/fencing.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Instance, Member } from '../../../../lib/kinds/types.js';
import { createMember, instanceObj, makeHarness, member, MEMBER, type Harness } from '../instances/harness.js';

describe('Fencer (self-fencing on a fake clock)', () => {
  let h: Harness;
  let lastAck: number;
  let fenceCalls: number;
  let fencedNow: Set<string>;
  let fencer: Fencer;
  /** reachable: whether the store answers (a partitioned member's does not) */
  let reachable: boolean;

  const web = (): Instance => ({
    ...instanceObj('web', { recovery: 'failover' }),
    status: { member: 'm1', placementEpoch: 3, phase: 'Running' },
  });

  beforeEach(async () => {
    h = makeHarness();
    await createMember(h.store, member('m1'));
    lastAck = h.clock.now();
    fenceCalls = 0;
    fencedNow = new Set();
    reachable = true;
    const realGet = h.store.get.bind(h.store);
    // A partitioned member's store calls hang; the Fencer must not wait for them forever.
    h.store.get = (async (...args: Parameters<typeof realGet>) =>
      reachable ? realGet(...args) : new Promise(() => {})) as typeof h.store.get;
    fencer = new Fencer({
      heartbeat: { fenceDeadline: () => fenceDeadline({ lastAckedSendAt: lastAck, ttlSeconds: 5 }) },
      target: {
        fence: async () => {
          fenceCalls++;
          const fresh = !fencedNow.has('web');
          fencedNow.add('web');
          return fresh ? [{ instance: web(), containerName: 'cl-x-default_web', wasRunning: true }] : [];
        },
        fencedCount: () => fencedNow.size,
      },
      store: h.store,
      memberKind: MEMBER,
      memberName: 'm1',
      events: new EventRecorder({ store: h.store, logger: h.logger, metrics: h.metrics, component: 'fencer', host: 'm1', clock: h.clock }),
      logger: h.logger,
      clock: h.clock,
      checkMs: 100,
      writeTimeoutMs: 500,
    });
    fencer.start();
  });

  afterEach(() => fencer.stop());

  /** keepAlive acknowledges a keep-alive sent now (a healthy member does this every second). */
  function keepAlive(): void {
    lastAck = h.clock.now();
  }

  it('does nothing while keep-alives are acknowledged', async () => {
    for (let i = 0; i < 20; i++) {
      await h.clock.advanceAsync(1000);
      keepAlive();
    }
    expect(fenceCalls).to.equal(0);
    expect(fencer.state().fencing).to.equal(false);
  });

  it('fences before the lease can expire once keep-alives stop being acknowledged', async () => {
    const start = h.clock.now();
    reachable = false;
    await h.until('the fencer fences', () => fenceCalls > 0, { stepMs: 100, steps: 100 });
    const fencedAt = fencer.state().fencedAt ?? Infinity;
    // The deadline is send time + TTL − margin: 3.5 s with the defaults, so the 5 s lease cannot have expired yet.
    expect(fencedAt - start).to.be.at.least(3500);
    expect(fencedAt - start).to.be.below(5000);
    expect(fencer.state().fencing).to.equal(true);
  });

  it('keeps fencing on every tick while the deadline stays passed', async () => {
    reachable = false;
    await h.until('fenced', () => fenceCalls > 0, { stepMs: 100, steps: 100 });
    const first = fenceCalls;
    await h.clock.advanceAsync(1000);
    expect(fenceCalls).to.be.greaterThan(first);
  });

  it('reports status.fenced and Events only once the member can write again', async () => {
    reachable = false;
    await h.until('fenced', () => fenceCalls > 0, { stepMs: 100, steps: 100 });
    await h.clock.advanceAsync(2000);
    expect(fencer.state().unreported).to.equal(1);
    reachable = true;
    keepAlive();
    await h.until('the report is written', async () => (await h.store.get<Member>(MEMBER, 'm1')).status?.fenced === true, {
      stepMs: 100,
      steps: 50,
    });
    await h.until('the events are written', async () => (await h.events()).filter((e) => e.reason === 'Fenced').length === 2, {
      stepMs: 100,
      steps: 50,
    });
    const events = await h.events();
    const onInstance = events.find((e) => e.reason === 'Fenced' && e.involvedObject.kind === 'Instance');
    expect(onInstance?.message).to.match(/stopped its copy cl-x-default_web at 20\d\d-/);
    expect(fencer.state().unreported).to.equal(0);
  });

  it('clears status.fenced once every fenced instance has been placed anew', async () => {
    reachable = false;
    await h.until('fenced', () => fenceCalls > 0, { stepMs: 100, steps: 100 });
    reachable = true;
    keepAlive();
    await h.until('fenced reported', async () => (await h.store.get<Member>(MEMBER, 'm1')).status?.fenced === true, {
      stepMs: 100,
      steps: 50,
    });
    fencedNow.clear();
    keepAlive();
    await h.until('fenced cleared', async () => (await h.store.get<Member>(MEMBER, 'm1')).status?.fenced === false, {
      stepMs: 100,
      steps: 50,
    });
    expect((await h.events()).some((e) => e.reason === 'Unfenced')).to.equal(true);
  });

  it('fences at once when the member holds no lease at all', async () => {
    const f = new Fencer({
      heartbeat: { fenceDeadline: () => 0 },
      target: { fence: async () => [], fencedCount: () => 0 },
      store: h.store,
      memberKind: MEMBER,
      memberName: 'm1',
      events: new EventRecorder({ store: h.store, logger: h.logger, metrics: h.metrics, component: 'fencer', host: 'm1', clock: h.clock }),
      logger: h.logger,
      clock: h.clock,
    });
    await f.check();
    expect(f.state().fencing).to.equal(true);
  });
});
