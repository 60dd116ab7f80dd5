/**
 * ObjectStore implements the typed Store contract (lib/store/types.ts,
 * DESIGN.md §3) over any KVBackend: create = write if absent, update = write
 * at the read mod revision else 409, delete with finalizers = set
 * deletionTimestamp, watch = backend watch mapped to ADDED/MODIFIED/DELETED.
 */
import { randomUUID } from 'node:crypto';
import { filter, map, type Observable } from 'rxjs';
import type { KindInfo } from '../kinds/registry.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../errors.js';
import type { KVBackend, KvEvent } from './backend.js';
import { kindPrefix, nameFromKey, objectKey, scopedNamespace } from './keys.js';
import {
  alreadyExistsMessage,
  clone,
  conflictError,
  decodeObject,
  encodeObject,
  notFoundMessage,
  preconditionConflict,
  prepareCreate,
  prepareUpdate,
  randomSuffix,
  rfc3339,
} from './object-rules.js';
import { BackendRawKV, parseRevision } from './raw-kv.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, supportedFields } from './selectors.js';
import type {
  DeleteOptions,
  DeleteResult,
  KubeObject,
  Lease,
  ListOptions,
  ListResult,
  RawKV,
  Store,
  UpdateOptions,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './types.js';

/** ObjectStoreOptions: the backend, and a clock for timestamps (tests pin it). */
export interface ObjectStoreOptions {
  backend: KVBackend;
  now?: () => Date;
}

const MAX_RETRIES = 16;
/** RECENT_MAX bounds the cache of values this store last read or wrote (a few MiB at most). */
const RECENT_MAX = 2048;

/** ObjectStore is the one implementation of Store's object rules; EtcdStore and MemoryStore only pick the backend. */
export class ObjectStore implements Store {
  /** raw is the untyped key space of the same backend. */
  readonly raw: RawKV;
  protected readonly backend: KVBackend;
  private readonly now: () => Date;
  /**
   * recent holds, per key, the value and mod revision this store last read or
   * wrote. An update whose resourceVersion equals the remembered revision
   * skips its read: the conditional write still compares the revision in the
   * backend, so a change by anyone else since then fails it exactly as the
   * read would have. Bounded, oldest first out.
   */
  private readonly recent = new Map<string, { modRevision: number; value: string }>();

  constructor(opts: ObjectStoreOptions) {
    this.backend = opts.backend;
    this.now = opts.now ?? (() => new Date());
    this.raw = new BackendRawKV(this.backend);
  }

  /** create stores a new object; AlreadyExistsError if present; generateName picks a free name. */
  async create<T extends KubeObject>(kind: KindInfo, obj: T, opts: WriteOptions = {}): Promise<T> {
    const namespace = scopedNamespace(kind, obj.metadata?.namespace);
    const prepared = prepareCreate(kind, obj, { now: this.now(), uid: randomUUID(), namespace });
    const generated = !prepared.metadata.name;
    for (let attempt = 0; attempt < (generated ? 8 : 1); attempt++) {
      // prepared is already this call's own copy; only generated names need a fresh one per attempt
      const object = generated ? clone(prepared) : prepared;
      if (generated) object.metadata.name = `${prepared.metadata.generateName ?? ''}${randomSuffix()}`;
      const key = objectKey(kind, object.metadata.name, namespace);
      if (opts.dryRun) {
        if ((await this.backend.get(key)).kv) {
          if (generated) continue;
          throw new AlreadyExistsError(alreadyExistsMessage(kind, object.metadata.name));
        }
        return object;
      }
      const value = encodeObject(object);
      const res = await this.backend.putIf(key, value, 0);
      if (res.ok) {
        object.metadata.resourceVersion = String(res.revision);
        this.remember(key, res.revision, value);
        return object;
      }
      if (!generated) throw new AlreadyExistsError(alreadyExistsMessage(kind, object.metadata.name));
    }
    throw new AlreadyExistsError(alreadyExistsMessage(kind, `${prepared.metadata.generateName ?? ''}*`));
  }

  /** get reads one object; NotFoundError when absent. */
  async get<T extends KubeObject>(kind: KindInfo, name: string, namespace?: string): Promise<T> {
    const key = objectKey(kind, name, namespace);
    const { kv } = await this.backend.get(key);
    if (!kv) {
      this.recent.delete(key);
      throw new NotFoundError(notFoundMessage(kind, name));
    }
    this.remember(key, kv.modRevision, kv.value);
    return decodeObject<T>(kv.value, kv.modRevision, key);
  }

  /** list reads a consistent snapshot, filtered by namespace and selectors, sorted by namespace then name. */
  async list<T extends KubeObject>(kind: KindInfo, opts: ListOptions = {}): Promise<ListResult<T>> {
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, supportedFields(kind));
    const ns = kind.namespaced && opts.namespace ? scopedNamespace(kind, opts.namespace) : undefined;
    const { kvs, revision } = await this.backend.range(kindPrefix(kind, ns));
    const items = kvs
      .map((kv) => decodeObject<T>(kv.value, kv.modRevision, kv.key))
      .filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
    items.sort((a, b) => cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || cmp(a.metadata.name, b.metadata.name));
    return { items, resourceVersion: String(revision) };
  }

  /** update writes at metadata.resourceVersion (ConflictError if stale); see prepareUpdate for the merge rules. */
  async update<T extends KubeObject>(kind: KindInfo, obj: T, opts: UpdateOptions = {}): Promise<T> {
    const rv = obj.metadata?.resourceVersion;
    if (rv === undefined || rv === '') {
      throw new ValidationError('metadata.resourceVersion: Invalid value: 0: must be specified for an update', [
        { field: 'metadata.resourceVersion', message: 'must be specified for an update', type: 'FieldValueInvalid' },
      ]);
    }
    if (opts.subresource === 'status' && !kind.hasStatus) throw new NotFoundError(`${kind.plural} has no status subresource`);
    const name = obj.metadata.name;
    const key = objectKey(kind, name, obj.metadata.namespace);
    const known = this.recent.get(key);
    let kv: { modRevision: number; value: string } | undefined =
      known !== undefined && String(known.modRevision) === rv ? known : undefined;
    const skippedRead = kv !== undefined;
    if (!kv) {
      kv = (await this.backend.get(key)).kv;
      if (!kv) throw new NotFoundError(notFoundMessage(kind, name));
      if (String(kv.modRevision) !== rv) throw conflictError(kind, name);
    }
    const stored = decodeObject<T>(kv.value, kv.modRevision, key);
    const { object, remove } = prepareUpdate(kind, stored, obj, opts);
    if (opts.dryRun) return object;
    if (remove) {
      const res = await this.backend.deleteIf(key, { modRevision: kv.modRevision });
      this.recent.delete(key);
      if (!res.ok) throw await this.writeFailed(kind, key, name, skippedRead);
      object.metadata.resourceVersion = String(res.revision);
      return object;
    }
    const value = encodeObject(object);
    if (value === kv.value) return stored; // nothing changed: no write, no event, same resourceVersion
    const res = await this.backend.putIf(key, value, kv.modRevision);
    if (!res.ok) {
      this.recent.delete(key);
      throw await this.writeFailed(kind, key, name, skippedRead);
    }
    object.metadata.resourceVersion = String(res.revision);
    this.remember(key, res.revision, value);
    return object;
  }

  /** writeFailed is the error for a conditional write that lost: NotFound when the object is gone (checked only when the read was skipped), else Conflict. */
  private async writeFailed(kind: KindInfo, key: string, name: string, skippedRead: boolean): Promise<Error> {
    if (skippedRead && !(await this.backend.get(key)).kv) return new NotFoundError(notFoundMessage(kind, name));
    return conflictError(kind, name);
  }

  private remember(key: string, modRevision: number, value: string): void {
    this.recent.delete(key);
    this.recent.set(key, { modRevision, value });
    if (this.recent.size > RECENT_MAX) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
  }

  /**
   * delete removes the object, or only sets deletionTimestamp (once) while it
   * has finalizers. Writes are conditional on the read revision and retried
   * on a race, so a concurrent update is never lost.
   */
  async delete<T extends KubeObject>(
    kind: KindInfo,
    name: string,
    namespace: string | undefined,
    opts: DeleteOptions = {},
  ): Promise<DeleteResult<T>> {
    const key = objectKey(kind, name, namespace);
    this.recent.delete(key);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { kv } = await this.backend.get(key);
      if (!kv) throw new NotFoundError(notFoundMessage(kind, name));
      const stored = decodeObject<T>(kv.value, kv.modRevision, key);
      const conflict = preconditionConflict(kind, stored, opts);
      if (conflict) throw conflict;
      if ((stored.metadata.finalizers ?? []).length > 0) {
        if (stored.metadata.deletionTimestamp !== undefined) return { object: stored, deleted: false };
        const next = clone(stored);
        next.metadata.deletionTimestamp = rfc3339(this.now());
        next.metadata.deletionGracePeriodSeconds = 0;
        if (opts.dryRun) return { object: next, deleted: false };
        const res = await this.backend.putIf(key, encodeObject(next), kv.modRevision);
        if (res.ok) {
          next.metadata.resourceVersion = String(res.revision);
          return { object: next, deleted: false };
        }
        continue;
      }
      if (opts.dryRun) return { object: stored, deleted: true };
      const res = await this.backend.deleteIf(key, { modRevision: kv.modRevision });
      if (res.ok) {
        stored.metadata.resourceVersion = String(res.revision);
        return { object: stored, deleted: true };
      }
    }
    throw conflictError(kind, name);
  }

  /** watch streams changes of `kind` after `fromRevision`; DELETED carries the last state at the deletion revision. */
  watch<T extends KubeObject>(kind: KindInfo, opts: WatchOptions): Observable<WatchEvent<T>> {
    const from = parseRevision(opts.fromRevision, 'resourceVersion');
    const nsPrefix = kind.namespaced && opts.namespace ? kindPrefix(kind, scopedNamespace(kind, opts.namespace)) : undefined;
    return this.backend.watch(kindPrefix(kind), from).pipe(
      filter((ev) => nsPrefix === undefined || ev.kv.key.startsWith(nsPrefix)),
      map((ev) => toWatchEvent<T>(kind, ev)),
    );
  }

  /** currentRevision is the backend's latest revision. */
  async currentRevision(): Promise<string> {
    return String(await this.backend.currentRevision());
  }

  /** grantLease creates a lease with `ttlSeconds`, kept alive only by the caller. */
  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.backend.grantLease(ttlSeconds);
  }

  /** close ends watches and connections. */
  close(): Promise<void> {
    return this.backend.close();
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toWatchEvent<T extends KubeObject>(kind: KindInfo, ev: KvEvent): WatchEvent<T> {
  const revision = String(ev.revision);
  if (ev.type === 'PUT') {
    const object = decodeObject<T>(ev.kv.value, ev.kv.modRevision, ev.kv.key);
    return { type: ev.kv.createRevision === ev.kv.modRevision ? 'ADDED' : 'MODIFIED', object, revision };
  }
  if (ev.prev) {
    const object = decodeObject<T>(ev.prev.value, ev.revision, ev.kv.key);
    return { type: 'DELETED', object, revision };
  }
  // the previous value was compacted away: all we know is the name
  const { name, namespace } = nameFromKey(kind, ev.kv.key);
  const metadata = namespace === undefined ? { name, resourceVersion: revision } : { name, namespace, resourceVersion: revision };
  return { type: 'DELETED', object: { apiVersion: kind.apiVersion, kind: kind.kind, metadata } as T, revision };
}
