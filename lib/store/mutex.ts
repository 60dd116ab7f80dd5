/**
 * withMutex: a cluster-wide mutual exclusion on one etcd key, for changes
 * that must not interleave across processes and members (etcd membership
 * changes: a join's decide-add-consume, a member removal, the voter
 * controller's action). The holder's key is bound to a lease kept alive
 * while `fn` runs, so a holder that dies frees the key within the lease TTL.
 * Waiting is bounded: past `waitMs` the caller gets an UnavailableError
 * naming the current holder, which the retry loops treat as transient.
 */
import { randomBytes } from 'node:crypto';
import { UnavailableError, errorMessage } from '../errors.js';
import { stringFieldOr } from '../json.js';
import { realClock, sleep, type Clock } from '../controller/clock.js';
import type { Logger } from '../log/logger.js';
import type { Lease, Store } from './types.js';

/** MutexOptions: the key, who holds it (shown to waiters), and the bounds. */
export interface MutexOptions {
  store: Store;
  key: string;
  /** holder describes the holder for waiters' messages ("join of m3 on m1") */
  holder: string;
  /** ttlSeconds of the lease the key is bound to (default 15 s) */
  ttlSeconds?: number;
  /** waitMs bounds the wait for the key (default 20 s) */
  waitMs?: number;
  /** pollMs between attempts to take a held key (default 100 ms) */
  pollMs?: number;
  clock?: Clock;
  /** onWait is told once, when the key is found held */
  onWait?: (heldBy: string) => void;
  /** logger gets a warning when a release fails (the lease then frees the key) */
  logger?: Logger;
}

interface Held {
  value: string;
  lease: Lease;
  timer: ReturnType<typeof setInterval>;
}

async function acquire(o: MutexOptions): Promise<Held> {
  const clock = o.clock ?? realClock;
  const deadline = clock.now() + (o.waitMs ?? 20_000);
  const ttl = o.ttlSeconds ?? 15;
  const value = JSON.stringify({ holder: o.holder, nonce: randomBytes(8).toString('hex') });
  const lease = await o.store.grantLease(ttl);
  let told = false;
  try {
    for (;;) {
      if (await o.store.raw.claim(o.key, value, { lease })) {
        // Keep the lease alive while fn runs; a failed keep-alive leaves the key to expire, which is the safe side.
        const timer = setInterval(() => void lease.keepAliveOnce().catch(() => undefined), Math.max(1000, (ttl * 1000) / 3));
        timer.unref();
        return { value, lease, timer };
      }
      const current = await o.store.raw.get(o.key);
      const heldBy = current ? holderOf(current.value) : 'nobody';
      if (current && !told) {
        told = true;
        o.onWait?.(heldBy);
      }
      if (clock.now() >= deadline) {
        throw new UnavailableError(`waiting for ${heldBy} to finish (it holds ${o.key})`, { retryAfterSeconds: 1 });
      }
      await sleep(clock, o.pollMs ?? 100);
    }
  } catch (err) {
    await lease.revoke().catch(() => undefined);
    throw err;
  }
}

function holderOf(value: string): string {
  return stringFieldOr(value, 'holder', 80);
}

/**
 * withMutex runs `fn` holding `key` (see the file comment) and releases it
 * afterwards, whether `fn` resolved or threw. A failed release is left to the
 * lease's expiry; the release error is never thrown over `fn`'s outcome.
 */
export async function withMutex<T>(opts: MutexOptions, fn: () => Promise<T>): Promise<T> {
  const held = await acquire(opts);
  try {
    return await fn();
  } finally {
    clearInterval(held.timer);
    try {
      await opts.store.raw.delete(opts.key, { ifValue: held.value });
      await held.lease.revoke();
    } catch (err) {
      // The lease expires by itself: the next holder waits at most its TTL.
      opts.logger?.warn('releasing a mutex failed; its lease frees it', { key: opts.key, error: errorMessage(err) });
    }
  }
}
