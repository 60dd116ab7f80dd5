import { expect } from 'chai';
import { FakeClock } from '../../../../lib/controller/clock.js';
import { withTimeout } from '../../../../lib/controller/timeout.js';
import { TimeoutError } from '../../../../lib/errors.js';
import { deferred } from './helpers.js';

describe('withTimeout', () => {
  it('resolves with the value of a promise that settles in time and clears its timer', async () => {
    const clock = new FakeClock();
    const p = deferred<number>();
    const bounded = withTimeout(p.promise, { ms: 1000, clock, message: 'no answer' });
    p.resolve(7);
    expect(await bounded).to.equal(7);
    expect(clock.pending()).to.equal(0);
  });

  it('rejects with the error of a promise that fails in time', async () => {
    const clock = new FakeClock();
    const err = await withTimeout(Promise.reject(new Error('refused')), { ms: 1000, clock, message: 'no answer' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error).with.property('message', 'refused');
    expect(err).to.not.be.instanceOf(TimeoutError);
  });

  it('rejects with a TimeoutError carrying the message when the promise does not settle in time', async () => {
    const clock = new FakeClock();
    const p = deferred<number>();
    const bounded = withTimeout(p.promise, { ms: 1000, clock, message: 'no answer from etcd within 1000 ms' });
    const settled = bounded.catch((e: unknown) => e);
    clock.advance(1000);
    const err = await settled;
    expect(err).to.be.instanceOf(TimeoutError).with.property('message', 'no answer from etcd within 1000 ms');
    // a late answer changes nothing
    p.resolve(1);
    expect(await settled).to.equal(err);
  });

  it('wraps a rejection that is not an Error', async () => {
    const clock = new FakeClock();
    const err = await withTimeout(Promise.reject('plain'), { ms: 1000, clock, message: 'no answer' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error).with.property('message', 'plain');
  });
});
