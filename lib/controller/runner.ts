/**
 * ControllerRunner: the one place that owns queue bookkeeping (like
 * controller-runtime's reconcileHandler). N workers take keys from a
 * rate-limiting queue, call the reconciler with a timeout and a child logger,
 * capture whatever it throws, and apply the outcome rules of reconciler.ts:
 * done/forget, delayed re-add, rate-limited re-add, or terminal.
 */
import { randomBytes } from 'node:crypto';
import { TerminalError, TimeoutError, errorMessage, CloudletError, isCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';
import type { RateLimiter } from './rate-limiter.js';
import { RateLimitingQueue } from './rate-limiting-queue.js';
import type { Reconciler, Request, Result } from './reconciler.js';
import { parseRequestKey, requestKey } from './reconciler.js';
import { withTimeout } from './timeout.js';

/** ControllerRunnerOptions configures a runner; only name, reconciler, logger and metrics are required. */
export interface ControllerRunnerOptions {
  /** name labels logs and metrics */
  name: string;
  reconciler: Reconciler;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** concurrency is the number of workers (default 1); one key is never reconciled twice at once */
  concurrency?: number;
  /** timeoutMs aborts a reconcile and counts it as an error (default 60 s) */
  timeoutMs?: number;
  /** stopGraceMs is how long stop() waits for running reconciles before aborting them (default 30 s) */
  stopGraceMs?: number;
  /** rateLimiter for retries (default: 5 ms → 5 min per key, max with a 10 qps / burst 100 bucket) */
  rateLimiter?: RateLimiter;
}

/** ReconcileOutcome is the metric label of one reconcile. */
export type ReconcileOutcome = 'success' | 'requeue' | 'error' | 'terminal';

type Settled = { ok: true; result: Result } | { ok: false; error: unknown };

/** ControllerRunner runs a Reconciler over a work queue; see the file comment. */
export class ControllerRunner {
  readonly name: string;
  private readonly opts: ControllerRunnerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly queue: RateLimitingQueue;
  private readonly inFlight = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private workers: Promise<void>[] = [];
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(opts: ControllerRunnerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ controller: opts.name });
    this.queue = new RateLimitingQueue({ clock: this.clock, rateLimiter: opts.rateLimiter });
  }

  /** add queues a reconcile of `req` (deduplicated). Keys added before start() wait for it. */
  add(req: Request): void {
    this.queue.add(requestKey(req));
    this.updateDepth();
  }

  /** addAfter queues a reconcile of `req` after `ms`. */
  addAfter(req: Request, ms: number): void {
    this.queue.addAfter(requestKey(req), ms);
  }

  /** queueLength is the number of keys waiting (not delayed, not running). */
  queueLength(): number {
    return this.queue.len();
  }

  /** isRunning tells whether start() was called and stop() was not. */
  isRunning(): boolean {
    return this.started && !this.stopping;
  }

  /** start launches the workers; calling it twice does nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const n = Math.max(1, this.opts.concurrency ?? 1);
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
    this.log.info('started workers', { count: n });
  }

  /**
   * stop shuts the queue down, waits up to the grace period for running
   * reconciles, then aborts the ones still running and returns.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.queue.shutDown();
    const all = Promise.all([...this.workers, ...[...this.inFlight.values()].map((f) => f.done)]).then(() => 'done' as const);
    const graceMs = this.opts.stopGraceMs ?? 30_000;
    const how = await withTimeout(all, { ms: graceMs, clock: this.clock, message: `controller ${this.name} stopped` }).catch(
      (err: unknown) => {
        if (isCode(err, 'Timeout')) return 'grace' as const;
        throw err;
      },
    );
    if (how === 'grace') {
      this.log.warn('stopped with reconciles still running', { count: this.inFlight.size });
      for (const f of this.inFlight.values()) f.abort.abort(new TimeoutError(`controller ${this.name} stopped`));
    } else {
      this.log.info('stopped workers');
    }
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      this.updateDepth();
      if (key === undefined) return;
      await this.reconcileHandler(key);
    }
  }

  private async reconcileHandler(key: string): Promise<void> {
    const reconcileId = randomBytes(6).toString('hex');
    const log = this.log.child({ key, reconcileId });
    const abort = new AbortController();
    const timeoutMs = this.opts.timeoutMs ?? 60_000;
    const started = this.clock.now();
    // the key stays "processing" until the reconcile really settles, even past its
    // timeout, so an abandoned reconcile never overlaps the next one of the same key
    const running = this.call(parseRequestKey(key), { log, signal: abort.signal, reconcileId, controller: this.name });
    const done = running.then(() => {
      this.inFlight.delete(key);
      this.queue.done(key);
      this.updateDepth();
    });
    this.inFlight.set(key, { done, abort });

    // `running` never rejects (call() captures errors), so only the timeout lands in catch.
    const settled = await withTimeout(running, {
      ms: timeoutMs,
      clock: this.clock,
      message: `reconcile exceeded its timeout of ${timeoutMs} ms`,
    }).catch((error: unknown): Settled => {
      abort.abort(error);
      return { ok: false, error };
    });
    this.opts.metrics.reconcileDuration.observe({ controller: this.name }, (this.clock.now() - started) / 1000);
    this.apply(key, settled, log);
  }

  private async call(req: Request, ctx: Parameters<Reconciler['reconcile']>[1]): Promise<Settled> {
    try {
      // a reconciler that throws synchronously or returns a non-promise is still captured here
      const result = await this.opts.reconciler.reconcile(req, ctx);
      return { ok: true, result: result ?? {} };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private apply(key: string, settled: Settled, log: Logger): void {
    if (settled.ok) {
      this.queue.forget(key);
      const after = settled.result.requeueAfter;
      if (after !== undefined && after > 0) {
        this.queue.addAfter(key, after);
        this.count('requeue');
      } else {
        this.count('success');
      }
      return;
    }
    const error = settled.error;
    const fields = { error: errorMessage(error), errorCode: error instanceof CloudletError ? error.code : undefined };
    this.opts.metrics.errors.inc({ component: `controller/${this.name}` });
    if (error instanceof TerminalError) {
      this.queue.forget(key);
      this.count('terminal');
      log.error('reconcile failed and will not be retried', fields);
      return;
    }
    this.queue.addRateLimited(key);
    this.count('error');
    log.warn('reconcile failed', { ...fields, retries: this.queue.numRequeues(key) });
  }

  private count(result: ReconcileOutcome): void {
    this.opts.metrics.reconciles.inc({ controller: this.name, result });
  }

  private updateDepth(): void {
    this.opts.metrics.queueDepth.set({ controller: this.name }, this.queue.len());
  }
}
