/**
 * The rate-limiting queue, third layer: a DelayingQueue whose retries wait as
 * long as a RateLimiter says.
 */
import type { Clock } from './clock.js';
import { DelayingQueue } from './delaying-queue.js';
import type { RateLimiter } from './rate-limiter.js';
import { defaultControllerRateLimiter } from './rate-limiter.js';

/** RateLimitingQueueOptions: the clock for delays and the limiter (default: defaultControllerRateLimiter). */
export interface RateLimitingQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
}

/** RateLimitingQueue adds keys after the rate limiter's delay and tracks their retries. */
export class RateLimitingQueue extends DelayingQueue {
  private readonly limiter: RateLimiter;

  constructor(opts: RateLimitingQueueOptions = {}) {
    super({ clock: opts.clock });
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
  }

  /** addRateLimited records a failure of `key` and adds it after the limiter's delay. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** forget clears the failure history of `key`; it does not remove the key from the queue. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** numRequeues is how many times `key` was rate-limited since it was last forgotten. */
  numRequeues(key: string): number {
    return this.limiter.retries(key);
  }
}
