/**
 * EventRecorder writes core v1 Events (which `describe` shows) through the
 * store. Repeats of the same event for the same object within the
 * aggregation window (default 10 minutes since the last one) bump `count` and
 * `lastTimestamp` of the existing Event instead of creating another.
 * Recording never throws: a failure is logged as a warning and counted.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, errorMessage } from '../errors.js';
import { EVENT_KIND } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KubeObject, Store } from '../store/types.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';

/** EventType is the Kubernetes event type. */
export type EventType = 'Normal' | 'Warning';

/** ObjectReference is an Event's involvedObject. */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/** CoreEvent is the stored shape of a core v1 Event. */
export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: EventType;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
}

/** EventRecorderOptions: `component` is the event source (e.g. `scheduler`), `host` the member name. */
export interface EventRecorderOptions {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  component: string;
  host?: string;
  clock?: Clock;
  /** aggregationWindowMs: repeats closer than this to the previous one are aggregated (default 10 min) */
  aggregationWindowMs?: number;
}

interface Seen {
  name: string;
  namespace: string;
  lastMs: number;
}

/** EventRecorder records Events about objects; see the file comment. */
export class EventRecorder {
  private readonly opts: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly windowMs: number;
  private readonly seen = new Map<string, Seen>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ component: 'events', source: opts.component });
    this.windowMs = opts.aggregationWindowMs ?? 10 * 60_000;
  }

  /** normal records a Normal event; see event(). */
  normal(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.event(obj, 'Normal', reason, message);
  }

  /** warning records a Warning event; see event(). */
  warning(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.event(obj, 'Warning', reason, message);
  }

  /**
   * event records that `reason`/`message` happened to `obj`. The promise
   * resolves once written and never rejects, so callers may skip awaiting it.
   * Calls for the same object, type, reason and message are written in order.
   */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const ref = referenceTo(obj);
    const aggKey = JSON.stringify([ref.apiVersion, ref.kind, ref.namespace, ref.name, ref.uid, type, reason, message]);
    const prev = this.chains.get(aggKey) ?? Promise.resolve();
    const next = prev
      .then(() => this.record(aggKey, ref, type, reason, message))
      .catch((err: unknown) => {
        this.log.warn('recording an event failed', { reason, object: `${ref.kind}/${ref.name}`, error: errorMessage(err) });
        this.opts.metrics.errors.inc({ component: 'events' });
      });
    this.chains.set(aggKey, next);
    void next.then(() => {
      if (this.chains.get(aggKey) === next) this.chains.delete(aggKey);
    });
    return next;
  }

  private async record(aggKey: string, ref: ObjectReference, type: EventType, reason: string, message: string): Promise<void> {
    const now = this.clock.now();
    const stamp = new Date(now).toISOString();
    const seen = this.seen.get(aggKey);
    if (seen && now - seen.lastMs <= this.windowMs) {
      for (let attempt = 0; attempt < 3; attempt++) {
        let existing: CoreEvent;
        try {
          existing = await this.opts.store.get<CoreEvent>(EVENT_KIND, seen.name, seen.namespace);
        } catch (err) {
          if (err instanceof NotFoundError) break; // deleted or expired: start a new one
          throw err;
        }
        try {
          await this.opts.store.update<CoreEvent>(EVENT_KIND, { ...existing, count: (existing.count ?? 1) + 1, lastTimestamp: stamp });
          seen.lastMs = now;
          return;
        } catch (err) {
          if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
          if (err instanceof NotFoundError) break;
        }
      }
    }
    const namespace = ref.namespace ?? 'default';
    const name = `${ref.name}.${randomBytes(8).toString('hex')}`;
    const ev: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      source: this.opts.host ? { component: this.opts.component, host: this.opts.host } : { component: this.opts.component },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
    };
    await this.opts.store.create(EVENT_KIND, ev);
    this.seen.set(aggKey, { name, namespace, lastMs: now });
    this.prune(now);
  }

  private prune(now: number): void {
    if (this.seen.size < 4096) return;
    for (const [key, s] of this.seen) if (now - s.lastMs > this.windowMs) this.seen.delete(key);
  }
}

/** referenceTo builds the involvedObject reference of `obj`. */
export function referenceTo(obj: KubeObject): ObjectReference {
  const ref: ObjectReference = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}
