import { expect } from 'chai';
import { FakeClock, repeat, sleep } from '../../../../lib/controller/clock.js';

describe('FakeClock', () => {
  it('fires due timers in due order and leaves now at the end of the step', () => {
    const clock = new FakeClock({ start: 1000 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push('late'), 100);
    clock.advance(50);
    expect(fired).to.deep.equal(['a@1010', 'b@1020']);
    expect(clock.now()).to.equal(1050);
    expect(clock.pending()).to.equal(1);
  });

  it('fires timers scheduled by fired callbacks within the same step', () => {
    const clock = new FakeClock({ start: 0 });
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(fired).to.deep.equal([10, 20, 30]);
  });

  it('does not fire a cleared timer', () => {
    const clock = new FakeClock();
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(h);
    clock.advance(10);
    expect(fired).to.equal(false);
  });

  it('resolves sleep when time advances and early when the signal aborts', async () => {
    const clock = new FakeClock();
    let woke = false;
    const p = sleep(clock, 100).then(() => (woke = true));
    await clock.advanceAsync(99);
    expect(woke).to.equal(false);
    await clock.advanceAsync(1);
    await p;
    expect(woke).to.equal(true);
    const ac = new AbortController();
    const q = sleep(clock, 1_000_000, ac.signal);
    ac.abort();
    await q;
    expect(clock.pending()).to.equal(0);
  });
});

describe('repeat', () => {
  it('runs the tick every interval, timed from the end of the last run, until stopped', async () => {
    const clock = new FakeClock({ start: 0 });
    const runs: number[] = [];
    const r = repeat(clock, 10, async () => {
      runs.push(clock.now());
    });
    await clock.advanceAsync(35);
    expect(runs).to.deep.equal([10, 20, 30]);
    r.stop();
    await clock.advanceAsync(100);
    expect(runs).to.deep.equal([10, 20, 30]);
    expect(clock.pending()).to.equal(0);
  });
});
