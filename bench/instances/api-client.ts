/**
 * A small HTTPS client for the benchmark: it reads the daemon's kubeconfig
 * (server, cluster CA, bearer token), sends JSON requests over keep-alive
 * connections and follows one watch stream per kind, reconnecting from the
 * last resourceVersion when the server ends it. Every watch event carries the
 * local time it was read, so the benchmark times what a watcher sees.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request, type RequestOptions } from 'node:https';
import { parse } from 'yaml';
import type { KubeObject } from '../../lib/store/types.js';

/** ApiResponse is a status code and the body text. */
export interface ApiResponse {
  status: number;
  text: string;
}

/** WatchEvent is one decoded watch line with the time (performance.now()) it was read. */
export interface WatchEvent {
  type: string;
  object: KubeObject;
  at: number;
}

interface Kubeconfig {
  clusters?: Array<{ cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ user?: { token?: string } }>;
}

/** BenchApiClient talks to one daemon's API; see the file comment. */
export class BenchApiClient {
  private readonly agent: Agent;
  private readonly watches = new Set<{ close(): void }>();

  private constructor(
    readonly server: URL,
    private readonly ca: string | undefined,
    private readonly token: string,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, ca });
  }

  /** BenchApiClient.fromKubeconfig reads server, CA and token from a kubeconfig written by `cloudlet up`. */
  static async fromKubeconfig(path: string, opts: { maxSockets?: number } = {}): Promise<BenchApiClient> {
    const cfg = parse(await readFile(path, 'utf8')) as Kubeconfig;
    const cluster = cfg.clusters?.[0]?.cluster;
    const token = cfg.users?.[0]?.user?.token;
    if (!cluster?.server || !token) throw new Error(`${path} has no server or token`);
    const caData = cluster['certificate-authority-data'];
    const ca = caData ? Buffer.from(caData, 'base64').toString('utf8') : undefined;
    return new BenchApiClient(new URL(cluster.server), ca, token, opts.maxSockets ?? 32);
  }

  private options(method: string, path: string, extra: Record<string, string | number> = {}): RequestOptions {
    return {
      host: this.server.hostname,
      port: this.server.port,
      method,
      path,
      agent: this.agent,
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...extra },
    };
  }

  /** call sends one request with an optional JSON body and resolves with status and body. */
  call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = data ? { 'content-type': 'application/json', 'content-length': data.length } : {};
      const req = request(this.options(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  /** must sends a request and throws unless the status is one of `ok`; resolves with the parsed body. */
  async must<T = unknown>(method: string, path: string, body: unknown, ok: number[]): Promise<T> {
    const r = await this.call(method, path, body);
    if (!ok.includes(r.status)) throw new Error(`${method} ${path} answered ${r.status}: ${r.text.slice(0, 400)}`);
    return (r.text ? JSON.parse(r.text) : undefined) as T;
  }

  /**
   * watch follows `path` (a collection) from `resourceVersion`, calling
   * onEvent for every event; it reconnects from the last seen version when
   * the stream ends, until close().
   */
  watch(path: string, resourceVersion: string, onEvent: (ev: WatchEvent) => void): { close(): void } {
    let rv = resourceVersion;
    let closed = false;
    let current: ReturnType<typeof request> | undefined;
    const connect = (): void => {
      if (closed) return;
      const sep = path.includes('?') ? '&' : '?';
      const req = request(this.options('GET', `${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`), (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          res.on('end', () => setTimeout(connect, 200));
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line) as { type: string; object: KubeObject };
            if (ev.object.metadata.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type === 'BOOKMARK') continue;
            onEvent({ type: ev.type, object: ev.object, at });
          }
        });
        res.on('end', () => setTimeout(connect, 0));
        res.on('error', () => undefined);
      });
      req.on('error', () => {
        if (!closed) setTimeout(connect, 200);
      });
      req.end();
      current = req;
    };
    connect();
    const handle = {
      close: (): void => {
        closed = true;
        current?.destroy();
        this.watches.delete(handle);
      },
    };
    this.watches.add(handle);
    return handle;
  }

  /** close ends every watch and the keep-alive connections. */
  close(): void {
    for (const w of [...this.watches]) w.close();
    this.agent.destroy();
  }
}
