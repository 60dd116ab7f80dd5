import { expect } from 'chai';
import { nextRestart, RestartBackoffTracker, RESTART_BACKOFF_RESET_MS } from '../../../../controllers/instances/restart-backoff.js';

describe('restart backoff', () => {
  it('waits 1 s, 2 s, 4 s … after consecutive crashes and caps at 60 s', () => {
    const delays: number[] = [];
    let previous;
    for (let i = 0; i < 9; i++) {
      const next = nextRestart({ previous, ranForMs: 1000, now: 0 });
      delays.push(next.delayMs);
      previous = next;
    }
    expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it('starts over at 1 s once the instance had run for five minutes', () => {
    const previous = { failures: 6, notBefore: 0 };
    expect(nextRestart({ previous, ranForMs: RESTART_BACKOFF_RESET_MS, now: 0 }).delayMs).to.equal(1000);
    expect(nextRestart({ previous, ranForMs: RESTART_BACKOFF_RESET_MS - 1, now: 0 }).delayMs).to.equal(60000);
  });

  it('keeps separate counters per instance and tells how long is left to wait', () => {
    const t = new RestartBackoffTracker();
    expect(t.crashed('a', { now: 1000, ranForMs: 10 })).to.equal(1000);
    expect(t.crashed('a', { now: 2000, ranForMs: 10 })).to.equal(2000);
    expect(t.crashed('b', { now: 2000, ranForMs: 10 })).to.equal(1000);
    expect(t.waitMs('a', 3000)).to.equal(1000);
    expect(t.waitMs('a', 5000)).to.equal(0);
    expect(t.waitMs('c', 0)).to.equal(0);
    t.forget('a');
    expect(t.failures('a')).to.equal(0);
  });

  it('reports the facts a reconcile plans with, without changing the counters', () => {
    const t = new RestartBackoffTracker();
    const now = Date.parse('2025-05-01T12:00:00Z');
    expect(t.facts('a', { now, startedAt: undefined })).to.deep.equal({ key: 'a', waitMs: 0, delayMs: 1000 });
    t.crashed('a', { now, ranForMs: 10 });
    expect(t.facts('a', { now: now + 400, startedAt: '2025-05-01T11:59:59.000Z' })).to.deep.equal({
      key: 'a',
      ranForMs: 1400,
      waitMs: 600,
      delayMs: 2000,
    });
    expect(t.facts('a', { now, startedAt: '2025-05-01T11:50:00.000Z' }).delayMs).to.equal(1000);
    expect(t.failures('a')).to.equal(1);
  });
});
