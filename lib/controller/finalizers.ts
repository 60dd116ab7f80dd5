/**
 * Pure finalizer helpers: they never mutate their argument and return a copy
 * with new metadata when something changes.
 */
import type { KubeObject } from '../store/types.js';

/** hasFinalizer tells whether `obj` carries `finalizer`. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** addFinalizer returns a copy of `obj` with `finalizer` appended (the same object when already present). */
export function addFinalizer<T extends KubeObject>(obj: T, finalizer: string): T {
  if (hasFinalizer(obj, finalizer)) return obj;
  return { ...obj, metadata: { ...obj.metadata, finalizers: [...(obj.metadata.finalizers ?? []), finalizer] } };
}

/** removeFinalizer returns a copy of `obj` without `finalizer` (the same object when absent). */
export function removeFinalizer<T extends KubeObject>(obj: T, finalizer: string): T {
  if (!hasFinalizer(obj, finalizer)) return obj;
  return { ...obj, metadata: { ...obj.metadata, finalizers: (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer) } };
}

/** isBeingDeleted tells whether `obj` has a deletionTimestamp (deletion waits for its finalizers). */
export function isBeingDeleted(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined;
}
