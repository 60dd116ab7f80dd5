/**
 * NamespaceReconciler (leader-only) runs a Namespace's lifecycle, as
 * Kubernetes' namespace controller does:
 *
 * - a Namespace without a phase gets phase Active;
 * - a Namespace being deleted gets phase Terminating and a
 *   NamespaceContentRemaining condition saying what is left ("3 instances,
 *   1 volume"); every object of every stored namespaced kind in it is
 *   deleted (their own finalizers run: instance and volume agents remove
 *   theirs once the host is clean); the key is requeued until nothing is
 *   left, then the `kubernetes` finalizer is removed and the store deletes
 *   the Namespace.
 *
 * The API refuses creates in a Terminating namespace, so the content only
 * shrinks while this runs.
 */
import { NAMESPACE_FINALIZER } from '../../lib/kinds/namespaces.js';
import type { Clock } from '../../lib/controller/clock.js';
import { setCondition } from '../../lib/controller/conditions.js';
import { isBeingDeleted, removeFinalizer } from '../../lib/controller/finalizers.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { Reconciler, ReconcileContext, Request, Result } from '../../lib/controller/reconciler.js';
import { CONDITION_TIME_KEYS, updateStatus } from '../../lib/controller/status.js';
import { isCode } from '../../lib/errors.js';
import { NAMESPACE_KIND } from '../../lib/kinds/builtin.js';
import type { KindInfo, KindRegistry } from '../../lib/kinds/registry.js';
import type { Namespace } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';

export { NAMESPACE_FINALIZER };
/** CONTENT_REMAINING is the condition naming what a terminating namespace still holds. */
export const CONTENT_REMAINING = 'NamespaceContentRemaining';
/** DEFAULT_CONTENT_POLL_MS is how often a terminating namespace is looked at again while objects remain. */
export const DEFAULT_CONTENT_POLL_MS = 2000;

/** NamespaceReconcilerOptions wire the reconciler. */
export interface NamespaceReconcilerOptions {
  store: Store;
  kinds: KindRegistry;
  namespaces: Informer<Namespace>;
  clock: Clock;
  /** pollMs: requeue delay while content remains (default DEFAULT_CONTENT_POLL_MS) */
  pollMs?: number;
}

/** Remaining counts what is left in a namespace, per kind, in the registry's order. */
export type Remaining = Array<{ kind: KindInfo; count: number }>;

/** namespacedKinds are the kinds whose objects live in namespaces and are stored (not virtual). */
export function namespacedKinds(kinds: KindRegistry): KindInfo[] {
  return kinds.all().filter((k) => k.namespaced && k.virtual !== true);
}

/** describeRemaining renders what is left as "3 instances, 1 volume" (empty when nothing is). */
export function describeRemaining(remaining: Remaining): string {
  return remaining
    .filter((r) => r.count > 0)
    .map((r) => `${r.count} ${r.count === 1 ? r.kind.singular : r.kind.plural}`)
    .join(', ');
}

/** NamespaceReconciler drives one Namespace; see the file comment. */
export class NamespaceReconciler implements Reconciler {
  constructor(private readonly o: NamespaceReconcilerOptions) {}

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const ns = this.o.namespaces.get({ name: req.name });
    if (!ns) return {};
    if (!isBeingDeleted(ns)) {
      if (!ns.status?.phase) {
        await updateStatus<Namespace>(
          this.o.store,
          NAMESPACE_KIND,
          { name: req.name },
          (latest) => (latest.status?.phase || isBeingDeleted(latest) ? undefined : { ...latest.status, phase: 'Active' }),
          { latest: ns, ifGone: 'skip' },
        );
      }
      return {};
    }
    const remaining = await this.deleteContent(req.name);
    const left = describeRemaining(remaining);
    if (left) {
      await this.markTerminating(ns, left);
      return { requeueAfter: this.o.pollMs ?? DEFAULT_CONTENT_POLL_MS };
    }
    await this.release(req.name);
    return {};
  }

  /** deleteContent asks the store to delete every object in the namespace not already being deleted; returns what is still there. */
  private async deleteContent(namespace: string): Promise<Remaining> {
    const remaining: Remaining = [];
    for (const kind of namespacedKinds(this.o.kinds)) {
      const { items } = await this.o.store.list(kind, { namespace });
      let count = 0;
      for (const obj of items) {
        if (!isBeingDeleted(obj)) {
          try {
            const res = await this.o.store.delete(kind, obj.metadata.name, namespace);
            if (res.deleted) continue;
          } catch (err) {
            if (isCode(err, 'NotFound')) continue;
            throw err;
          }
        }
        count++;
      }
      remaining.push({ kind, count });
    }
    return remaining;
  }

  private async markTerminating(ns: Namespace, left: string): Promise<void> {
    const now = this.o.clock.now();
    await updateStatus<Namespace>(
      this.o.store,
      NAMESPACE_KIND,
      { name: ns.metadata.name },
      (latest) => ({
        ...latest.status,
        phase: 'Terminating',
        conditions: setCondition(
          latest.status?.conditions,
          { type: CONTENT_REMAINING, status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${left}` },
          now,
        ),
      }),
      { latest: ns, ignoreKeys: CONDITION_TIME_KEYS, ifGone: 'skip' },
    );
  }

  /** release removes the `kubernetes` finalizer from metadata and spec; with no other finalizer the store deletes the Namespace. */
  private async release(name: string): Promise<void> {
    let latest: Namespace;
    try {
      latest = await this.o.store.get<Namespace>(NAMESPACE_KIND, name);
    } catch (err) {
      if (isCode(err, 'NotFound')) return;
      throw err;
    }
    const specFinalizers = latest.spec?.finalizers;
    const keepSpec = specFinalizers?.filter((f) => f !== NAMESPACE_FINALIZER);
    const released = removeFinalizer(latest, NAMESPACE_FINALIZER);
    if (released === latest && keepSpec?.length === specFinalizers?.length) return;
    // A conflict is thrown: the runner retries with backoff and the next pass reads afresh.
    await this.o.store.update<Namespace>(NAMESPACE_KIND, { ...released, spec: { ...latest.spec, finalizers: keepSpec ?? [] } });
  }
}
