/**
 * What the pool and volume reconcilers share: the member-side wiring the
 * storage agent gives both, and when they look again.
 */
import type { Clock } from '../../lib/controller/clock.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import type { Result } from '../../lib/controller/reconciler.js';
import type { Store } from '../../lib/store/types.js';
import type { StorageDriverRegistry } from './drivers/registry.js';

/** StorageReconcilerOptions are the options both storage reconcilers take from the storage agent of `memberName`. */
export interface StorageReconcilerOptions {
  store: Store;
  drivers: StorageDriverRegistry;
  events: EventRecorder;
  clock: Clock;
  memberName: string;
  /** slowRetryMs: retry delay for an object that is not ready or cannot be deleted yet (default 30 s) */
  slowRetryMs?: number;
  /** resyncMs: refresh of a ready object (capacity and usage) (default 60 s) */
  resyncMs?: number;
}

/** StorageRequeue is when a storage reconciler looks again: `slow` after a failure or while waiting, `resync` once ready. */
export interface StorageRequeue {
  slow: Result;
  resync: Result;
}

/** storageRequeue reads the requeue delays from the options: 30 s slow retry and 60 s resync unless set. */
export function storageRequeue(o: { slowRetryMs?: number; resyncMs?: number }): StorageRequeue {
  return { slow: { requeueAfter: o.slowRetryMs ?? 30_000 }, resync: { requeueAfter: o.resyncMs ?? 60_000 } };
}
