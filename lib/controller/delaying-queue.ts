/**
 * The delaying queue, second layer: a WorkQueue that can add a key after a
 * delay measured on an injectable Clock. One pending delay per key; the
 * earliest wins.
 */
import type { Clock, TimerHandle } from './clock.js';
import { realClock } from './clock.js';
import { WorkQueue } from './work-queue.js';

/** DelayingQueue is a WorkQueue with addAfter. */
export class DelayingQueue extends WorkQueue {
  protected readonly clock: Clock;
  private readonly waiting = new Map<string, { due: number; timer: TimerHandle }>();

  constructor(opts: { clock?: Clock } = {}) {
    super();
    this.clock = opts.clock ?? realClock;
  }

  /**
   * addAfter adds `key` once `ms` have passed (ms <= 0 adds now). If the key
   * already waits for a delay, the earlier due time is kept.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown()) return;
    if (ms <= 0) {
      this.cancel(key);
      this.add(key);
      return;
    }
    const due = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.due <= due) return;
    if (existing) this.clock.clearTimeout(existing.timer);
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { due, timer });
  }

  /** delayed is the number of keys waiting for their delay. */
  delayed(): number {
    return this.waiting.size;
  }

  /** shutDown also cancels every pending delay. */
  override shutDown(): void {
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.timer);
    this.waiting.clear();
    super.shutDown();
  }

  private cancel(key: string): void {
    const existing = this.waiting.get(key);
    if (!existing) return;
    this.clock.clearTimeout(existing.timer);
    this.waiting.delete(key);
  }
}
