import { expect } from 'chai';
import { backoffDelay, retryTransient } from '../../../../lib/controller/backoff.js';
import { FakeClock } from '../../../../lib/controller/clock.js';
import { BadRequestError, TimeoutError, UnavailableError } from '../../../../lib/errors.js';

describe('backoffDelay', () => {
  const rows: Array<[number, number]> = [
    [1, 250],
    [2, 500],
    [3, 1000],
    [5, 4000],
    [6, 5000],
    [60, 5000],
  ];
  for (const [attempt, want] of rows) {
    it(`waits ${want} ms after failure ${attempt} without jitter`, () => expect(backoffDelay(attempt, { jitter: 0 })).to.equal(want));
  }
  it('draws a jittered delay from [d·(1−jitter), d]', () => {
    expect(backoffDelay(3, { jitter: 0.5 }, () => 1)).to.equal(500);
    expect(backoffDelay(3, { jitter: 0.5 }, () => 0)).to.equal(1000);
  });
});

describe('retryTransient', () => {
  it('retries transient failures and returns the first success', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    let calls = 0;
    const p = retryTransient(
      async () => {
        calls++;
        if (calls < 3) throw new UnavailableError('etcd: unhealthy cluster');
        return 'admitted';
      },
      { what: 'join', timeoutMs: 60_000, clock, backoff: { jitter: 0 }, onRetry: ({ attempt }) => seen.push(attempt) },
    );
    await clock.advanceAsync(10_000);
    expect(await p).to.equal('admitted');
    expect(calls).to.equal(3);
    expect(seen).to.deep.equal([1, 2]);
  });

  it('rethrows a final failure at once', async () => {
    let calls = 0;
    const err = await retryTransient(
      async () => {
        calls++;
        throw new BadRequestError('bad token');
      },
      { what: 'join', timeoutMs: 60_000, clock: new FakeClock() },
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BadRequestError);
    expect(calls).to.equal(1);
  });

  it('gives up with a TimeoutError that names the operation, the last refusal and the hint', async () => {
    const clock = new FakeClock();
    const p = retryTransient(
      async () => {
        throw new UnavailableError('etcd: unhealthy cluster');
      },
      { what: 'join the cluster', timeoutMs: 3000, clock, backoff: { jitter: 0 }, hint: 'check the members' },
    ).catch((e: unknown) => e);
    await clock.advanceAsync(10_000);
    const err = await p;
    expect(err).to.be.instanceOf(TimeoutError);
    expect((err as Error).message).to.match(/could not join the cluster within 3 s .*unhealthy cluster; check the members/);
  });

  it("waits at least the refusal's retryAfterSeconds", async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    let calls = 0;
    const p = retryTransient(
      async () => {
        if (++calls === 1) throw new UnavailableError('busy', { retryAfterSeconds: 3 });
        return calls;
      },
      { what: 'x', timeoutMs: 60_000, clock, backoff: { jitter: 0 }, onRetry: ({ delayMs }) => delays.push(delayMs) },
    );
    await clock.advanceAsync(2999);
    expect(calls).to.equal(1);
    await clock.advanceAsync(1);
    expect(await p).to.equal(2);
    expect(delays).to.deep.equal([3000]);
  });
});
