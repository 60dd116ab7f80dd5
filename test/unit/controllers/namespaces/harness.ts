/** Test harness for the namespace controllers: a MemoryStore, the real kinds, informers on the real clock, helpers. */
import { Controller } from '../../../../lib/controller/controller.js';
import { realClock } from '../../../../lib/controller/clock.js';
import { enqueueObject } from '../../../../lib/controller/handlers.js';
import { SharedInformerFactory } from '../../../../lib/controller/shared-informer-factory.js';
import { NAMESPACE_KIND, RESOURCE_QUOTA_KIND } from '../../../../lib/kinds/builtin.js';
import { KindRegistry } from '../../../../lib/kinds/registry.js';
import type { Namespace, ResourceQuota } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { enqueueQuotaLimits, enqueueQuotasFor, QuotaReconciler } from '../../../../controllers/namespaces/quota-reconciler.js';
import { NamespaceReconciler } from '../../../../controllers/namespaces/namespace-reconciler.js';
import { eventually } from '../../../helpers/poll.js';

export const kinds = KindRegistry.load();
export const INSTANCE = kinds.resolve('instances');
export const VOLUME = kinds.resolve('volumes');

/** Harness bundles a store, informers and the controllers started on them. */
export interface Harness {
  store: MemoryStore;
  informers: SharedInformerFactory;
  controllers: Controller[];
  stop(): Promise<void>;
}

export function makeHarness(): Harness {
  const store = new MemoryStore();
  const informers = new SharedInformerFactory({ store, logger: silentLogger(), resyncPeriodMs: 0 });
  const h: Harness = {
    store,
    informers,
    controllers: [],
    async stop() {
      await Promise.all(h.controllers.map((c) => c.stop()));
      await informers.stop();
    },
  };
  return h;
}

const deps = { logger: silentLogger(), metrics: createMetrics(), clock: realClock };

/** startQuotas starts the quota controller as the cluster controllers wire it. */
export async function startQuotas(h: Harness): Promise<void> {
  const quotas = h.informers.forKind<ResourceQuota>(RESOURCE_QUOTA_KIND);
  const c = new Controller({ name: 'quota', reconciler: new QuotaReconciler({ store: h.store, kinds, quotas }), ...deps })
    .watches(quotas, enqueueQuotaLimits())
    .watches(h.informers.forKind(INSTANCE), enqueueQuotasFor(INSTANCE, quotas))
    .watches(h.informers.forKind(VOLUME), enqueueQuotasFor(VOLUME, quotas));
  h.controllers.push(c);
  h.informers.start();
  await c.start();
}

/** startNamespaces starts the namespace controller, polling content every 20 ms. */
export async function startNamespaces(h: Harness): Promise<void> {
  const namespaces = h.informers.forKind<Namespace>(NAMESPACE_KIND);
  const c = new Controller({
    name: 'namespace',
    reconciler: new NamespaceReconciler({ store: h.store, kinds, namespaces, clock: realClock, pollMs: 20 }),
    ...deps,
  }).watches(namespaces, enqueueObject<Namespace>());
  h.controllers.push(c);
  h.informers.start();
  await c.start();
}

/** until polls `check` for up to 5 s. */
export function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  return eventually(what, check, { timeoutMs: 5000, everyMs: 10 }) as Promise<T>;
}

export function inst(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: INSTANCE.apiVersion,
    kind: 'Instance',
    metadata: { name, namespace: 'team', ...meta },
    spec: { image: 'busybox', ...spec },
  };
}

export function vol(name: string, size: string, namespace = 'team'): KubeObject {
  return { apiVersion: VOLUME.apiVersion, kind: 'Volume', metadata: { name, namespace }, spec: { pool: 'p', size } };
}
