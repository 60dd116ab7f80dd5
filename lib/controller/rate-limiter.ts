/**
 * Rate limiters for retries (like client-go workqueue rate limiters): a
 * per-key exponential backoff, a global token bucket, and the max of several.
 */
import type { Clock } from './clock.js';
import { realClock } from './clock.js';

/** RateLimiter decides how long a key waits before its next retry. */
export interface RateLimiter {
  /** when records one more failure of `key` and returns the delay (ms) before retrying it. */
  when(key: string): number;
  /** forget clears the failure history of `key` (it succeeded or gave up). */
  forget(key: string): void;
  /** retries is the number of failures recorded for `key` since it was last forgotten. */
  retries(key: string): number;
}

/** ItemExponentialRateLimiter waits base·2^failures per key, capped at max (default 5 ms → 5 min). */
export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(opts: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 5 * 60_000;
  }

  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    // 2^exp overflows to Infinity long after it passes any sane cap; min() handles both
    return Math.min(this.baseDelayMs * 2 ** Math.min(exp, 64), this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * BucketRateLimiter is a global token bucket (default 10 per second, burst
 * 100): every `when` reserves a token and returns how long until that token
 * exists. It keeps no per-key state.
 */
export class BucketRateLimiter implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(opts: { qps?: number; burst?: number; clock?: Clock } = {}) {
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.clock = opts.clock ?? realClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  when(_key: string): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  forget(_key: string): void {}

  retries(_key: string): number {
    return 0;
  }
}

/** MaxOfRateLimiter asks every limiter and waits for the longest; forget and retries apply to all. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    // every limiter must see the failure, so no short-circuit
    return this.limiters.reduce((max, l) => Math.max(max, l.when(key)), 0);
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  retries(key: string): number {
    return this.limiters.reduce((max, l) => Math.max(max, l.retries(key)), 0);
  }
}

/** defaultControllerRateLimiter is the max of per-key 5 ms → 5 min backoff and a 10 qps / burst 100 bucket. */
export function defaultControllerRateLimiter(opts: { clock?: Clock } = {}): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialRateLimiter(), new BucketRateLimiter({ clock: opts.clock }));
}
