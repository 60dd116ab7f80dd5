/**
 * HostAgents are the per-member agents that act only on what is assigned to
 * this member (DESIGN.md §4): the instance runtime agent today; local storage
 * and network plumbing as those domains land.
 */
import type { Logger } from '../../lib/log/logger.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { KindRegistry } from '../../lib/kinds/registry.js';
import type { Store } from '../../lib/store/types.js';
import type { Clock } from '../../lib/controller/clock.js';
import type { SharedInformerFactory } from '../../lib/controller/shared-informer-factory.js';
import type { MemberAgent } from '../../controllers/membership/member-agent.js';
import { StorageAgent } from '../../controllers/storage/storage-agent.js';
import { StorageDriverRegistry } from '../../controllers/storage/drivers/registry.js';
import { EventRecorder as StorageEventRecorder } from '../../lib/controller/events.js';

/** HostAgentsOptions wire the member's host agents. */
export interface HostAgentsOptions {
  store: Store;
  kinds: KindRegistry;
  informers: SharedInformerFactory;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  memberName: string;
  dataDir: string;
  lxcpath: string;
  runtime: 'lxc' | 'hollow';
  memberAgent: MemberAgent;
}

/** HostAgents starts and stops this member's agents together. */
export class HostAgents {
  private readonly o: HostAgentsOptions;
  private readonly stops: Array<() => Promise<void>> = [];
  constructor(opts: HostAgentsOptions) {
    this.o = opts;
  }

  /** start starts every host agent. */
  async start(): Promise<void> {
    this.startStorage();
    void this.o;
  }

  /** startStorage starts the storage agent (pools and volumes on this member) without blocking on informer sync. */
  private startStorage(): void {
    const { store, kinds, informers, logger, metrics, clock, memberName, dataDir } = this.o;
    const storage = new StorageAgent({
      store,
      kinds,
      informers,
      logger,
      metrics,
      clock,
      memberName,
      drivers: new StorageDriverRegistry({ dataDir }),
      events: new StorageEventRecorder({ store, logger, metrics, component: 'storage-agent', host: memberName, clock }),
    });
    this.stops.push(() => storage.stop());
    storage.start().catch((err: unknown) => {
      logger.error('the storage agent failed to start', { error: err instanceof Error ? err.message : String(err) });
      metrics.errors.inc({ component: 'storage-agent' });
    });
  }

  /** stop stops every host agent (containers keep running; a restart adopts them). */
  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop();
  }
}
