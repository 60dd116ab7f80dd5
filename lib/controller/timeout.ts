/**
 * withTimeout: the one way to stop waiting for a promise that may never
 * settle (an etcd without quorum, a lease revoke, a child that ignores
 * SIGTERM, a reconcile past its deadline).
 */
import { TimeoutError } from '../errors.js';
import { realClock, type Clock } from './clock.js';

/** TimeoutOptions: how long to wait, on which clock, and what the TimeoutError says. */
export interface TimeoutOptions {
  /** ms is how long to wait for the promise */
  ms: number;
  /** message of the TimeoutError ("no answer from etcd within 1000 ms") */
  message: string;
  /** clock runs the timer (default realClock) */
  clock?: Clock;
}

/**
 * withTimeout settles like `p` when `p` settles within `ms`, and otherwise
 * rejects with a TimeoutError carrying `message`. It does not cancel `p`
 * (the operation may still complete later; pass a signal to it for that);
 * a later settlement of `p` is ignored. The timer is cleared as soon as `p`
 * settles. A rejection that is not an Error is wrapped in one.
 */
export function withTimeout<T>(p: Promise<T>, opts: TimeoutOptions): Promise<T> {
  const clock = opts.clock ?? realClock;
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new TimeoutError(opts.message)), opts.ms);
    p.then(
      (v) => {
        clock.clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
