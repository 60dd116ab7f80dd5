import { expect } from 'chai';
import { FakeClock } from '../../../../lib/controller/clock.js';
import { DelayingQueue } from '../../../../lib/controller/delaying-queue.js';
import { ItemExponentialRateLimiter } from '../../../../lib/controller/rate-limiter.js';
import { RateLimitingQueue } from '../../../../lib/controller/rate-limiting-queue.js';
import { WorkQueue } from '../../../../lib/controller/work-queue.js';

describe('WorkQueue', () => {
  it('keeps a key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).to.equal(2);
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal('b');
    expect(q.len()).to.equal(0);
  });

  it('does not hand out a key being processed, and re-queues it at done when added meanwhile', async () => {
    const q = new WorkQueue();
    q.add('a');
    expect(await q.get()).to.equal('a');
    q.add('a');
    q.add('a');
    expect(q.len()).to.equal(0);
    q.done('a');
    expect(q.len()).to.equal(1);
    expect(await q.get()).to.equal('a');
    q.done('a');
    expect(q.len()).to.equal(0);
  });

  it('hands a key to a waiting get', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add('x');
    expect(await p).to.equal('x');
    expect(q.isProcessing('x')).to.equal(true);
  });

  it('releases waiting gets with undefined and ignores adds after shutDown', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.shutDown();
    expect(await p).to.equal(undefined);
    q.add('a');
    expect(q.len()).to.equal(0);
    expect(await q.get()).to.equal(undefined);
  });
});

describe('DelayingQueue', () => {
  it('adds a key only after its delay', () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter('a', 100);
    clock.advance(99);
    expect(q.len()).to.equal(0);
    clock.advance(1);
    expect(q.len()).to.equal(1);
  });

  it('keeps the earliest due time when a key is delayed twice', () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter('a', 100);
    q.addAfter('a', 30);
    q.addAfter('a', 500);
    expect(q.delayed()).to.equal(1);
    clock.advance(30);
    expect(q.len()).to.equal(1);
    expect(q.delayed()).to.equal(0);
    expect(clock.pending()).to.equal(0);
  });

  it('adds at once for a zero delay and cancels delays at shutDown', () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter('now', 0);
    expect(q.len()).to.equal(1);
    q.addAfter('later', 10);
    q.shutDown();
    expect(clock.pending()).to.equal(0);
  });
});

describe('RateLimitingQueue', () => {
  it('delays each retry by the limiter and counts requeues until forget', () => {
    const clock = new FakeClock();
    const q = new RateLimitingQueue({ clock, rateLimiter: new ItemExponentialRateLimiter({ baseDelayMs: 10 }) });
    q.addRateLimited('a');
    expect(q.numRequeues('a')).to.equal(1);
    clock.advance(9);
    expect(q.len()).to.equal(0);
    clock.advance(1);
    expect(q.len()).to.equal(1);
    q.addRateLimited('b');
    q.addRateLimited('b');
    expect(q.numRequeues('b')).to.equal(2);
    q.forget('b');
    expect(q.numRequeues('b')).to.equal(0);
  });
});
