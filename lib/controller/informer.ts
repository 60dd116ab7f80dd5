/**
 * Informer: a shared, watch-fed cache of one kind (like client-go's shared
 * informer and kubernetes-client/javascript `cache.ts`). It lists, then
 * watches from the list's resourceVersion, keeps every object in a Map by
 * `namespace/name`, and tells its handlers about adds, updates and deletes.
 * On 410 Gone it relists and emits the differences; on other watch errors it
 * re-watches with backoff; every resync period it re-emits each cached object
 * as an update so level-triggered controllers heal missed events.
 */
import { GoneError, errorMessage } from '../errors.js';
import type { KindInfo } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KubeObject, Store, WatchEvent } from '../store/types.js';
import type { Clock, TimerHandle } from './clock.js';
import { realClock, sleep } from './clock.js';
import { backoffDelay } from './backoff.js';

/** InformerEventHandler receives cache changes. Objects are the cache's own: read them, never mutate them. */
export interface InformerEventHandler<T extends KubeObject> {
  onAdd?(obj: T): void;
  /** onUpdate also fires on resync with old === new */
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** InformerOptions configures an informer; store, kind and logger are required. */
export interface InformerOptions {
  store: Store;
  kind: KindInfo;
  logger: Logger;
  /** metrics counts list, watch and handler errors (errors{component="informer"}) */
  metrics?: Metrics;
  clock?: Clock;
  /** resyncPeriodMs re-emits every cached object as an update this often (default 5 min; 0 disables) */
  resyncPeriodMs?: number;
  /** backoff for re-listing and re-watching after errors (default 200 ms doubling to 30 s) */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

/** ObjectRef names one object in a cache. */
export interface ObjectRef {
  name: string;
  namespace?: string;
}

/** cacheKey is the cache key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function cacheKey(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** Informer keeps a cache of one kind in step with the store; see the file comment. */
export class Informer<T extends KubeObject = KubeObject> {
  readonly kind: KindInfo;
  private readonly opts: InformerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly cache = new Map<string, T>();
  private readonly handlers = new Set<InformerEventHandler<T>>();
  private readonly stopSignal = new AbortController();
  private readonly syncWaiters: Array<() => void> = [];
  private synced = false;
  private running: Promise<void> | undefined;
  private resyncTimer: TimerHandle | undefined;
  private lastResourceVersion = '0';
  private cancelWatch: (() => void) | undefined;

  constructor(opts: InformerOptions) {
    this.opts = opts;
    this.kind = opts.kind;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ component: 'informer', kind: opts.kind.kind });
  }

  /**
   * addEventHandler registers a handler and returns a function removing it.
   * Objects already cached are replayed to it as adds.
   */
  addEventHandler(handler: InformerEventHandler<T>): () => void {
    this.handlers.add(handler);
    for (const obj of this.cache.values()) this.call('onAdd', () => handler.onAdd?.(obj));
    return () => this.handlers.delete(handler);
  }

  /** start begins listing and watching in the background; calling it again does nothing. */
  start(): void {
    this.running ??= this.run();
  }

  /** stop ends the watch and the resync timer and waits for the loop to finish; an informer does not restart. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.cancelWatch?.();
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    for (const w of this.syncWaiters.splice(0)) w();
    await this.running;
  }

  /** hasSynced tells whether the first list has filled the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** waitForSync resolves once the cache has synced (or the informer or `signal` is stopped first). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced || this.stopSignal.signal.aborted || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** get returns a copy of the cached object, or undefined. */
  get(ref: ObjectRef): T | undefined {
    const obj = this.cache.get(cacheKey(ref));
    return obj ? structuredClone(obj) : undefined;
  }

  /** list returns copies of the cached objects that pass `filter` (all when absent). */
  list(filter?: (obj: T) => boolean): T[] {
    const out: T[] = [];
    for (const obj of this.cache.values()) if (!filter || filter(obj)) out.push(structuredClone(obj));
    return out;
  }

  /**
   * listShared returns the cached objects themselves (no copies) that pass
   * `filter`. They are shared with every other reader: callers must treat
   * them as read-only. For hot paths that read many objects (schedulers,
   * planners); use list() when the result is modified.
   */
  listShared(filter?: (obj: T) => boolean): readonly T[] {
    const out: T[] = [];
    for (const obj of this.cache.values()) if (!filter || filter(obj)) out.push(obj);
    return out;
  }

  /** lastSyncResourceVersion is the revision the cache reflects. */
  lastSyncResourceVersion(): string {
    return this.lastResourceVersion;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async run(): Promise<void> {
    const schedule = { initialMs: this.opts.backoffInitialMs ?? 200, maxMs: this.opts.backoffMaxMs ?? 30_000, jitter: 0 };
    let failures = 0;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          failures = 0;
        }
        const ended = await this.watchOnce();
        if (ended === 'progress') {
          failures = 0;
        } else if (!this.stopped) {
          // a stream that ends without delivering anything must not become a busy loop
          await sleep(this.clock, backoffDelay(++failures, schedule), this.stopSignal.signal);
        }
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError) {
          this.log.info('watch revision is gone, relisting', { resourceVersion: this.lastResourceVersion });
          needList = true;
          continue;
        }
        const retryInMs = backoffDelay(++failures, schedule);
        this.log.warn(needList ? 'list failed' : 'watch failed', { error: errorMessage(err), retryInMs });
        this.opts.metrics?.errors.inc({ component: 'informer' });
        await sleep(this.clock, retryInMs, this.stopSignal.signal);
      }
    }
  }

  /** relist replaces the cache with a fresh list and emits the differences. */
  private async relist(): Promise<void> {
    const res = await this.opts.store.list<T>(this.kind);
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const obj of res.items) {
      const key = cacheKey(obj.metadata);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.emit('onAdd', (h) => h.onAdd?.(obj));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('onUpdate', (h) => h.onUpdate?.(old, obj));
    }
    for (const [key, old] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.emit('onDelete', (h) => h.onDelete?.(old));
    }
    this.lastResourceVersion = res.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
      this.scheduleResync();
    }
  }

  /** watchOnce watches until the stream errors (rejects) or completes; 'progress' when events arrived. */
  private watchOnce(): Promise<'progress' | 'idle'> {
    return new Promise((resolve, reject) => {
      let progress = false;
      const sub = this.opts.store.watch<T>(this.kind, { fromRevision: this.lastResourceVersion }).subscribe({
        next: (ev) => {
          progress = true;
          this.applyEvent(ev);
        },
        error: (err: unknown) => {
          this.cancelWatch = undefined;
          reject(err);
        },
        complete: () => {
          this.cancelWatch = undefined;
          resolve(progress ? 'progress' : 'idle');
        },
      });
      this.cancelWatch = () => {
        sub.unsubscribe();
        resolve('idle');
      };
      if (this.stopped) this.cancelWatch();
    });
  }

  private applyEvent(ev: WatchEvent<T>): void {
    const obj = ev.object;
    const key = cacheKey(obj.metadata);
    this.lastResourceVersion = ev.revision;
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      // the event carries the last state, stamped with the deletion revision
      this.emit('onDelete', (h) => h.onDelete?.(obj));
      return;
    }
    this.cache.set(key, obj);
    if (old) this.emit('onUpdate', (h) => h.onUpdate?.(old, obj));
    else this.emit('onAdd', (h) => h.onAdd?.(obj));
  }

  private scheduleResync(): void {
    const period = this.opts.resyncPeriodMs ?? 5 * 60_000;
    if (period <= 0 || this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      for (const obj of [...this.cache.values()]) this.emit('onUpdate', (h) => h.onUpdate?.(obj, obj));
      this.scheduleResync();
    }, period);
  }

  private emit(what: string, fn: (h: InformerEventHandler<T>) => void): void {
    for (const h of [...this.handlers]) this.call(what, () => fn(h));
  }

  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // a handler bug must not break the cache for everyone else
      this.log.warn('event handler failed', { event: what, error: errorMessage(err) });
      this.opts.metrics?.errors.inc({ component: 'informer' });
    }
  }
}
