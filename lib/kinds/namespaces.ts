/**
 * What a Namespace object looks like when Cloudlet makes one (the API's
 * admission for `kubectl create namespace`, `cloudlet user create
 * --namespace`, the start-up bootstrap of `default`).
 */
import type { KubeObject } from '../store/types.js';

/** NAMESPACE_FINALIZER holds a Namespace until everything in it is gone (Kubernetes' name for it). */
export const NAMESPACE_FINALIZER = 'kubernetes';

/** DEFAULT_NAMESPACE is where objects go without -n; it always exists and cannot be deleted. */
export const DEFAULT_NAMESPACE = 'default';

/** completeNamespace gives a Namespace about to be created its finalizer and name label (and phase Active, which the store keeps only through the status subresource: the namespace controller writes it). */
export function completeNamespace(obj: KubeObject): KubeObject {
  const meta = obj.metadata;
  meta.finalizers = [...new Set([...(meta.finalizers ?? []), NAMESPACE_FINALIZER])];
  meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': meta.name };
  obj.spec = { finalizers: [NAMESPACE_FINALIZER] };
  obj.status = { phase: 'Active' };
  return obj;
}

/** newNamespace is a complete Namespace object named `name`. */
export function newNamespace(name: string): KubeObject {
  return completeNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}
