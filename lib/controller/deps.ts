/**
 * What every agent and controller family of a member is wired with: built
 * once at start-up by daemon/daemon.ts and passed down explicitly.
 */
import type { KindRegistry } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Store } from '../store/types.js';
import type { Clock } from './clock.js';
import type { SharedInformerFactory } from './shared-informer-factory.js';

/**
 * ControllerDeps are the shared pieces: the store, the kinds, the shared
 * informers (one cache per kind), the root logger, the metrics registry, the
 * clock, and the name of the member this process runs on. Option objects of
 * agents and controller families extend it with their own fields.
 */
export interface ControllerDeps {
  store: Store;
  kinds: KindRegistry;
  informers: SharedInformerFactory;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  memberName: string;
}
