/**
 * MemoryBackend is a KVBackend in a Map with its own revision counter, an
 * event log for watches (trimmed by compact()), and leases that expire only
 * when a test says so (expireLease) or when its injected clock passes their
 * deadline (expireDueLeases). Watch delivery is asynchronous and ordered,
 * like etcd's.
 */
import { Observable, type Subscriber } from 'rxjs';
import { GoneError, NotFoundError } from '../errors.js';
import type { KV, KVBackend, KvEvent, TxnResult } from './backend.js';
import type { Lease } from './types.js';

interface MemoryLeaseState {
  ttl: number;
  deadline: number;
  keys: Set<string>;
}

interface Watcher {
  prefix: string;
  floor: number;
  subscriber: Subscriber<KvEvent>;
}

/** MemoryBackend: see the file comment. */
export class MemoryBackend implements KVBackend {
  private readonly data = new Map<string, KV>();
  private readonly log: KvEvent[] = [];
  private readonly leases = new Map<string, MemoryLeaseState>();
  private readonly watchers = new Set<Watcher>();
  private revision = 1;
  private compacted = 0;
  private nextLease = 0x1000;
  private readonly clock: () => number;

  constructor(opts: { clock?: () => number } = {}) {
    this.clock = opts.clock ?? (() => Date.now());
  }

  async get(key: string): Promise<{ kv?: KV; revision: number }> {
    const kv = this.data.get(key);
    return { kv: kv ? { ...kv } : undefined, revision: this.revision };
  }

  async range(prefix: string): Promise<{ kvs: KV[]; revision: number }> {
    const kvs = [...this.data.values()].filter((kv) => kv.key.startsWith(prefix)).map((kv) => ({ ...kv }));
    kvs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { kvs, revision: this.revision };
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    this.checkLease(lease);
    this.write(key, value, lease);
    return this.revision;
  }

  async putIf(key: string, value: string, modRevision: number, lease?: string): Promise<TxnResult> {
    if ((this.data.get(key)?.modRevision ?? 0) !== modRevision) return { ok: false, revision: this.revision };
    this.checkLease(lease);
    this.write(key, value, lease);
    return { ok: true, revision: this.revision };
  }

  async deleteIf(key: string, cond: { modRevision?: number; value?: string } = {}): Promise<TxnResult> {
    const kv = this.data.get(key);
    if (!kv) return { ok: false, revision: this.revision };
    if (cond.modRevision !== undefined && kv.modRevision !== cond.modRevision) return { ok: false, revision: this.revision };
    if (cond.value !== undefined && kv.value !== cond.value) return { ok: false, revision: this.revision };
    this.revision++;
    this.remove(key);
    return { ok: true, revision: this.revision };
  }

  watch(prefix: string, fromRevision: number): Observable<KvEvent> {
    return new Observable<KvEvent>((subscriber) => {
      if (fromRevision + 1 < this.compacted) {
        subscriber.error(new GoneError(`too old resource version: ${fromRevision} (${this.compacted})`));
        return undefined;
      }
      const watcher: Watcher = { prefix, floor: fromRevision, subscriber };
      const backlog = this.log.filter((ev) => ev.revision > fromRevision && ev.kv.key.startsWith(prefix));
      const last = this.revision;
      queueMicrotask(() => {
        for (const ev of backlog) if (!subscriber.closed) subscriber.next(ev);
      });
      // live events are those written after this point
      watcher.floor = Math.max(fromRevision, last);
      this.watchers.add(watcher);
      return () => this.watchers.delete(watcher);
    });
  }

  async currentRevision(): Promise<number> {
    return this.revision;
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const id = (this.nextLease++).toString();
    this.leases.set(id, { ttl: ttlSeconds, deadline: this.clock() + ttlSeconds * 1000, keys: new Set() });
    return {
      id,
      ttlSeconds,
      keepAliveOnce: async () => {
        const state = this.leases.get(id);
        if (!state) throw new NotFoundError(`lease ${id} not found or expired`);
        state.deadline = this.clock() + state.ttl * 1000;
        return state.ttl;
      },
      revoke: async () => {
        this.expireLease(id);
      },
    };
  }

  /** expireLease ends lease `id` as if its TTL ran out: every key bound to it is deleted in one revision. */
  expireLease(id: string): void {
    const state = this.leases.get(id);
    if (!state) return;
    this.leases.delete(id);
    const keys = [...state.keys].filter((k) => this.data.get(k)?.lease === id);
    if (keys.length === 0) return;
    this.revision++;
    for (const key of keys) this.remove(key);
  }

  /** expireDueLeases expires every lease whose deadline the clock has passed; returns their ids. */
  expireDueLeases(): string[] {
    const due = [...this.leases.entries()].filter(([, s]) => s.deadline <= this.clock()).map(([id]) => id);
    for (const id of due) this.expireLease(id);
    return due;
  }

  /** compact forgets history before `revision`; watches from older revisions then fail with GoneError. */
  compact(revision: number): void {
    this.compacted = Math.max(this.compacted, Math.min(revision, this.revision));
    const keepFrom = this.log.findIndex((ev) => ev.revision >= this.compacted);
    this.log.splice(0, keepFrom < 0 ? this.log.length : keepFrom);
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.subscriber.complete();
    this.watchers.clear();
  }

  private checkLease(lease: string | undefined): void {
    if (lease !== undefined && lease !== '0' && !this.leases.has(lease)) throw new NotFoundError(`lease ${lease} not found or expired`);
  }

  private write(key: string, value: string, lease: string | undefined): void {
    this.revision++;
    const prev = this.data.get(key);
    const kv: KV = { key, value, createRevision: prev?.createRevision ?? this.revision, modRevision: this.revision, lease: lease ?? '0' };
    this.data.set(key, kv);
    if (lease !== undefined && lease !== '0') this.leases.get(lease)?.keys.add(key);
    this.emit({ type: 'PUT', kv: { ...kv }, prev: prev ? { ...prev } : undefined, revision: this.revision });
  }

  private remove(key: string): void {
    const prev = this.data.get(key);
    if (!prev) return;
    this.data.delete(key);
    this.emit({
      type: 'DELETE',
      kv: { key, value: '', createRevision: 0, modRevision: this.revision, lease: '0' },
      prev,
      revision: this.revision,
    });
  }

  private emit(ev: KvEvent): void {
    this.log.push(ev);
    for (const w of this.watchers) {
      if (ev.revision > w.floor && ev.kv.key.startsWith(w.prefix)) queueMicrotask(() => w.subscriber.closed || w.subscriber.next(ev));
    }
  }
}
