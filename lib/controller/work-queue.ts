/**
 * The dedup work queue, first of three layers (like client-go util/workqueue):
 * a key waits in the queue at most once (dirty set), a key being processed is
 * never handed out again until `done` (processing set), and a key added while
 * it is processed is queued again when `done` is called.
 */

/** WorkQueue is a FIFO of string keys with dedup and a processing set. */
export class WorkQueue {
  private items: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private shutdown = false;

  /** add queues `key` unless it is already waiting; a key being processed is re-queued at `done`. Ignored after shutDown. */
  add(key: string): void {
    if (this.shutdown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** len is the number of keys waiting (not counting keys being processed). */
  len(): number {
    return this.items.length - this.head;
  }

  /** get resolves with the next key and marks it processing; resolves undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shutdown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** done marks `key` finished; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  /** isProcessing tells whether `key` was handed out by get and not yet marked done. */
  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  /** shutDown stops accepting keys and releases every waiting get with undefined; queued keys are dropped. */
  shutDown(): void {
    this.shutdown = true;
    this.items = [];
    this.head = 0;
    this.dirty.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** shuttingDown tells whether shutDown was called. */
  shuttingDown(): boolean {
    return this.shutdown;
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.take(key));
    else this.items.push(key);
  }

  private shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head++];
    // compact now and then so a long-lived queue does not grow without bound
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  private take(key: string): string {
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }
}
