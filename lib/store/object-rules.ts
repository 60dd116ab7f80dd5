/**
 * The object rules of the store as pure functions: what a create, an update
 * and a delete turn a stored object into. ObjectStore applies them over any
 * KVBackend, so the memory and etcd stores share them exactly.
 */
import { isDeepStrictEqual } from 'node:util';
import { randomInt } from 'node:crypto';
import type { KindInfo } from '../kinds/registry.js';
import { ConflictError, InternalError, ValidationError } from '../errors.js';
import { resourceName } from './keys.js';
import type { KubeObject } from './types.js';

/** rfc3339 formats a time the way Kubernetes does: seconds precision, UTC, `Z`. */
export function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** randomSuffix is 5 characters from Kubernetes' generateName alphabet. */
export function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)];
  return s;
}

/** notFoundMessage is Kubernetes' `instances.cloudlet.dev "web" not found`. */
export function notFoundMessage(kind: KindInfo, name: string): string {
  return `${resourceName(kind)} "${name}" not found`;
}

/** alreadyExistsMessage is Kubernetes' `instances.cloudlet.dev "web" already exists`. */
export function alreadyExistsMessage(kind: KindInfo, name: string): string {
  return `${resourceName(kind)} "${name}" already exists`;
}

/** conflictError is Kubernetes' optimistic-concurrency 409 for `name`. */
export function conflictError(kind: KindInfo, name: string): ConflictError {
  return new ConflictError(
    `Operation cannot be fulfilled on ${resourceName(kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

/** clone deep-copies a JSON object (stored objects are plain JSON; a JSON round trip is faster than structuredClone for them). */
export function clone<T>(obj: T): T {
  return obj === undefined ? obj : (JSON.parse(JSON.stringify(obj)) as T);
}

/** encodeObject is the stored JSON: the object without resourceVersion, which the revision supplies. */
export function encodeObject(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, metadata });
}

/** decodeObject parses a stored value and sets resourceVersion to `revision`. */
export function decodeObject<T extends KubeObject>(value: string, revision: number, key: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InternalError(`stored object at ${key} is not JSON`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as KubeObject).metadata !== 'object') {
    throw new InternalError(`stored object at ${key} has no metadata`);
  }
  const obj = parsed as T;
  obj.metadata.resourceVersion = String(revision);
  return obj;
}

/**
 * prepareCreate returns the object to store for a create: apiVersion and kind
 * of `kind`, namespace only for namespaced kinds, fresh uid,
 * creationTimestamp and generation 1; resourceVersion, deletionTimestamp
 * and (for kinds with a status subresource) status are dropped. The name is
 * filled later when only generateName is given.
 */
export function prepareCreate<T extends KubeObject>(
  kind: KindInfo,
  obj: T,
  opts: { now: Date; uid: string; namespace: string | undefined },
): T {
  const out = clone(obj);
  out.apiVersion = kind.apiVersion;
  out.kind = kind.kind;
  const meta = { ...(out.metadata ?? { name: '' }) };
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  if (opts.namespace === undefined) delete meta.namespace;
  else meta.namespace = opts.namespace;
  meta.uid = opts.uid;
  meta.creationTimestamp = rfc3339(opts.now);
  meta.generation = 1;
  out.metadata = meta;
  if (kind.hasStatus) delete out.status;
  if (!meta.name && !meta.generateName) {
    throw new ValidationError('metadata.name: Required value: name or generateName is required', [
      { field: 'metadata.name', message: 'Required value: name or generateName is required', type: 'FieldValueRequired' },
    ]);
  }
  return out;
}

function specOf(obj: KubeObject): unknown {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/**
 * prepareUpdate merges an update into the stored object. The main resource
 * keeps the stored status (kinds with a status subresource); `status` takes
 * only status. uid, creationTimestamp, deletionTimestamp and generation come
 * from storage; generation is bumped iff anything outside metadata and
 * status changed. On an object being deleted no finalizer may be added, and
 * `remove` is true when the update leaves no finalizer (the object goes).
 */
export function prepareUpdate<T extends KubeObject>(
  kind: KindInfo,
  stored: T,
  incoming: T,
  opts: { subresource?: 'status' },
): { object: T; remove: boolean } {
  const name = stored.metadata.name;
  if (incoming.metadata.uid !== undefined && incoming.metadata.uid !== '' && incoming.metadata.uid !== stored.metadata.uid) {
    throw new ConflictError(
      `Operation cannot be fulfilled on ${resourceName(kind)} "${name}": Precondition failed: UID in precondition: ${incoming.metadata.uid}, UID in object meta: ${stored.metadata.uid ?? ''}`,
    );
  }
  let object: T;
  if (opts.subresource === 'status') {
    object = clone(stored);
    if (incoming.status === undefined) delete object.status;
    else object.status = clone(incoming.status);
  } else {
    object = clone(incoming);
    object.apiVersion = kind.apiVersion;
    object.kind = kind.kind;
    const meta = { ...object.metadata };
    meta.name = stored.metadata.name;
    if (stored.metadata.namespace === undefined) delete meta.namespace;
    else meta.namespace = stored.metadata.namespace;
    meta.uid = stored.metadata.uid;
    meta.creationTimestamp = stored.metadata.creationTimestamp;
    meta.generation = stored.metadata.generation;
    for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
      if (stored.metadata[k] === undefined) delete meta[k];
      else (meta as Record<string, unknown>)[k] = stored.metadata[k];
    }
    object.metadata = meta;
    if (kind.hasStatus) {
      if (stored.status === undefined) delete object.status;
      else object.status = clone(stored.status);
    }
    if (!isDeepStrictEqual(specOf(stored), specOf(object))) meta.generation = (stored.metadata.generation ?? 0) + 1;
  }
  object.metadata.resourceVersion = stored.metadata.resourceVersion;
  const deleting = stored.metadata.deletionTimestamp !== undefined;
  const before = new Set(stored.metadata.finalizers ?? []);
  const after = object.metadata.finalizers ?? [];
  if (deleting && after.some((f) => !before.has(f))) {
    throw new ValidationError('metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted', [
      {
        field: 'metadata.finalizers',
        message: 'Forbidden: no new finalizers can be added if the object is being deleted',
        type: 'FieldValueForbidden',
      },
    ]);
  }
  return { object, remove: deleting && after.length === 0 };
}

/** preconditionConflict checks a delete's resourceVersion and uid preconditions against the stored object. */
export function preconditionConflict(
  kind: KindInfo,
  stored: KubeObject,
  pre: { resourceVersion?: string; uid?: string },
): ConflictError | undefined {
  const name = stored.metadata.name;
  const prefix = `Operation cannot be fulfilled on ${resourceName(kind)} "${name}"`;
  if (pre.uid !== undefined && pre.uid !== stored.metadata.uid) {
    return new ConflictError(
      `${prefix}: Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${stored.metadata.uid ?? ''}`,
    );
  }
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== stored.metadata.resourceVersion) {
    return new ConflictError(
      `${prefix}: the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${stored.metadata.resourceVersion ?? ''}). The object might have been modified`,
    );
  }
  return undefined;
}
