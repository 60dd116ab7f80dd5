/**
 * QuotaReconciler (leader-only) keeps every ResourceQuota's status true:
 * `status.hard` = `spec.hard`, and `status.used` = what the live objects of
 * its namespace use, recounted from the store (lib/api/quota.ts
 * `computeUsed`). Admission only ever adds to `used`; this is what lowers it
 * after a delete, a shrinking update or a create that failed after its
 * charge, and what heals a quota whose writes were lost.
 *
 * The quota is read before the objects are listed and written at that
 * resourceVersion, so a charge admitted after the read makes the write
 * conflict and the key is recounted. One window is left, as in Kubernetes: a
 * charge made before the read whose object is not stored yet when the list
 * runs is dropped until that object's event recounts the quota.
 */
import type { EventHandler, RequestQueue } from '../../lib/controller/handlers.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import { requestFor } from '../../lib/controller/reconciler.js';
import { updateStatus } from '../../lib/controller/status.js';
import { computeUsed, formatResourceList, parseResourceList, trackedResources, usageOf } from '../../lib/api/quota.js';
import { TerminalError, errorMessage, isCode } from '../../lib/errors.js';
import { RESOURCE_QUOTA_KIND } from '../../lib/kinds/builtin.js';
import { deepEqual } from '../../lib/json.js';
import type { KindInfo, KindRegistry } from '../../lib/kinds/registry.js';
import type { ResourceQuota, ResourceQuotaStatus } from '../../lib/kinds/types.js';
import type { KubeObject, Store } from '../../lib/store/types.js';

/** CONFLICT_REQUEUE_MS is how soon a quota is recounted after its status write conflicted (a charge landed meanwhile). */
export const CONFLICT_REQUEUE_MS = 50;

/** QuotaReconcilerOptions wire the reconciler. */
export interface QuotaReconcilerOptions {
  store: Store;
  kinds: KindRegistry;
  quotas: Informer<ResourceQuota>;
}

/** QuotaReconciler recounts one ResourceQuota; see the file comment. */
export class QuotaReconciler implements Reconciler {
  constructor(private readonly o: QuotaReconcilerOptions) {}

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const quota = this.o.quotas.get(req);
    if (!quota || quota.metadata.deletionTimestamp !== undefined || !req.namespace) return {};
    let hard;
    try {
      hard = parseResourceList(quota.spec?.hard, 'spec.hard');
    } catch (err) {
      // Admission validates quotas; one that slipped through cannot be counted until someone edits it.
      throw new TerminalError(`ResourceQuota ${req.namespace}/${req.name}: ${errorMessage(err)}`, { cause: err });
    }
    const used = await computeUsed(this.o.store, this.o.kinds, req.namespace, Object.keys(hard));
    const want: ResourceQuotaStatus = { hard: quota.spec?.hard ?? {}, used: formatResourceList(used) };
    try {
      await updateStatus<ResourceQuota>(this.o.store, RESOURCE_QUOTA_KIND, req, (latest) => ({ ...latest.status, ...want }), {
        latest: quota,
        attempts: 1,
        ifGone: 'skip',
      });
    } catch (err) {
      // A charge (or a spec edit) landed after the read: count again with fresh data.
      if (isCode(err, 'Conflict')) return { requeueAfter: CONFLICT_REQUEUE_MS };
      throw err;
    }
    return {};
  }
}

/** usageChanged tells whether an update can change what the object counts for in a quota. */
function usageChanged(kind: KindInfo, oldObj: KubeObject, newObj: KubeObject): boolean {
  if ((oldObj.metadata.deletionTimestamp === undefined) !== (newObj.metadata.deletionTimestamp === undefined)) return true;
  try {
    return !deepEqual(usageOf(kind, oldObj), usageOf(kind, newObj));
  } catch {
    // A malformed quantity cannot be compared; recounting is always safe.
    return true;
  }
}

/**
 * enqueueQuotasFor maps changes of objects of `kind` to the quotas of their
 * namespace that limit something such objects use. Updates that change
 * nothing a quota counts (status writes) are ignored, except resyncs.
 */
export function enqueueQuotasFor<T extends KubeObject>(kind: KindInfo, quotas: Informer<ResourceQuota>): EventHandler<T> {
  const tracked = new Set(trackedResources(kind));
  const enqueue = (obj: T, q: RequestQueue): void => {
    const namespace = obj.metadata.namespace;
    if (!namespace) return;
    const limiting = quotas.listShared(
      (quota) => quota.metadata.namespace === namespace && Object.keys(quota.spec?.hard ?? {}).some((r) => tracked.has(r)),
    );
    for (const quota of limiting) q.add(requestFor(quota));
  };
  return {
    onAdd: enqueue,
    onUpdate: (oldObj, newObj, q) => {
      if (oldObj === newObj || usageChanged(kind, oldObj, newObj)) enqueue(newObj, q);
    },
    onDelete: enqueue,
  };
}
