/**
 * WatchHub fans one upstream watch of a key prefix out to every subscriber in
 * the process ("one etcd watch per kind prefix", DESIGN.md §3). It starts the
 * upstream lazily at the first subscriber's revision and keeps a bounded
 * window of recent events: a subscriber whose revision is inside the window
 * replays from it and then gets live events; an older one gets a dedicated
 * upstream watch (which fails with GoneError if compacted). The upstream ends
 * with the last subscriber.
 */
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import type { Logger } from '../log/logger.js';
import type { KvEvent } from './backend.js';

/** WatchSource opens an upstream watch delivering events with revision > fromRevision. */
export type WatchSource = (prefix: string, fromRevision: number) => Observable<KvEvent>;

/** WatchHubOptions: the upstream, the window size in events (default 5000), a logger. */
export interface WatchHubOptions {
  prefix: string;
  source: WatchSource;
  windowSize?: number;
  logger: Logger;
}

interface Sub {
  floor: number;
  subscriber: Subscriber<KvEvent>;
}

/** WatchHub: see the file comment. */
export class WatchHub {
  private readonly opts: WatchHubOptions;
  private readonly windowSize: number;
  private readonly subs = new Set<Sub>();
  private upstream: Subscription | undefined;
  /** every event with revision > windowStart is in `buffer` */
  private windowStart = 0;
  private buffer: KvEvent[] = [];

  constructor(opts: WatchHubOptions) {
    this.opts = opts;
    this.windowSize = opts.windowSize ?? 5000;
  }

  /** subscriberCount is the number of live subscribers served from the shared upstream. */
  get subscriberCount(): number {
    return this.subs.size;
  }

  /** watch delivers every event under the prefix with revision > fromRevision. */
  watch(fromRevision: number): Observable<KvEvent> {
    return new Observable<KvEvent>((subscriber) => {
      if (this.upstream !== undefined && fromRevision < this.windowStart) {
        const dedicated = this.opts.source(this.opts.prefix, fromRevision).subscribe(subscriber);
        return () => dedicated.unsubscribe();
      }
      const sub: Sub = { floor: fromRevision, subscriber };
      if (this.upstream === undefined) {
        this.windowStart = fromRevision;
        this.buffer = [];
        this.subs.add(sub);
        this.start(fromRevision);
      } else {
        for (const ev of this.buffer) if (ev.revision > fromRevision) subscriber.next(ev);
        this.subs.add(sub);
      }
      return () => this.drop(sub);
    });
  }

  /** close errors nothing and ends every subscriber and the upstream. */
  close(): void {
    for (const s of this.subs) s.subscriber.complete();
    this.subs.clear();
    this.stop();
  }

  private start(fromRevision: number): void {
    const upstream = this.opts.source(this.opts.prefix, fromRevision).subscribe({
      next: (ev) => this.publish(ev),
      error: (err: unknown) => {
        // the upstream failed for good (GoneError); every subscriber must relist
        const subs = [...this.subs];
        this.subs.clear();
        this.upstream = undefined;
        this.buffer = [];
        for (const s of subs) s.subscriber.error(err);
      },
      complete: () => {
        const subs = [...this.subs];
        this.subs.clear();
        this.upstream = undefined;
        for (const s of subs) s.subscriber.complete();
      },
    });
    // an upstream that failed synchronously has already cleaned up
    if (upstream.closed) return;
    this.upstream = upstream;
  }

  private publish(ev: KvEvent): void {
    this.buffer.push(ev);
    if (this.buffer.length > this.windowSize * 2) {
      const dropped = this.buffer.splice(0, this.buffer.length - this.windowSize);
      this.windowStart = (dropped[dropped.length - 1] as KvEvent).revision;
    }
    for (const s of this.subs) if (ev.revision > s.floor) s.subscriber.next(ev);
  }

  private drop(sub: Sub): void {
    this.subs.delete(sub);
    if (this.subs.size === 0) this.stop();
  }

  private stop(): void {
    const up = this.upstream;
    this.upstream = undefined;
    this.buffer = [];
    up?.unsubscribe();
  }
}
