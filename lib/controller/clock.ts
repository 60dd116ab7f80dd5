/**
 * Injectable time. Backoff, delays, resync, lease and fencing timers take a
 * Clock so tests drive them with FakeClock instead of waiting.
 */

/** TimerHandle is an opaque handle returned by Clock.setTimeout. */
export type TimerHandle = object;

/** Clock gives the current time in milliseconds and one-shot timers. */
export interface Clock {
  /** now is milliseconds since the epoch. */
  now(): number;
  /** setTimeout calls `fn` once after `ms` milliseconds (0 or less: as soon as possible). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** clearTimeout cancels a timer; cancelling a fired or cancelled timer does nothing. */
  clearTimeout(handle: TimerHandle): void;
}

/** realClock is the process clock (Date.now and Node timers). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * sleep resolves after `ms` on `clock`; with a signal it resolves early (never
 * rejects) when the signal aborts, so loops can check their own stop flag.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Repeating is a running `repeat`; `stop` cancels the next run (one in progress finishes). */
export interface Repeating {
  stop(): void;
}

/**
 * repeat runs `tick` every `ms` on `clock`, the first run `ms` from now and
 * each next one `ms` after the last has settled, so runs never overlap.
 * `tick` must handle its own errors (log and count them): nothing here catches a rejection.
 */
export function repeat(clock: Clock, ms: number, tick: () => Promise<void>): Repeating {
  let stopped = false;
  let handle: TimerHandle | undefined;
  const schedule = (): void => {
    if (stopped) return;
    handle = clock.setTimeout(() => {
      void tick().finally(schedule);
    }, ms);
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      if (handle) clock.clearTimeout(handle);
    },
  };
}

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * FakeClock is a Clock for tests: time stands still until `advance` moves it.
 * `advance(ms)` fires every timer due within the step in due order (ties in
 * creation order), including timers scheduled by fired callbacks, and leaves
 * `now()` at the end of the step. `advanceAsync` does the same but lets
 * promises settle after each fired timer, for code that awaits between timers.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(opts: { start?: number } = {}) {
    this.current = opts.start ?? Date.parse('2025-01-01T00:00:00Z');
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: this.nextId++, due: this.current + Math.max(0, ms), fn };
    this.timers.set(timer.id, timer);
    return { fakeTimerId: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { fakeTimerId?: unknown }).fakeTimerId;
    if (typeof id === 'number') this.timers.delete(id);
  }

  /** pending is the number of timers not yet fired or cancelled. */
  pending(): number {
    return this.timers.size;
  }

  /** nextDue is the due time of the earliest pending timer, or undefined. */
  nextDue(): number | undefined {
    return this.earliest(Number.POSITIVE_INFINITY)?.due;
  }

  /** advance moves time forward by `ms`, firing due timers synchronously in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let t = this.earliest(target); t; t = this.earliest(target)) {
      this.timers.delete(t.id);
      this.current = Math.max(this.current, t.due);
      t.fn();
    }
    this.current = Math.max(this.current, target);
  }

  /** advanceAsync is advance, but lets pending promises and I/O callbacks run after each fired timer. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (let t = this.earliest(target); t; t = this.earliest(target)) {
      this.timers.delete(t.id);
      this.current = Math.max(this.current, t.due);
      t.fn();
      await flushPromises();
    }
    this.current = Math.max(this.current, target);
    await flushPromises();
  }

  private earliest(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.due > limit) continue;
      if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    return best;
  }
}

/** flushPromises lets every queued promise callback and pending I/O callback run (a few macrotask turns). */
export async function flushPromises(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
