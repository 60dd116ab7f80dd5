/**
 * A harness for API integration tests: an in-process ApiServer over a given
 * store, plus small HTTP helpers (JSON requests and line-by-line watches).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { ApiServer } from '../../../lib/api/server.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import type { Store } from '../../../lib/store/types.js';

/** TOKEN is the bearer token the harness server accepts. */
export const TOKEN = 'test-token-0123456789';

/** Reply is a response: status, headers and the parsed JSON body (or text). */
export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  text: string;
}

/** ApiHarness is a running server and helpers to call it. */
export interface ApiHarness {
  server: ApiServer;
  port: number;
  base: string;
  call(
    method: string,
    path: string,
    opts?: { body?: unknown; raw?: string; contentType?: string; accept?: string; token?: string | null },
  ): Promise<Reply>;
  watch(path: string, opts?: { accept?: string }): Promise<WatchStream>;
  close(): Promise<void>;
}

/** WatchStream reads watch events one line at a time. */
export interface WatchStream {
  status: number;
  next(timeoutMs?: number): Promise<{ type: string; object: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): void;
}

/** startApi starts an ApiServer on a free loopback port over `store`. */
export async function startApi(
  store: Store,
  opts: { bookmarkIntervalMs?: number; maxInFlightPerUser?: number; requestTimeoutMs?: number } = {},
): Promise<ApiHarness> {
  const server = new ApiServer({
    store,
    kinds: KindRegistry.load(),
    logger: silentLogger(),
    metrics: createMetrics(),
    auth: { tokens: [TOKEN] },
    ...(opts.bookmarkIntervalMs ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
    ...(opts.maxInFlightPerUser ? { maxInFlightPerUser: opts.maxInFlightPerUser } : {}),
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  });
  const { port } = await server.listen('127.0.0.1', 0);
  const base = `http://127.0.0.1:${port}`;
  const streams = new Set<WatchStream>();
  return {
    server,
    port,
    base,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = {};
      if (o.token !== null) headers.authorization = `Bearer ${o.token ?? TOKEN}`;
      if (o.accept) headers.accept = o.accept;
      let body: string | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
      const res = await fetch(`${base}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    watch(path, o = {}) {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
        if (o.accept) headers.accept = o.accept;
        const req = httpRequest(`${base}${path}`, { headers }, (res: IncomingMessage) => {
          let buf = '';
          const lines: string[] = [];
          const waiters: Array<(line: string | undefined) => void> = [];
          let ended = false;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let i: number;
            while ((i = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              const w = waiters.shift();
              if (w) w(line);
              else lines.push(line);
            }
          });
          res.on('end', () => {
            ended = true;
            for (const w of waiters.splice(0)) w(undefined);
          });
          res.on('error', () => undefined);
          const stream: WatchStream = {
            status: res.statusCode ?? 0,
            next(timeoutMs = 5000) {
              return new Promise((ok, fail) => {
                const have = lines.shift();
                if (have !== undefined) return ok(JSON.parse(have));
                if (ended) return fail(new Error('the watch stream ended'));
                const t = setTimeout(() => fail(new Error(`no watch event within ${timeoutMs} ms`)), timeoutMs);
                waiters.push((line) => {
                  clearTimeout(t);
                  if (line === undefined) fail(new Error('the watch stream ended'));
                  else ok(JSON.parse(line));
                });
              });
            },
            close() {
              req.destroy();
              streams.delete(stream);
            },
          };
          streams.add(stream);
          resolve(stream);
        });
        req.on('error', reject);
        req.end();
      });
    },
    async close() {
      for (const s of [...streams]) s.close();
      await server.close();
    },
  };
}
