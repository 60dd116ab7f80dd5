/**
 * Prometheus metrics (prom-client). One Metrics object is built at start-up
 * and passed down; nothing registers into prom-client's global registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Metrics holds every metric Cloudlet exports on /metrics. */
export interface Metrics {
  registry: Registry;
  /** API requests by verb, resource and HTTP code */
  apiRequests: Counter<'verb' | 'resource' | 'code'>;
  /** API request latency in seconds by verb and resource (watches excluded) */
  apiLatency: Histogram<'verb' | 'resource'>;
  /** open API watch streams by resource */
  apiWatches: Gauge<'resource'>;
  /** reconciles by controller and result (success, requeue, error, terminal) */
  reconciles: Counter<'controller' | 'result'>;
  /** reconcile duration in seconds by controller */
  reconcileDuration: Histogram<'controller'>;
  /** errors by component, for every error that is logged and not rethrown */
  errors: Counter<'component'>;
  /** work queue depth by controller */
  queueDepth: Gauge<'controller'>;
  /** privileged instances assigned to a member (root inside is root on the host), set by its instance agent */
  privilegedInstances: Gauge<'member'>;
  /** etcd round trips in seconds by operation */
  etcdRoundTrips: Histogram<'op'>;
}

/** createMetrics builds a fresh registry with every Cloudlet metric; `defaults` adds process metrics. */
export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: 'cloudlet_' });
  const fast = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  return {
    registry,
    apiRequests: new Counter({
      name: 'cloudlet_api_requests_total',
      help: 'API requests',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
    apiLatency: new Histogram({
      name: 'cloudlet_api_request_duration_seconds',
      help: 'API request latency (watches excluded)',
      labelNames: ['verb', 'resource'],
      buckets: fast,
      registers: [registry],
    }),
    apiWatches: new Gauge({
      name: 'cloudlet_api_watches',
      help: 'Open API watch streams',
      labelNames: ['resource'],
      registers: [registry],
    }),
    reconciles: new Counter({
      name: 'cloudlet_reconciles_total',
      help: 'Reconciles by result',
      labelNames: ['controller', 'result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'cloudlet_reconcile_duration_seconds',
      help: 'Reconcile duration',
      labelNames: ['controller'],
      buckets: fast,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'cloudlet_errors_total',
      help: 'Errors logged and not rethrown',
      labelNames: ['component'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'cloudlet_workqueue_depth',
      help: 'Work queue depth',
      labelNames: ['controller'],
      registers: [registry],
    }),
    privilegedInstances: new Gauge({
      name: 'cloudlet_privileged_instances',
      help: 'Privileged instances assigned to this member (root inside is root on the host)',
      labelNames: ['member'],
      registers: [registry],
    }),
    etcdRoundTrips: new Histogram({
      name: 'cloudlet_etcd_request_duration_seconds',
      help: 'etcd round trips',
      labelNames: ['op'],
      buckets: fast,
      registers: [registry],
    }),
  };
}
