/**
 * FakeStore is a small in-memory Store for controller unit tests: objects with
 * revisions and a replayable watch history (compact() makes old revisions
 * Gone, breakWatches() errors open watches), and a raw key space with leases
 * that expire on a FakeClock (raw.failing makes a lease's renewals fail).
 */
import { Observable, Subject } from 'rxjs';
import { AlreadyExistsError, ConflictError, GoneError, NotFoundError, UnavailableError } from '../../../../lib/errors.js';
import type { KindInfo } from '../../../../lib/kinds/registry.js';
import type { Clock, TimerHandle } from '../../../../lib/controller/clock.js';
import type {
  DeleteResult,
  KubeObject,
  Lease,
  ListResult,
  RawEntry,
  RawEvent,
  RawKV,
  Store,
  WatchEvent,
  WatchOptions,
} from '../../../../lib/store/types.js';

type Stored = { kind: string; key: string; obj: KubeObject };

export class FakeStore implements Store {
  revision = 0;
  compacted = 0;
  listCalls = 0;
  writes = 0;
  private readonly objects = new Map<string, Stored>();
  private readonly history: Array<{ kind: string; ev: WatchEvent }> = [];
  private readonly live = new Subject<{ kind: string; ev: WatchEvent }>();
  private readonly watchErrors = new Subject<unknown>();
  readonly raw: FakeRawKV;

  constructor(readonly clock: Clock) {
    this.raw = new FakeRawKV(this);
  }

  private id(kind: KindInfo, name: string, ns?: string): string {
    return `${kind.plural}/${ns ?? ''}/${name}`;
  }

  private publish(kind: KindInfo, type: WatchEvent['type'], obj: KubeObject): void {
    const item = { kind: kind.plural, ev: { type, object: structuredClone(obj), revision: String(this.revision) } };
    this.history.push(item);
    this.live.next(item);
  }

  async create<T extends KubeObject>(kind: KindInfo, obj: T): Promise<T> {
    const id = this.id(kind, obj.metadata.name, obj.metadata.namespace);
    if (this.objects.has(id)) throw new AlreadyExistsError(`${obj.metadata.name} exists`);
    this.revision++;
    this.writes++;
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(this.revision);
    stored.metadata.uid ??= `uid-${this.revision}`;
    this.objects.set(id, { kind: kind.plural, key: id, obj: stored });
    this.publish(kind, 'ADDED', stored);
    return structuredClone(stored);
  }

  async get<T extends KubeObject>(kind: KindInfo, name: string, namespace?: string): Promise<T> {
    const s = this.objects.get(this.id(kind, name, namespace));
    if (!s) throw new NotFoundError(`${name} not found`);
    return structuredClone(s.obj) as T;
  }

  async list<T extends KubeObject>(kind: KindInfo): Promise<ListResult<T>> {
    this.listCalls++;
    const items = [...this.objects.values()].filter((s) => s.kind === kind.plural).map((s) => structuredClone(s.obj) as T);
    return { items, resourceVersion: String(this.revision) };
  }

  async update<T extends KubeObject>(kind: KindInfo, obj: T): Promise<T> {
    const id = this.id(kind, obj.metadata.name, obj.metadata.namespace);
    const s = this.objects.get(id);
    if (!s) throw new NotFoundError(`${obj.metadata.name} not found`);
    if (s.obj.metadata.resourceVersion !== obj.metadata.resourceVersion) throw new ConflictError('stale');
    this.revision++;
    this.writes++;
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(this.revision);
    s.obj = stored;
    this.publish(kind, 'MODIFIED', stored);
    return structuredClone(stored);
  }

  async delete<T extends KubeObject>(kind: KindInfo, name: string, namespace: string | undefined): Promise<DeleteResult<T>> {
    const id = this.id(kind, name, namespace);
    const s = this.objects.get(id);
    if (!s) throw new NotFoundError(`${name} not found`);
    this.objects.delete(id);
    this.revision++;
    this.writes++;
    const last = structuredClone(s.obj);
    last.metadata.resourceVersion = String(this.revision);
    this.publish(kind, 'DELETED', last);
    return { object: last as T, deleted: true };
  }

  /** deleteSilently removes an object without a watch event (as if the event was lost in a compaction). */
  deleteSilently(kind: KindInfo, name: string, namespace?: string): void {
    this.objects.delete(this.id(kind, name, namespace));
    this.revision++;
  }

  /** putSilently writes an object without a watch event (as if the event was lost in a compaction). */
  putSilently(kind: KindInfo, obj: KubeObject): void {
    this.revision++;
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(this.revision);
    const id = this.id(kind, obj.metadata.name, obj.metadata.namespace);
    this.objects.set(id, { kind: kind.plural, key: id, obj: stored });
  }

  /** compact makes every revision up to now Gone for new watches. */
  compact(): void {
    this.compacted = this.revision;
  }

  /** breakWatches errors every open watch with `err`. */
  breakWatches(err: unknown): void {
    this.watchErrors.next(err);
  }

  watch<T extends KubeObject>(kind: KindInfo, opts: WatchOptions): Observable<WatchEvent<T>> {
    return new Observable<WatchEvent<T>>((sub) => {
      const from = Number(opts.fromRevision);
      if (from < this.compacted) {
        sub.error(new GoneError(`revision ${from} compacted`));
        return undefined;
      }
      for (const h of this.history) if (h.kind === kind.plural && Number(h.ev.revision) > from) sub.next(h.ev as WatchEvent<T>);
      const a = this.live.subscribe((h) => {
        if (h.kind === kind.plural) sub.next(h.ev as WatchEvent<T>);
      });
      const b = this.watchErrors.subscribe((err) => sub.error(err));
      return () => {
        a.unsubscribe();
        b.unsubscribe();
      };
    });
  }

  async currentRevision(): Promise<string> {
    return String(this.revision);
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    return this.raw.grant(ttlSeconds);
  }

  async close(): Promise<void> {}
}

class FakeLease implements Lease {
  timer: TimerHandle | undefined;
  alive = true;
  constructor(
    readonly id: string,
    readonly ttlSeconds: number,
    private readonly kv: FakeRawKV,
  ) {}
  async keepAliveOnce(): Promise<number> {
    if (this.kv.failing.has(this.id)) throw new UnavailableError('etcd unreachable');
    if (!this.alive) throw new NotFoundError(`lease ${this.id} expired`);
    this.kv.arm(this);
    return this.ttlSeconds;
  }
  async revoke(): Promise<void> {
    if (this.kv.hanging.has(this.id)) return new Promise<void>(() => undefined);
    if (this.kv.failing.has(this.id)) throw new UnavailableError('etcd unreachable');
    this.kv.expire(this);
  }
}

export class FakeRawKV implements RawKV {
  readonly entries = new Map<string, RawEntry>();
  private readonly events = new Subject<RawEvent>();
  private nextLease = 1;
  readonly leases = new Map<string, FakeLease>();
  /** failing: lease ids whose keep-alives and revokes fail as if etcd were unreachable from their holder */
  readonly failing = new Set<string>();
  /** hanging: lease ids whose revoke never answers */
  readonly hanging = new Set<string>();
  constructor(readonly store: FakeStore) {}

  grant(ttlSeconds: number): FakeLease {
    const lease = new FakeLease(String(this.nextLease++), ttlSeconds, this);
    this.leases.set(lease.id, lease);
    this.arm(lease);
    return lease;
  }
  arm(lease: FakeLease): void {
    if (lease.timer) this.store.clock.clearTimeout(lease.timer);
    lease.timer = this.store.clock.setTimeout(() => this.expire(lease), lease.ttlSeconds * 1000);
  }
  expire(lease: FakeLease): void {
    if (!lease.alive) return;
    lease.alive = false;
    if (lease.timer) this.store.clock.clearTimeout(lease.timer);
    for (const e of [...this.entries.values()]) if (e.lease === lease.id) this.remove(e.key);
  }
  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.store.revision++;
    this.events.next({ type: 'DELETE', key, value: '', revision: String(this.store.revision) });
  }
  private write(key: string, value: string, lease?: Lease): string {
    this.store.revision++;
    const revision = String(this.store.revision);
    this.entries.set(key, { key, value, revision, lease: lease?.id ?? '0' });
    this.events.next({ type: 'PUT', key, value, revision });
    return revision;
  }
  async get(key: string): Promise<RawEntry | undefined> {
    return this.entries.get(key);
  }
  async list(prefix: string): Promise<{ entries: RawEntry[]; revision: string }> {
    return { entries: [...this.entries.values()].filter((e) => e.key.startsWith(prefix)), revision: String(this.store.revision) };
  }
  async put(key: string, value: string, opts?: { lease?: Lease }): Promise<string> {
    return this.write(key, value, opts?.lease);
  }
  async claim(key: string, value: string, opts?: { lease?: Lease }): Promise<boolean> {
    if (this.entries.has(key)) return false;
    if (opts?.lease && !this.leases.get(opts.lease.id)?.alive) throw new NotFoundError('lease not found');
    this.write(key, value, opts?.lease);
    return true;
  }
  async casPut(key: string, value: string, revision: string, opts?: { lease?: Lease }): Promise<boolean> {
    if ((this.entries.get(key)?.revision ?? '0') !== revision) return false;
    this.write(key, value, opts?.lease);
    return true;
  }
  async delete(key: string, opts?: { ifValue?: string }): Promise<boolean> {
    const e = this.entries.get(key);
    if (!e || (opts?.ifValue !== undefined && e.value !== opts.ifValue)) return false;
    this.remove(key);
    return true;
  }
  watch(prefix: string, fromRevision: string): Observable<RawEvent> {
    return new Observable<RawEvent>((sub) => {
      const s = this.events.subscribe((ev) => {
        if (ev.key.startsWith(prefix) && Number(ev.revision) > Number(fromRevision)) sub.next(ev);
      });
      return () => s.unsubscribe();
    });
  }
}
