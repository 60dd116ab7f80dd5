/**
 * KVBackend is the small key-value contract both stores sit on: etcd in
 * production, a map with a revision counter in unit tests. Everything about
 * objects (uid, generation, finalizers, conflicts) lives above it in
 * ObjectStore, so the two stores cannot drift apart.
 */
import type { Observable } from 'rxjs';
import type { Lease } from './types.js';

/** KV is one stored key with its etcd revisions. */
export interface KV {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** lease id, '0' when unbound */
  lease: string;
}

/** KvEvent is one change; for DELETE `kv.value` is '' and `prev` holds the last state when known. */
export interface KvEvent {
  type: 'PUT' | 'DELETE';
  kv: KV;
  prev?: KV;
  revision: number;
}

/** TxnResult tells whether a conditional write happened and the store revision after it. */
export interface TxnResult {
  ok: boolean;
  revision: number;
}

/** KVBackend: every call is one round trip; errors are already CloudletErrors. */
export interface KVBackend {
  get(key: string): Promise<{ kv?: KV; revision: number }>;
  range(prefix: string): Promise<{ kvs: KV[]; revision: number }>;
  /** put writes unconditionally (bound to `lease` when given) and returns the new revision. */
  put(key: string, value: string, lease?: string): Promise<number>;
  /** putIf writes only if the key's mod revision equals `modRevision` (0 = absent). */
  putIf(key: string, value: string, modRevision: number, lease?: string): Promise<TxnResult>;
  /** deleteIf removes the key when the condition holds (none = unconditional); ok only if a key was removed. */
  deleteIf(key: string, cond?: { modRevision?: number; value?: string }): Promise<TxnResult>;
  /** watch delivers every change under `prefix` with revision > fromRevision; GoneError when compacted. */
  watch(prefix: string, fromRevision: number): Observable<KvEvent>;
  currentRevision(): Promise<number>;
  grantLease(ttlSeconds: number): Promise<Lease>;
  close(): Promise<void>;
}
