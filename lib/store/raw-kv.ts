/**
 * BackendRawKV is the untyped key space (heartbeats, locks, leader keys, IP
 * allocations) over a KVBackend.
 */
import { map, type Observable } from 'rxjs';
import { BadRequestError } from '../errors.js';
import type { KV, KVBackend } from './backend.js';
import type { Lease, RawEntry, RawEvent, RawKV } from './types.js';

/** parseRevision reads a decimal revision string; BadRequestError otherwise. */
export function parseRevision(revision: string, what = 'revision'): number {
  if (!/^\d+$/.test(revision)) throw new BadRequestError(`invalid ${what} "${revision}": must be a decimal number`);
  return Number(revision);
}

function entry(kv: KV): RawEntry {
  return { key: kv.key, value: kv.value, revision: String(kv.modRevision), lease: kv.lease };
}

/** BackendRawKV implements RawKV on a KVBackend; see RawKV for each verb's contract. */
export class BackendRawKV implements RawKV {
  constructor(private readonly backend: KVBackend) {}

  async get(key: string): Promise<RawEntry | undefined> {
    const { kv } = await this.backend.get(key);
    return kv ? entry(kv) : undefined;
  }

  async list(prefix: string): Promise<{ entries: RawEntry[]; revision: string }> {
    const { kvs, revision } = await this.backend.range(prefix);
    return { entries: kvs.map(entry), revision: String(revision) };
  }

  async put(key: string, value: string, opts?: { lease?: Lease }): Promise<string> {
    return String(await this.backend.put(key, value, opts?.lease?.id));
  }

  async claim(key: string, value: string, opts?: { lease?: Lease }): Promise<boolean> {
    return (await this.backend.putIf(key, value, 0, opts?.lease?.id)).ok;
  }

  async casPut(key: string, value: string, revision: string, opts?: { lease?: Lease }): Promise<boolean> {
    return (await this.backend.putIf(key, value, parseRevision(revision), opts?.lease?.id)).ok;
  }

  async delete(key: string, opts?: { ifValue?: string }): Promise<boolean> {
    return (await this.backend.deleteIf(key, opts?.ifValue !== undefined ? { value: opts.ifValue } : undefined)).ok;
  }

  watch(prefix: string, fromRevision: string): Observable<RawEvent> {
    return this.backend
      .watch(prefix, parseRevision(fromRevision, 'fromRevision'))
      .pipe(map((ev) => ({ type: ev.type, key: ev.kv.key, value: ev.kv.value, revision: String(ev.revision) })));
  }
}
