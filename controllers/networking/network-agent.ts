/**
 * NetworkAgent is the per-member network host agent: a NetworkReconciler
 * fed by the Network informer (any network change re-checks every network,
 * since validity depends on the others), the Member informer (peers join and
 * leave), and a watch on the address allocations (DNS names follow instances).
 */
import type { Clock } from '../../lib/controller/clock.js';
import { Controller } from '../../lib/controller/controller.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import { enqueueMapped } from '../../lib/controller/handlers.js';
import type { Informer } from '../../lib/controller/informer.js';
import { RawPrefixSource } from '../../lib/controller/raw-source.js';
import { requestFor } from '../../lib/controller/reconciler.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member, Network } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { Store } from '../../lib/store/types.js';
import type { NetworkDriverRegistry } from './drivers/registry.js';
import { IPAM_PREFIX, Ipam } from './ipam.js';
import { NetworkReconciler } from './network-reconciler.js';

/** NetworkAgentOptions wire the agent. */
export interface NetworkAgentOptions {
  store: Store;
  networkKind: KindInfo;
  networks: Informer<Network>;
  members: Informer<Member>;
  drivers: NetworkDriverRegistry;
  memberName: string;
  stateRoot: string;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** events records the network reconciler's Events */
  events: EventRecorder;
  resyncMs?: number;
}

/** NetworkAgent runs this member's network plumbing; see the file comment. */
export class NetworkAgent {
  readonly controller: Controller;
  private readonly o: NetworkAgentOptions;
  private allocations: RawPrefixSource | undefined;

  constructor(opts: NetworkAgentOptions) {
    this.o = opts;
    const reconciler = new NetworkReconciler({ ...opts, ipam: new Ipam({ raw: opts.store.raw }) });
    const all = (): ReturnType<typeof requestFor>[] => opts.networks.list().map(requestFor);
    this.controller = new Controller({
      name: 'network-agent',
      reconciler,
      logger: opts.logger,
      metrics: opts.metrics,
      clock: opts.clock,
      concurrency: 2,
    })
      .watches(
        opts.networks,
        enqueueMapped<Network>(() => all()),
      )
      .watches(opts.members, {
        onAdd: () => undefined,
        onUpdate: (a, b, q) => {
          if (a.status?.phase !== b.status?.phase || a.spec?.address !== b.spec?.address) for (const r of all()) q.add(r);
        },
        onDelete: (_obj, q) => {
          for (const r of all()) q.add(r);
        },
      });
  }

  /** start follows the allocations and starts the controller (which waits for the informers). */
  async start(): Promise<void> {
    this.allocations = new RawPrefixSource({
      raw: this.o.store.raw,
      prefix: IPAM_PREFIX,
      onEvent: (ev) => {
        const network = ev.key.slice(IPAM_PREFIX.length).split('/')[0];
        if (network) this.controller.add({ name: network });
      },
      logger: this.o.logger,
      metrics: this.o.metrics,
      component: 'network-agent',
      clock: this.o.clock,
    });
    this.allocations.start();
    await this.controller.start();
  }

  /** stop stops the controller; plumbing stays (instances keep their network). */
  async stop(): Promise<void> {
    await this.allocations?.stop();
    await this.controller.stop();
  }
}
