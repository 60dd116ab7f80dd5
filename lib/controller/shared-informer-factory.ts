/**
 * SharedInformerFactory hands out one Informer per kind so every controller
 * in a process shares one cache and one watch per kind.
 */
import type { KindInfo } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KubeObject, Store } from '../store/types.js';
import type { Clock } from './clock.js';
import { Informer } from './informer.js';

/** SharedInformerFactoryOptions are passed to every informer the factory makes. */
export interface SharedInformerFactoryOptions {
  store: Store;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** resyncPeriodMs for every informer (default 5 min; 0 disables) */
  resyncPeriodMs?: number;
}

/** SharedInformerFactory creates informers on demand, one per kind, and starts and stops them together. */
export class SharedInformerFactory {
  private readonly opts: SharedInformerFactoryOptions;
  private readonly informers = new Map<string, Informer>();
  private started = false;

  constructor(opts: SharedInformerFactoryOptions) {
    this.opts = opts;
  }

  /** forKind returns the kind's informer, creating it (and starting it if the factory is started). */
  forKind<T extends KubeObject = KubeObject>(kind: KindInfo): Informer<T> {
    const id = `${kind.group}/${kind.plural}`;
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer({ ...this.opts, kind });
      this.informers.set(id, informer);
      if (this.started) informer.start();
    }
    // one informer per kind: the caller's T names that kind's object type
    return informer as unknown as Informer<T>;
  }

  /** start starts every informer made so far and every one made later. */
  start(): void {
    this.started = true;
    for (const i of this.informers.values()) i.start();
  }

  /** waitForSync resolves once every informer made so far has synced (or `signal` aborts). */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
  }

  /** stop stops every informer. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
