/**
 * Backoff for loops outside the controller runner (the runner's per-key
 * backoff is rate-limiter.ts): a delay schedule and `retryTransient`, which
 * retries an operation while its failures are transient, inside a deadline.
 * Every membership change (join, member remove, promotion) retries through
 * it, so they share one policy.
 */
import { TimeoutError, UnavailableError, asCloudletError, errorMessage, isCode } from '../errors.js';
import { realClock, sleep, type Clock } from './clock.js';

/** BackoffOptions: the first delay, its growth factor, the cap and the jitter fraction. */
export interface BackoffOptions {
  /** initialMs is the delay after the first failure (default 250 ms) */
  initialMs?: number;
  /** factor multiplies the delay after each failure (default 2) */
  factor?: number;
  /** maxMs caps the delay (default 5 s) */
  maxMs?: number;
  /** jitter: each delay is drawn from [d·(1−jitter), d] (default 0.2) so retrying clients spread out */
  jitter?: number;
}

/** backoffDelay is the wait after failure number `attempt` (1 = the first failure). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = opts.initialMs ?? 250;
  const cap = opts.maxMs ?? 5000;
  const jitter = Math.min(Math.max(opts.jitter ?? 0.2, 0), 1);
  const base = Math.min(initial * (opts.factor ?? 2) ** Math.min(Math.max(attempt - 1, 0), 64), cap);
  return Math.round(base * (1 - jitter * random()));
}

/** isTransient is the default retry decision: UnavailableError and TimeoutError clear by themselves. */
export function isTransient(err: unknown): boolean {
  return isCode(err, 'Unavailable') || isCode(err, 'Timeout');
}

/** RetryOptions: the time bound, the decision, progress, and the clock. */
export interface RetryOptions {
  /** timeoutMs bounds the whole retry loop (no new attempt starts after it) */
  timeoutMs: number;
  /** what names the operation in the timeout error ("join the cluster") */
  what: string;
  /** transient decides whether a failure is retried (default isTransient) */
  transient?: (err: unknown) => boolean;
  /** onRetry is told about every transient failure before the wait */
  onRetry?: (info: { attempt: number; error: unknown; delayMs: number; elapsedMs: number }) => void;
  /** hint ends the timeout error's message: what the user should check */
  hint?: string;
  backoff?: BackoffOptions;
  clock?: Clock;
  signal?: AbortSignal;
}

/**
 * retryTransient runs `fn` until it resolves, throws a failure that is not
 * transient (rethrown as is), or `timeoutMs` has passed — then it throws a
 * TimeoutError naming the operation, the last refusal and the hint. A
 * refusal's own `retryAfterSeconds` lengthens the wait when it is longer
 * than the backoff's. An aborted signal ends the loop with an
 * UnavailableError.
 */
export async function retryTransient<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const clock = opts.clock ?? realClock;
  const transient = opts.transient ?? isTransient;
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw new UnavailableError(`${opts.what}: abandoned`);
    try {
      return await fn(attempt);
    } catch (err) {
      if (!transient(err)) throw err;
      const elapsedMs = clock.now() - start;
      const suggested = err instanceof UnavailableError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 0;
      const delayMs = Math.max(backoffDelay(attempt, opts.backoff), suggested);
      if (elapsedMs + delayMs > opts.timeoutMs) {
        const hint = opts.hint ? `; ${opts.hint}` : '';
        throw new TimeoutError(
          `could not ${opts.what} within ${Math.round(opts.timeoutMs / 1000)} s (${attempt} attempts); the last answer: ${errorMessage(err)}${hint}`,
          {
            cause: asCloudletError(err),
          },
        );
      }
      opts.onRetry?.({ attempt, error: err, delayMs, elapsedMs });
      await sleep(clock, delayMs, opts.signal);
    }
  }
}
