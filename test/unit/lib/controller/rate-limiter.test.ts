import { expect } from 'chai';
import { FakeClock } from '../../../../lib/controller/clock.js';
import {
  BucketRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from '../../../../lib/controller/rate-limiter.js';

describe('ItemExponentialRateLimiter', () => {
  it('doubles from 5 ms per key', () => {
    const l = new ItemExponentialRateLimiter();
    expect([1, 2, 3, 4, 5].map(() => l.when('a'))).to.deep.equal([5, 10, 20, 40, 80]);
    expect(l.when('b')).to.equal(5);
    expect(l.retries('a')).to.equal(5);
  });

  it('caps the delay at 5 minutes, even after very many failures', () => {
    const l = new ItemExponentialRateLimiter();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = l.when('a');
    expect(last).to.equal(300_000);
    expect(Number.isFinite(last)).to.equal(true);
  });

  it('starts over after forget', () => {
    const l = new ItemExponentialRateLimiter();
    l.when('a');
    l.when('a');
    l.forget('a');
    expect(l.retries('a')).to.equal(0);
    expect(l.when('a')).to.equal(5);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces tokens at the rate', () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter({ qps: 10, burst: 3, clock });
    expect([l.when('a'), l.when('b'), l.when('c')]).to.deep.equal([0, 0, 0]);
    expect(l.when('d')).to.equal(100);
    expect(l.when('e')).to.equal(200);
  });

  it('refills with time up to the burst', () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter({ qps: 10, burst: 2, clock });
    l.when('a');
    l.when('b');
    clock.advance(10_000);
    expect([l.when('c'), l.when('d'), l.when('e')]).to.deep.equal([0, 0, 100]);
  });
});

describe('MaxOfRateLimiter', () => {
  it('waits for the longest of its limiters and forgets in all', () => {
    const clock = new FakeClock();
    const l = new MaxOfRateLimiter(new ItemExponentialRateLimiter({ baseDelayMs: 1 }), new BucketRateLimiter({ qps: 1, burst: 1, clock }));
    expect(l.when('a')).to.equal(1);
    expect(l.when('a')).to.equal(1000);
    expect(l.retries('a')).to.equal(2);
    l.forget('a');
    expect(l.retries('a')).to.equal(0);
  });

  it('makes the default controller limiter start at 5 ms', () => {
    const l = defaultControllerRateLimiter({ clock: new FakeClock() });
    expect(l.when('x')).to.equal(5);
  });
});
