/**
 * Object model and the narrow store contract shared by the etcd store, the
 * in-memory store used in unit tests, the API server and the controllers.
 */
import type { Observable } from 'rxjs';
import type { KindInfo } from '../kinds/registry.js';

/** OwnerReference points from a dependent object to its owner (garbage collection). */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** ManagedFieldsEntry records which field manager last set which fields (server-side apply). */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** ObjectMeta is the Kubernetes object metadata Cloudlet keeps. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  /** resourceVersion is the etcd mod revision of the stored object, as a decimal string. */
  resourceVersion?: string;
  /** generation is bumped on spec changes only. */
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
}

/** KubeObject is any stored object: apiVersion, kind, metadata and kind-specific fields. */
export interface KubeObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  [field: string]: unknown;
}

/** Condition is one entry of `status.conditions[]`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** ListOptions narrows a list. Selectors use Kubernetes syntax. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** ListResult is a consistent snapshot: items plus the store revision it was read at. */
export interface ListResult<T extends KubeObject = KubeObject> {
  items: T[];
  resourceVersion: string;
}

/** WatchEventType is the Kubernetes watch event type for object changes. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** WatchEvent is one change. For DELETED, `object` is the last state with the deletion revision as resourceVersion. */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
  /** revision of the change, equal to object.metadata.resourceVersion */
  revision: string;
}

/** WatchOptions: events strictly after `fromRevision`, optionally in one namespace. */
export interface WatchOptions {
  namespace?: string;
  /** events with revision > fromRevision are delivered; a compacted revision errors with GoneError */
  fromRevision: string;
}

/** WriteOptions apply to create, update and delete. */
export interface WriteOptions {
  /** dryRun validates and computes the result without persisting it */
  dryRun?: boolean;
}

/** UpdateOptions: `subresource: 'status'` writes only `status`; otherwise status is kept from storage. */
export interface UpdateOptions extends WriteOptions {
  subresource?: 'status';
}

/** DeleteOptions: a precondition on resourceVersion or uid, as Kubernetes allows. */
export interface DeleteOptions extends WriteOptions {
  resourceVersion?: string;
  uid?: string;
}

/** DeleteResult: `deleted` is false when finalizers keep the object (it then has a deletionTimestamp). */
export interface DeleteResult<T extends KubeObject = KubeObject> {
  object: T;
  deleted: boolean;
}

/** RawEntry is one key of the raw key space (heartbeats, locks, leader keys, IP allocations). */
export interface RawEntry {
  key: string;
  value: string;
  /** mod revision */
  revision: string;
  /** lease id the key is bound to, or '0' */
  lease: string;
}

/** RawEvent is a change of a raw key. */
export interface RawEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
  revision: string;
}

/**
 * Lease is an etcd lease held by this process. Keep-alives are driven by the
 * caller (`keepAliveOnce`), so the caller knows exactly when the last
 * acknowledged keep-alive was sent — the basis of the fencing deadline.
 */
export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  /** keepAliveOnce renews the lease; resolves with the TTL granted, throws NotFoundError if it expired. */
  keepAliveOnce(): Promise<number>;
  /** revoke ends the lease; every key bound to it disappears. Revoking an expired lease succeeds. */
  revoke(): Promise<void>;
}

/** RawKV is the untyped key space beside the objects: keys bound to leases, compare-and-swap claims. */
export interface RawKV {
  get(key: string): Promise<RawEntry | undefined>;
  list(prefix: string): Promise<{ entries: RawEntry[]; revision: string }>;
  /** put writes unconditionally, optionally bound to a lease. */
  put(key: string, value: string, opts?: { lease?: Lease }): Promise<string>;
  /** claim creates the key only if absent; returns true when this call created it. */
  claim(key: string, value: string, opts?: { lease?: Lease }): Promise<boolean>;
  /** casPut writes only if the key's mod revision equals `revision` ('0' = absent); true on success. */
  casPut(key: string, value: string, revision: string, opts?: { lease?: Lease }): Promise<boolean>;
  /** delete removes the key; with `ifValue`, only when its value still equals it. True if removed. */
  delete(key: string, opts?: { ifValue?: string }): Promise<boolean>;
  /** watch delivers changes under `prefix` with revision > fromRevision. */
  watch(prefix: string, fromRevision: string): Observable<RawEvent>;
}

/**
 * Store is the narrow, typed object store (DESIGN.md §3). Implementations:
 * EtcdStore (production) and MemoryStore (unit tests); both pass the same
 * contract suite.
 *
 * - create fails with AlreadyExistsError if the object exists;
 * - update requires metadata.resourceVersion and fails with ConflictError if it is stale;
 *   it bumps generation only when spec changes; status is written only with
 *   `subresource: 'status'`;
 * - delete with finalizers sets deletionTimestamp; the update that removes the last
 *   finalizer of an object being deleted deletes it;
 * - watch resumes from a revision and errors with GoneError when it was compacted.
 */
export interface Store {
  create<T extends KubeObject>(kind: KindInfo, obj: T, opts?: WriteOptions): Promise<T>;
  get<T extends KubeObject>(kind: KindInfo, name: string, namespace?: string): Promise<T>;
  list<T extends KubeObject>(kind: KindInfo, opts?: ListOptions): Promise<ListResult<T>>;
  update<T extends KubeObject>(kind: KindInfo, obj: T, opts?: UpdateOptions): Promise<T>;
  delete<T extends KubeObject>(kind: KindInfo, name: string, namespace: string | undefined, opts?: DeleteOptions): Promise<DeleteResult<T>>;
  watch<T extends KubeObject>(kind: KindInfo, opts: WatchOptions): Observable<WatchEvent<T>>;
  /** currentRevision is the store's latest revision. */
  currentRevision(): Promise<string>;
  /** grantLease creates a lease with the given TTL. */
  grantLease(ttlSeconds: number): Promise<Lease>;
  /** raw is the untyped key space. */
  readonly raw: RawKV;
  close(): Promise<void>;
}
