/**
 * The reconciler contract (DESIGN.md §4), in the shape of controller-runtime's
 * `pkg/reconcile`. A reconciler is handed a key, never an event: it reads the
 * current object (from an informer cache or the store) and the host, computes
 * a plan with pure functions, applies it idempotently, writes status, and
 * tells the runner what to do next by how it returns:
 *
 * - return `{}`                 done; the key's backoff is forgotten.
 * - return `{requeueAfter: ms}` reconcile again after `ms`; backoff is forgotten.
 * - throw any value              retry with per-key exponential backoff
 *                                (5 ms → 5 min) under a global token bucket;
 *                                the runner logs the failure once.
 * - throw TerminalError          (lib/errors) no retry; logged and counted.
 *
 * Exceeding the runner's timeout aborts `ctx.signal` and counts as a thrown
 * error. Reconcilers never touch the queue and never log-and-rethrow.
 */
import type { Logger } from '../log/logger.js';

/** Request names the object to reconcile: a key, never an event. `namespace` is absent for cluster-scoped kinds. */
export interface Request {
  namespace?: string;
  name: string;
}

/** Result tells the runner what to do after a successful reconcile; `{}` means done. */
export interface Result {
  /** requeueAfter (ms, > 0) reconciles the key again after this delay. */
  requeueAfter?: number;
}

/** ReconcileContext is what the runner gives each reconcile call. */
export interface ReconcileContext {
  /** log is a child logger with fields controller, key and reconcileId. */
  log: Logger;
  /** signal aborts when the reconcile exceeds its timeout or the runner is stopped past its grace. */
  signal: AbortSignal;
  /** reconcileId identifies this call in logs. */
  reconcileId: string;
  /** controller is the controller's name. */
  controller: string;
}

/** Reconciler drives one key toward its desired state; see the outcome rules above. */
export interface Reconciler {
  reconcile(req: Request, ctx: ReconcileContext): Promise<Result>;
}

/** requestKey encodes a Request as the queue key `namespace/name`, or `name` when cluster-scoped. */
export function requestKey(req: Request): string {
  return req.namespace ? `${req.namespace}/${req.name}` : req.name;
}

/** parseRequestKey is the inverse of requestKey. */
export function parseRequestKey(key: string): Request {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** requestFor builds the Request naming an object. */
export function requestFor(obj: { metadata: { name: string; namespace?: string } }): Request {
  return obj.metadata.namespace ? { namespace: obj.metadata.namespace, name: obj.metadata.name } : { name: obj.metadata.name };
}
