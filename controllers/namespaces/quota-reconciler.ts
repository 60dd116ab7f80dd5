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
 * conflict and the key is recounted. A charge made before the read whose
 * object is not stored yet when the list runs would be dropped by a recount,
 * and the next create at the edge admitted over the limit: so, as Kubernetes'
 * quota controller does, a recount runs only when usage can have gone down
 * or the limits changed — a tracked object deleted or shrunk, a quota's
 * `spec.hard` changed or new, a resync — never on the quota's own `used`
 * writes nor on a create (admission has charged it already). The window is
 * left only for a delete that races a create at the edge.
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
 * namespace that limit something such objects use, when usage can have gone
 * down: deletes and updates that change what a quota counts (resyncs too);
 * creates are charged at admission and start no recount.
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
    // a create was charged at admission: nothing to lower
    onAdd: () => undefined,
    onUpdate: (oldObj, newObj, q) => {
      if (oldObj === newObj || usageChanged(kind, oldObj, newObj)) enqueue(newObj, q);
    },
    onDelete: enqueue,
  };
}

/**
 * enqueueQuotaLimits maps a ResourceQuota's own changes to a recount only
 * when its limits are new or changed (or on a resync): the `used` writes of
 * admission must not start a recount (see the file comment).
 */
export function enqueueQuotaLimits(): EventHandler<ResourceQuota> {
  return {
    onAdd: (quota, q) => q.add(requestFor(quota)),
    onUpdate: (oldObj, newObj, q) => {
      const limitsChanged = !deepEqual(oldObj.spec?.hard ?? {}, newObj.spec?.hard ?? {});
      const unsynced = !deepEqual(newObj.status?.hard ?? {}, newObj.spec?.hard ?? {});
      if (oldObj === newObj || limitsChanged || unsynced) q.add(requestFor(newObj));
    },
    onDelete: () => undefined,
  };
}
