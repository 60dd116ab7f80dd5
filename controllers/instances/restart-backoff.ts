/**
 * Restart backoff for crashed instances: 1 s, 2 s, 4 s … capped at 60 s, and
 * forgotten once an instance has run for 5 minutes. The decision is a pure
 * function; RestartBackoffTracker keeps the per-instance counters in memory
 * (a daemon restart starts every instance's backoff afresh).
 */

/** RESTART_BACKOFF_INITIAL_MS, RESTART_BACKOFF_MAX_MS and RESTART_BACKOFF_RESET_MS are the backoff's constants. */
export const RESTART_BACKOFF_INITIAL_MS = 1000;
export const RESTART_BACKOFF_MAX_MS = 60_000;
export const RESTART_BACKOFF_RESET_MS = 5 * 60_000;

/** BackoffState is what the tracker remembers about one instance. */
export interface BackoffState {
  /** failures counts the crashes since the instance last ran for the reset period */
  failures: number;
  /** notBefore is the clock time before which it must not be restarted */
  notBefore: number;
}

/**
 * nextRestart decides the backoff after a crash seen at `now`: an instance
 * that had run for at least `resetMs` (ranForMs) starts over at the initial
 * delay; otherwise the delay doubles per failure up to `maxMs`.
 */
export function nextRestart(opts: {
  previous: BackoffState | undefined;
  ranForMs: number | undefined;
  now: number;
  initialMs?: number;
  maxMs?: number;
  resetMs?: number;
}): BackoffState & { delayMs: number } {
  const initial = opts.initialMs ?? RESTART_BACKOFF_INITIAL_MS;
  const max = opts.maxMs ?? RESTART_BACKOFF_MAX_MS;
  const reset = opts.resetMs ?? RESTART_BACKOFF_RESET_MS;
  const ranLong = opts.ranForMs !== undefined && opts.ranForMs >= reset;
  const failures = (ranLong ? 0 : (opts.previous?.failures ?? 0)) + 1;
  // Not backoffDelay: this schedule is a domain policy with its own status
  // (restartCount, notBefore, a reason users read), written and table-tested
  // here; it has no jitter because one instance restarts alone.
  const delayMs = Math.min(max, initial * 2 ** Math.min(30, failures - 1));
  return { failures, notBefore: opts.now + delayMs, delayMs };
}

/** RestartFacts is an instance's restart backoff as a reconcile sees it (RestartBackoffTracker.facts). */
export interface RestartFacts {
  /** key names the instance in the tracker */
  key: string;
  /** ranForMs: how long the container has run since status.startedAt (undefined: not started) */
  ranForMs?: number;
  /** waitMs: backoff left before a crashed instance may start again (0 = now) */
  waitMs: number;
  /** delayMs: the backoff a crash found now would get */
  delayMs: number;
}

/** RestartBackoffTracker remembers each instance's backoff by key (uid or namespace/name). */
export class RestartBackoffTracker {
  private readonly states = new Map<string, BackoffState>();

  /** crashed records a crash of `key` at `now` and returns the delay before it may start again. */
  crashed(key: string, opts: { now: number; ranForMs: number | undefined }): number {
    const next = nextRestart({ previous: this.states.get(key), ranForMs: opts.ranForMs, now: opts.now });
    this.states.set(key, { failures: next.failures, notBefore: next.notBefore });
    return next.delayMs;
  }

  /** waitMs is how long `key` must still wait before a restart (0 when it may start now). */
  waitMs(key: string, now: number): number {
    const s = this.states.get(key);
    return s ? Math.max(0, s.notBefore - now) : 0;
  }

  /** facts reads `key`'s backoff at `now` for an instance started at `startedAt` (an ISO time, or undefined); it changes nothing. */
  facts(key: string, opts: { now: number; startedAt: string | undefined }): RestartFacts {
    const { now } = opts;
    const ranForMs = opts.startedAt ? now - Date.parse(opts.startedAt) : undefined;
    return {
      key,
      ...(ranForMs !== undefined ? { ranForMs } : {}),
      waitMs: this.waitMs(key, now),
      delayMs: nextRestart({ previous: { failures: this.failures(key), notBefore: 0 }, ranForMs, now }).delayMs,
    };
  }

  /** failures is the crash count remembered for `key`. */
  failures(key: string): number {
    return this.states.get(key)?.failures ?? 0;
  }

  /** forget drops `key` (deleted instance). */
  forget(key: string): void {
    this.states.delete(key);
  }
}
