/**
 * EtcdBackend is the KVBackend on a real etcd through the etcd3 client's raw
 * gRPC clients: every call is one round trip, timed into
 * metrics.etcdRoundTrips and translated by translateEtcdError. Watches go
 * through one WatchHub per prefix. Leases are never kept alive
 * automatically: the caller drives keepAliveOnce(). Calls are never retried;
 * with several endpoints, one that was just unreachable is passed by
 * (EndpointHealth).
 */
import { readFileSync } from 'node:fs';
import type { Observable } from 'rxjs';
import { CompareResult, CompareTarget, Etcd3, type IOptions, type ITxnRequest } from 'etcd3';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { NotFoundError } from '../errors.js';
import type { KV, KVBackend, KvEvent, TxnResult } from './backend.js';
import { translateEtcdError } from './etcd-errors.js';
import { prefixEnd, resilientWatch, toKV } from './etcd-watch.js';
import type { Lease } from './types.js';
import { WatchHub } from './watch-hub.js';
import { EndpointHealth } from './endpoint-health.js';

/** EtcdTlsOptions are PEM file paths for a TLS connection to etcd. */
export interface EtcdTlsOptions {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

/** etcdCredentials reads the PEM files of `tls` into the etcd3 client's credentials (undefined: plain connection). */
export function etcdCredentials(tls: EtcdTlsOptions | undefined): IOptions['credentials'] {
  if (!tls) return undefined;
  return {
    rootCertificate: readFileSync(tls.caFile),
    certChain: tls.certFile ? readFileSync(tls.certFile) : undefined,
    privateKey: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
  };
}

/** EtcdBackendOptions: endpoints such as `http://127.0.0.1:2379`, optional TLS, logger, metrics. */
export interface EtcdBackendOptions {
  endpoints: string[];
  tls?: EtcdTlsOptions;
  logger: Logger;
  metrics?: Metrics;
  /** callTimeoutMs bounds every unary call (default 10 s) */
  callTimeoutMs?: number;
  /** watchWindow is the number of recent events each watch hub keeps (default 5000) */
  watchWindow?: number;
}

type Policy = NonNullable<ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>>;

/** passThrough runs every call once: no retries, no circuit breaker (callers and reconcilers retry). */
const passThrough = {
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: async <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T) =>
    fn({ signal: new AbortController().signal, attempt: 0 }),
} as unknown as Policy;

/** EtcdBackend: see the file comment. */
export class EtcdBackend implements KVBackend {
  /** client is the etcd3 client; only lib/store may touch it. */
  readonly client: Etcd3;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly hubs = new Map<string, WatchHub>();
  private readonly watchWindow: number;
  private readonly health: EndpointHealth | undefined;

  constructor(opts: EtcdBackendOptions) {
    this.log = opts.logger.child({ component: 'store' });
    this.metrics = opts.metrics;
    this.watchWindow = opts.watchWindow ?? 5000;
    const timeout = opts.callTimeoutMs ?? 10_000;
    const hosts = opts.endpoints.map((e) => e.replace(/^https?:\/\//, ''));
    const health = hosts.length > 1 ? new EndpointHealth({ endpoints: hosts }) : undefined;
    this.health = health;
    this.client = new Etcd3({
      hosts,
      credentials: etcdCredentials(opts.tls),
      // Several endpoints (an etcd-client member): pass an unreachable one by for a moment (endpoint-health.ts).
      faultHandling: { host: (h) => (health ? (health.policy(h) as unknown as Policy) : passThrough), global: passThrough },
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      return await fn();
    } catch (err) {
      throw translateEtcdError(err, op);
    } finally {
      this.metrics?.etcdRoundTrips.observe({ op }, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  async get(key: string): Promise<{ kv?: KV; revision: number }> {
    const res = await this.call('get', () => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    return { kv: kv ? toKV(kv) : undefined, revision: Number(res.header.revision) };
  }

  async range(prefix: string): Promise<{ kvs: KV[]; revision: number }> {
    const key = Buffer.from(prefix);
    const res = await this.call('range', () => this.client.kv.range({ key, range_end: prefixEnd(key) }));
    return { kvs: res.kvs.map(toKV), revision: Number(res.header.revision) };
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    const res = await this.call('put', () => this.client.kv.put({ key: Buffer.from(key), value: Buffer.from(value), lease }));
    return Number(res.header.revision);
  }

  async putIf(key: string, value: string, modRevision: number, lease?: string): Promise<TxnResult> {
    const k = Buffer.from(key);
    const req: ITxnRequest = {
      compare: [{ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: modRevision }],
      success: [{ request_put: { key: k, value: Buffer.from(value), lease } }],
    };
    const res = await this.call('txn', () => this.client.kv.txn(req));
    return { ok: res.succeeded, revision: Number(res.header.revision) };
  }

  async deleteIf(key: string, cond: { modRevision?: number; value?: string } = {}): Promise<TxnResult> {
    const k = Buffer.from(key);
    const compare: NonNullable<ITxnRequest['compare']> = [];
    if (cond.modRevision !== undefined)
      compare.push({ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: cond.modRevision });
    if (cond.value !== undefined)
      compare.push({ key: k, target: CompareTarget.Value, result: CompareResult.Equal, value: Buffer.from(cond.value) });
    const res = await this.call('txn', () => this.client.kv.txn({ compare, success: [{ request_delete_range: { key: k } }] }));
    const deleted = res.succeeded ? Number(res.responses[0]?.response_delete_range?.deleted ?? 0) : 0;
    return { ok: deleted > 0, revision: Number(res.header.revision) };
  }

  watch(prefix: string, fromRevision: number): Observable<KvEvent> {
    let hub = this.hubs.get(prefix);
    if (!hub) {
      hub = new WatchHub({
        prefix,
        logger: this.log,
        windowSize: this.watchWindow,
        source: (p, from) => resilientWatch(this.client, p, from, this.log),
      });
      this.hubs.set(prefix, hub);
    }
    return hub.watch(fromRevision);
  }

  async currentRevision(): Promise<number> {
    const res = await this.call('get', () => this.client.kv.range({ key: Buffer.from('/cloudlet/'), keys_only: true, limit: 1 }));
    return Number(res.header.revision);
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const res = await this.call('lease-grant', () => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }));
    const id = String(res.ID);
    return {
      id,
      ttlSeconds: Number(res.TTL),
      keepAliveOnce: () => this.keepAliveOnce(id),
      revoke: () => this.revoke(id),
    };
  }

  private keepAliveOnce(id: string): Promise<number> {
    return this.call('lease-keepalive', async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        const res = await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.on('end', () => reject(new Error('UNAVAILABLE: keep-alive stream ended')));
          stream.write({ ID: id });
        });
        if (Number(res.TTL) <= 0) throw new NotFoundError(`lease ${id} not found or expired`);
        return Number(res.TTL);
      } finally {
        stream.end();
      }
    });
  }

  private async revoke(id: string): Promise<void> {
    try {
      await this.call('lease-revoke', () => this.client.leaseClient.leaseRevoke({ ID: id }));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /** compact discards history before `revision` (physical: waits until applied). */
  async compact(revision: number): Promise<void> {
    await this.call('compact', () => this.client.kv.compact({ revision, physical: true }));
  }

  async close(): Promise<void> {
    for (const hub of this.hubs.values()) hub.close();
    this.hubs.clear();
    this.health?.close();
    this.client.close();
  }
}
