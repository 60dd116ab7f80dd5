/**
 * EndpointHealth is the per-endpoint fault handling of a store that dials
 * several etcd members (an etcd-client member dials the voters). The etcd3
 * pool picks a random endpoint for every call and stream; without this, one
 * dead voter of three fails a third of such a member's calls, its heartbeat
 * keep-alives included, so the member flaps NotReady for as long as that
 * voter is down. An endpoint whose call failed as unreachable (a connection
 * error or a deadline: `Unavailable` once translated) is skipped for
 * `skipMs`, doubling with each failure in a row up to `maxSkipMs`, so a dead
 * endpoint costs one failed call now and then; the pool goes on to the next
 * endpoint. An endpoint is never
 * skipped while every other one is skipped too, so a store never refuses a
 * call by itself. Nothing is retried: the failed call still fails (callers
 * retry), so a request that may have reached etcd is never sent twice.
 */
import { translateEtcdError } from './etcd-errors.js';
import { UnavailableError } from '../errors.js';

/** EndpointHealthOptions: how long an unreachable endpoint is skipped (default 2 s, doubling to 30 s) and the clock. */
export interface EndpointHealthOptions {
  endpoints: string[];
  skipMs?: number;
  maxSkipMs?: number;
  now?: () => number;
}

/** EndpointPolicy is the shape of an etcd3 host fault-handling policy that this file builds. */
export interface EndpointPolicy {
  execute<T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T>;
  onSuccess(): { dispose(): void };
  onFailure(): { dispose(): void };
}

const noDisposable = { dispose: (): void => undefined };

/** EndpointHealth: see the file comment. */
export class EndpointHealth {
  private readonly endpoints: string[];
  private readonly skipMs: number;
  private readonly maxSkipMs: number;
  private readonly now: () => number;
  private readonly downUntil = new Map<string, number>();
  private readonly failures = new Map<string, number>();

  constructor(opts: EndpointHealthOptions) {
    this.endpoints = opts.endpoints;
    this.skipMs = opts.skipMs ?? 2000;
    this.maxSkipMs = opts.maxSkipMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** skip tells whether calls should pass `endpoint` by: it failed within skipMs and another endpoint has not. */
  skip(endpoint: string): boolean {
    const now = this.now();
    const down = (e: string): boolean => (this.downUntil.get(e) ?? 0) > now;
    return down(endpoint) && this.endpoints.some((e) => e !== endpoint && !down(e));
  }

  /** observe records the outcome of a call on `endpoint`: an unreachable error marks it down (longer each time in a row), success up. */
  observe(endpoint: string, err?: unknown): void {
    if (err === undefined) {
      this.downUntil.delete(endpoint);
      this.failures.delete(endpoint);
    } else if (err instanceof Error && translateEtcdError(err, 'call').code === 'Unavailable') {
      const n = (this.failures.get(endpoint) ?? 0) + 1;
      this.failures.set(endpoint, n);
      this.downUntil.set(endpoint, this.now() + Math.min(this.maxSkipMs, this.skipMs * 2 ** (n - 1)));
    }
  }

  /** policy is the etcd3 host policy for `endpoint` (faultHandling.host). */
  policy(endpoint: string): EndpointPolicy {
    return {
      execute: async <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T> => {
        // Thrown before calling fn, the pool takes this as "blocked" and tries the next endpoint.
        if (this.skip(endpoint)) throw new UnavailableError(`etcd endpoint ${endpoint} was unreachable moments ago; skipped`);
        try {
          const result = await fn({ signal: new AbortController().signal, attempt: 0 });
          this.observe(endpoint);
          return result;
        } catch (err) {
          this.observe(endpoint, err);
          throw err;
        }
      },
      onSuccess: () => noDisposable,
      onFailure: () => noDisposable,
    };
  }
}
