/**
 * EndpointHealth is the per-endpoint fault handling of a store that dials
 * several etcd members (an etcd-client member dials the voters). The etcd3
 * pool picks a random endpoint for every call and stream; without this, one
 * dead voter of three fails a third of such a member's calls, its heartbeat
 * keep-alives included, so the member flaps NotReady for as long as that
 * voter is down.
 *
 * An endpoint whose call failed as unreachable (a connection error or a
 * deadline: `Unavailable` once translated) is passed by — the pool goes on to
 * the next endpoint — until both (a) a TCP connection to it succeeds again
 * (tried every `probeMs` in the background, so no real call is spent on a
 * dead endpoint) and (b) `skipMs` has passed, doubling with each failure in a
 * row up to `maxSkipMs` (an endpoint that accepts connections but fails
 * calls costs one call now and then). An endpoint is never passed by while
 * every other one is passed by too, so a store never refuses a call by
 * itself. Nothing is retried: the failed call still fails (callers retry),
 * so a request that may have reached etcd is never sent twice.
 */
import { connect } from 'node:net';
import { translateEtcdError } from './etcd-errors.js';
import { UnavailableError } from '../errors.js';
import { backoffDelay } from '../controller/backoff.js';

/** EndpointProbe tells whether a TCP connection to `endpoint` (HOST:PORT) succeeds now. */
export type EndpointProbe = (endpoint: string) => Promise<boolean>;

/** EndpointHealthOptions: the endpoints (HOST:PORT), timings, the probe and the clock (tests inject them). */
export interface EndpointHealthOptions {
  endpoints: string[];
  /** skipMs: the shortest pass-by after a failure (default 2 s), doubling per failure in a row */
  skipMs?: number;
  /** maxSkipMs caps the doubling (default 30 s) */
  maxSkipMs?: number;
  /** probeMs between TCP probes of an endpoint that was unreachable (default 1 s) */
  probeMs?: number;
  probe?: EndpointProbe;
  now?: () => number;
  /** setTimer schedules a probe (default: an unref'd setTimeout) */
  setTimer?: (fn: () => void, ms: number) => void;
}

/** EndpointPolicy is the shape of an etcd3 host fault-handling policy that this file builds. */
export interface EndpointPolicy {
  execute<T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T>;
  onSuccess(): { dispose(): void };
  onFailure(): { dispose(): void };
}

interface Down {
  until: number;
  failures: number;
  reachable: boolean;
  probing: boolean;
}

const noDisposable = { dispose: (): void => undefined };

/** tcpProbe connects to HOST:PORT ([v6]:PORT too) and resolves true on connect, false on error or after 1 s. */
export const tcpProbe: EndpointProbe = (endpoint) =>
  new Promise((resolve) => {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
    if (!m) return resolve(false);
    const socket = connect({ host: m[1] as string, port: Number(m[2]), timeout: 1000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });

/** EndpointHealth: see the file comment. */
export class EndpointHealth {
  private readonly o: Required<Omit<EndpointHealthOptions, 'endpoints'>> & { endpoints: string[] };
  private readonly down = new Map<string, Down>();
  private closed = false;

  constructor(opts: EndpointHealthOptions) {
    this.o = {
      skipMs: 2000,
      maxSkipMs: 30_000,
      probeMs: 1000,
      probe: tcpProbe,
      now: Date.now,
      setTimer: (fn, ms) => void setTimeout(fn, ms).unref(),
      ...opts,
    };
  }

  /** skip tells whether calls should pass `endpoint` by: it is down (see the file comment) and another endpoint is not. */
  skip(endpoint: string): boolean {
    return this.isDown(endpoint) && this.o.endpoints.some((e) => e !== endpoint && !this.isDown(e));
  }

  /** observe records the outcome of a call on `endpoint`: an unreachable error marks it down, success up. */
  observe(endpoint: string, err?: unknown): void {
    if (err === undefined) {
      this.down.delete(endpoint);
      return;
    }
    if (!(err instanceof Error) || translateEtcdError(err, 'call').code !== 'Unavailable') return;
    const d = this.down.get(endpoint) ?? { until: 0, failures: 0, reachable: false, probing: false };
    d.failures++;
    d.until = this.o.now() + backoffDelay(d.failures, { initialMs: this.o.skipMs, maxMs: this.o.maxSkipMs, jitter: 0 });
    d.reachable = false;
    this.down.set(endpoint, d);
    if (!d.probing) this.probe(endpoint, d);
  }

  /** close stops the probes. */
  close(): void {
    this.closed = true;
  }

  /** policy is the etcd3 host policy for `endpoint` (faultHandling.host). */
  policy(endpoint: string): EndpointPolicy {
    return {
      execute: async <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T> => {
        // Thrown before calling fn, the pool takes this as "blocked" and tries the next endpoint.
        if (this.skip(endpoint)) throw new UnavailableError(`etcd endpoint ${endpoint} was unreachable; passed by`);
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

  private isDown(endpoint: string): boolean {
    const d = this.down.get(endpoint);
    return d !== undefined && (!d.reachable || this.o.now() < d.until);
  }

  private probe(endpoint: string, d: Down): void {
    d.probing = true;
    this.o.setTimer(() => {
      if (this.closed || this.down.get(endpoint) !== d || d.reachable) {
        d.probing = false;
        return;
      }
      void this.o.probe(endpoint).then((ok) => {
        if (ok) {
          d.reachable = true;
          d.probing = false;
        } else this.probe(endpoint, d);
      });
    }, this.o.probeMs);
  }
}
