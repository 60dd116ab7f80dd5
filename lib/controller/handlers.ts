/**
 * Event handlers turn informer events into reconcile keys (like
 * controller-runtime `pkg/handler/enqueue*.go`): the object itself, its owner,
 * or any objects a mapping function names. Handlers only enqueue; the queue
 * deduplicates.
 */
import type { KubeObject } from '../store/types.js';
import type { Request } from './reconciler.js';
import { requestFor } from './reconciler.js';

/** RequestQueue is what a handler may do with a key: add it. */
export interface RequestQueue {
  add(req: Request): void;
}

/** EventHandler maps informer events to requests on `q`. */
export interface EventHandler<T extends KubeObject = KubeObject> {
  onAdd(obj: T, q: RequestQueue): void;
  onUpdate(oldObj: T, newObj: T, q: RequestQueue): void;
  onDelete(obj: T, q: RequestQueue): void;
}

/** enqueueObject enqueues the object that changed. */
export function enqueueObject<T extends KubeObject = KubeObject>(): EventHandler<T> {
  return enqueueMapped<T>((obj) => [requestFor(obj)]);
}

/** EnqueueOwnerOptions: `clusterScoped` when the owner kind has no namespace; `onlyController` follows only the controller reference. */
export interface EnqueueOwnerOptions {
  clusterScoped?: boolean;
  onlyController?: boolean;
}

/**
 * enqueueOwner enqueues the owners of kind `ownerKind` named in
 * metadata.ownerReferences (old and new on update, so a changed owner sees
 * both). Owners live in the dependent's namespace unless `clusterScoped`.
 */
export function enqueueOwner<T extends KubeObject = KubeObject>(ownerKind: string, opts: EnqueueOwnerOptions = {}): EventHandler<T> {
  return enqueueMapped<T>((obj) =>
    (obj.metadata.ownerReferences ?? [])
      .filter((ref) => ref.kind === ownerKind && (!opts.onlyController || ref.controller === true))
      .map((ref) =>
        opts.clusterScoped || !obj.metadata.namespace ? { name: ref.name } : { namespace: obj.metadata.namespace, name: ref.name },
      ),
  );
}

/** enqueueMapped enqueues every request `map` returns for the changed object (for old and new on update). */
export function enqueueMapped<T extends KubeObject = KubeObject>(map: (obj: T) => Request[]): EventHandler<T> {
  const addAll = (obj: T, q: RequestQueue): void => {
    for (const req of map(obj)) q.add(req);
  };
  return {
    onAdd: addAll,
    onUpdate: (oldObj, newObj, q) => {
      addAll(newObj, q);
      if (oldObj !== newObj) addAll(oldObj, q);
    },
    onDelete: addAll,
  };
}
