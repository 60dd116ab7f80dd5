/**
 * One etcd watch over a key prefix on its own gRPC stream (with prevKv), as
 * an Observable of KvEvent. A compacted start revision errors with
 * GoneError; a broken stream errors with UnavailableError (the caller
 * decides whether to resume). resilientWatch resumes after outages.
 */
import { Observable, type Subscription } from 'rxjs';
import type { Etcd3, IKeyValue, IWatchResponse } from 'etcd3';
import type { Logger } from '../log/logger.js';
import { GoneError, UnavailableError, isCode } from '../errors.js';
import type { KV, KvEvent } from './backend.js';
import { translateEtcdError } from './etcd-errors.js';
import { backoffDelay } from '../controller/backoff.js';

/** prefixEnd is the etcd range end covering every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** toKV converts an etcd key-value to ours. */
export function toKV(kv: IKeyValue): KV {
  return {
    key: kv.key.toString(),
    value: kv.value ? kv.value.toString() : '',
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: String(kv.lease ?? '0'),
  };
}

/** etcdWatch opens one watch of `prefix` from `startRevision` (inclusive). */
export function etcdWatch(client: Etcd3, prefix: string, startRevision: number): Observable<KvEvent> {
  return new Observable<KvEvent>((subscriber) => {
    let closed = false;
    let stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | undefined;
    const key = Buffer.from(prefix);
    client.watchClient.watch().then(
      (s) => {
        if (closed) {
          close(s);
          return;
        }
        stream = s;
        s.on('data', (res: IWatchResponse) => {
          if (res.compact_revision && res.compact_revision !== '0') {
            subscriber.error(new GoneError(`too old resource version: ${startRevision - 1} (${res.compact_revision})`));
            return;
          }
          if (res.canceled) {
            subscriber.error(new UnavailableError(`etcd watch of ${prefix} canceled: ${res.cancel_reason || 'no reason given'}`));
            return;
          }
          for (const ev of res.events) {
            const kv = toKV(ev.kv);
            const prev = ev.prev_kv ? toKV(ev.prev_kv) : undefined;
            const t = String(ev.type).toUpperCase();
            const type = t === 'DELETE' || t === '1' ? 'DELETE' : 'PUT';
            subscriber.next({ type, kv, prev, revision: kv.modRevision });
          }
        });
        s.on('error', (err) => subscriber.error(translateEtcdError(err, 'watch')));
        s.on('end', () => subscriber.error(new UnavailableError(`etcd watch stream of ${prefix} ended`)));
        s.write({ create_request: { key, range_end: prefixEnd(key), start_revision: startRevision, prev_kv: true } });
      },
      (err: unknown) => subscriber.error(translateEtcdError(err, 'watch')),
    );
    return () => {
      closed = true;
      if (stream) close(stream);
    };
  });
}

/** close half-closes before cancelling, so the pool does not take the cancel for a failed connection. */
function close(stream: { end(): void; cancel(): void; on(event: 'error', fn: (err: Error) => void): unknown }): void {
  stream.on('error', () => undefined);
  stream.end();
  stream.cancel();
}

/**
 * resilientWatch delivers events of `prefix` with revision > fromRevision,
 * reopening the etcd watch after the last delivered revision when the
 * stream breaks (backoff 100 ms doubling to 5 s). GoneError ends it.
 */
export function resilientWatch(client: Etcd3, prefix: string, fromRevision: number, log: Logger): Observable<KvEvent> {
  return new Observable<KvEvent>((subscriber) => {
    let last = fromRevision;
    let inner: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let failures = 0;
    const open = (): void => {
      inner = etcdWatch(client, prefix, last + 1).subscribe({
        next: (ev) => {
          failures = 0;
          last = Math.max(last, ev.revision);
          subscriber.next(ev);
        },
        error: (err: unknown) => {
          if (!isCode(err, 'Unavailable')) {
            subscriber.error(err);
            return;
          }
          const delay = backoffDelay(++failures, { initialMs: 100, maxMs: 5000, jitter: 0 });
          log.warn('etcd watch broke; resuming', { prefix, fromRevision: last, delayMs: delay, error: (err as Error).message });
          timer = setTimeout(open, delay);
        },
      });
    };
    open();
    return () => {
      clearTimeout(timer);
      inner?.unsubscribe();
    };
  });
}
