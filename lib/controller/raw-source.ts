/**
 * RawPrefixSource is the one way to follow a raw etcd key prefix (heartbeats,
 * address allocations, learner assignments): list, then watch from the
 * list's revision; when the watch fails or ends (a compacted revision is
 * GoneError), list again and watch again after a backoff — one resubscribe
 * policy, the delays of backoff.ts. Like an informer's relist on 410 Gone,
 * but for raw keys: it remembers each key's revision, so a relist delivers
 * only what changed while it was not watching, and a key deleted meanwhile
 * as a DELETE.
 */
import type { Subscription } from 'rxjs';
import { errorMessage, isCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RawEntry, RawEvent, RawKV } from '../store/types.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { realClock, sleep, type Clock } from './clock.js';

/** RawPrefixSourceOptions wire a RawPrefixSource. */
export interface RawPrefixSourceOptions {
  /** raw is the key space (only list and watch are used) */
  raw: Pick<RawKV, 'list' | 'watch'>;
  /** prefix selects the keys followed */
  prefix: string;
  /** onEvent is told about every change once, in revision order per key; it must not throw */
  onEvent: (ev: RawEvent) => void;
  logger: Logger;
  metrics: Metrics;
  /** component labels the errors metric and the logs ("membership", "network-agent") */
  component: string;
  clock?: Clock;
  /** backoff between a failed list or an ended watch and the next list (backoff.ts defaults) */
  backoff?: BackoffOptions;
}

/**
 * RawPrefixSource follows one prefix; see the file comment. Contract:
 * - start() lists and delivers every key present as a PUT, then every
 *   change after the list's revision;
 * - each change is delivered once: a PUT whose revision the source has
 *   already delivered for that key, or a DELETE of a key it does not know,
 *   is dropped;
 * - a failed list, a watch error (GoneError included) or a watch that ends
 *   is logged (a warning; GoneError at info) and counted in the errors
 *   metric, then the source waits `backoffDelay(consecutive failures)` and
 *   lists again, delivering the difference from what it knew: PUTs for new
 *   or changed keys, DELETEs for vanished ones;
 * - stop() ends the watch and any wait; nothing is delivered after it.
 */
export class RawPrefixSource {
  private readonly o: RawPrefixSourceOptions;
  private readonly clock: Clock;
  private readonly known = new Map<string, string>();
  private readonly stopSignal = new AbortController();
  private sub: Subscription | undefined;
  private loop: Promise<void> | undefined;
  /** lists counts the lists made, for tests and diagnostics */
  lists = 0;

  constructor(opts: RawPrefixSourceOptions) {
    this.o = opts;
    this.clock = opts.clock ?? realClock;
  }

  /** start begins listing and watching in the background; calling it again does nothing. */
  start(): void {
    this.loop ??= this.run();
  }

  /** stop ends the watch and the loop; safe to call more than once. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.sub?.unsubscribe();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let ended: unknown;
      try {
        const listed = await this.o.raw.list(this.o.prefix);
        this.lists++;
        if (this.stopped) return;
        this.sync(listed.entries, listed.revision);
        ended = await this.watch(listed.revision, () => {
          failures = 0;
        });
      } catch (err) {
        ended = err;
      }
      if (this.stopped) return;
      failures++;
      this.report(ended);
      await sleep(this.clock, backoffDelay(failures, this.o.backoff), this.stopSignal.signal);
    }
  }

  /** watch resolves with the error (or a note that it ended) that ends the watch, or undefined on stop. */
  private watch(revision: string, healthy: () => void): Promise<unknown> {
    return new Promise((resolve) => {
      const done = (why: unknown): void => {
        this.stopSignal.signal.removeEventListener('abort', onStop);
        resolve(why);
      };
      const onStop = (): void => done(undefined);
      this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
      this.sub = this.o.raw.watch(this.o.prefix, revision).subscribe({
        next: (ev) => {
          healthy();
          this.deliver(ev);
        },
        error: (err: unknown) => done(err),
        complete: () => done(new Error('the watch ended')),
      });
    });
  }

  /** sync delivers the difference between what the source knew and a fresh list. */
  private sync(entries: RawEntry[], revision: string): void {
    const present = new Set<string>();
    for (const e of entries) {
      present.add(e.key);
      this.deliver({ type: 'PUT', key: e.key, value: e.value, revision: e.revision });
    }
    for (const key of [...this.known.keys()]) {
      if (!present.has(key)) this.deliver({ type: 'DELETE', key, value: '', revision });
    }
  }

  private deliver(ev: RawEvent): void {
    if (this.stopped) return;
    const seen = this.known.get(ev.key);
    if (ev.type === 'PUT') {
      if (seen !== undefined && BigInt(ev.revision) <= BigInt(seen)) return;
      this.known.set(ev.key, ev.revision);
    } else {
      if (seen === undefined) return;
      this.known.delete(ev.key);
    }
    this.o.onEvent(ev);
  }

  private report(err: unknown): void {
    this.o.metrics.errors.inc({ component: this.o.component });
    const fields = { component: this.o.component, prefix: this.o.prefix, error: errorMessage(err) };
    if (isCode(err, 'Gone')) this.o.logger.info('raw watch fell behind a compaction; listing again', fields);
    else this.o.logger.warn('raw watch failed; listing again after a backoff', fields);
  }
}
