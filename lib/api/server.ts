/**
 * ApiServer: the Kubernetes-compatible HTTP(S) API of Cloudlet
 * (KUBECTL-API.md). The real kubectl and @kubernetes/client-node use it
 * unmodified.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MethodNotAllowedError, NotFoundError, asCloudletError, HTTP_STATUS } from '../errors.js';
import type { KindRegistry } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Store } from '../store/types.js';
import { authenticate, tokenListVerifier, type TokenVerifier } from './auth.js';
import type { HandlerDeps, ResourceRequest } from './handler-context.js';
import { MetaDocuments } from './handlers-meta.js';
import { patchObject } from './handlers-patch.js';
import { getObject, listObjects } from './handlers-read.js';
import { createObject, deleteObject, replaceObject } from './handlers-write.js';
import { sendJson } from './request.js';
import { route as routeOf, type ResourceRoute, type Route } from './router.js';
import { SchemaValidator } from './schema.js';
import { statusOf } from './status.js';
import { watchObjects } from './watch.js';

/**
 * ExtraRoute is a non-Kubernetes endpoint the embedding program adds (the
 * daemon's join endpoints): matched by exact method and path before any
 * Kubernetes route; `public` routes skip bearer authentication (their handler
 * authenticates by other means). A thrown CloudletError becomes a Status.
 */
export interface ExtraRoute {
  method: 'GET' | 'POST';
  path: string;
  public: boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** ApiServerOptions: the store and kinds to serve, who may call, and optional TLS. */
export interface ApiServerOptions {
  store: Store;
  kinds: KindRegistry;
  logger: Logger;
  metrics: Metrics;
  /** bearer tokens accepted (`tokens`), or a verifier function (`verify`) */
  auth: { tokens?: string[]; verify?: TokenVerifier };
  /** PEM key and certificate: serve HTTPS instead of HTTP */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  /** BOOKMARK period for watches that allow bookmarks (default 60 s) */
  bookmarkIntervalMs?: number;
  /** clock (default: the system clock) */
  now?: () => Date;
  /** extraRoutes are served before the Kubernetes routes */
  extraRoutes?: ExtraRoute[];
}

function verbOf(method: string, r: Route, query: URLSearchParams): string {
  if (r.type !== 'resource') return method.toLowerCase();
  switch (method) {
    case 'GET':
      if (query.get('watch') === 'true' || query.get('watch') === '1') return 'watch';
      return r.name === undefined ? 'list' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    default:
      return method.toLowerCase();
  }
}

function resourceLabel(r: Route): string {
  if (r.type === 'resource') return r.subresource ? `${r.kind.plural}/${r.subresource}` : r.kind.plural;
  return r.type;
}

/** ApiServer serves the API over HTTP, or HTTPS when `tls` is given. */
export class ApiServer {
  private readonly server: Server;
  private readonly deps: HandlerDeps;
  private readonly meta: MetaDocuments;
  private readonly verify: TokenVerifier;
  private readonly log: Logger;

  /** constructor compiles every kind's schema; nothing listens until listen(). */
  constructor(private readonly opts: ApiServerOptions) {
    const now = opts.now ?? (() => new Date());
    this.log = opts.logger.child({ component: 'api' });
    this.deps = {
      store: opts.store,
      validator: new SchemaValidator(opts.kinds.all()),
      logger: this.log,
      now,
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
      watchClosers: new Set(),
    };
    this.meta = new MetaDocuments(opts.kinds, now());
    this.verify = opts.auth.verify ?? tokenListVerifier(opts.auth.tokens ?? []);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res);
    };
    this.server = opts.tls
      ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca }, handler)
      : createHttpServer(handler);
    this.server.keepAliveTimeout = 65_000;
    this.server.requestTimeout = 0;
  }

  /** listen binds `host:port` (port 0 picks a free one) and resolves with the bound port. */
  listen(host = '127.0.0.1', port = 0): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve({ port: (this.server.address() as AddressInfo).port });
      });
    });
  }

  /** close ends every watch, stops listening and drops open connections. */
  async close(): Promise<void> {
    for (const end of [...this.deps.watchClosers]) end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://cloudlet');
    let r: Route = { type: 'notFound' };
    let verb = method.toLowerCase();
    let rr: ResourceRequest | undefined;
    try {
      const extra = this.opts.extraRoutes?.find((x) => x.method === method && x.path === url.pathname);
      if (extra) {
        if (!extra.public) authenticate(req, this.verify);
        await extra.handle(req, res);
        return;
      }
      r = routeOf(this.opts.kinds, url.pathname);
      verb = verbOf(method, r, url.searchParams);
      if (r.type === 'health') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      authenticate(req, this.verify);
      if (r.type === 'metrics') {
        const text = await this.opts.metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.opts.metrics.registry.contentType });
        res.end(text);
        return;
      }
      if (r.type === 'resource') {
        rr = { req, res, route: r, query: url.searchParams };
        await this.handleResource(rr, verb);
        return;
      }
      if (!this.meta.serve(r, req, res)) throw new NotFoundError('the server could not find the requested resource');
    } catch (err) {
      this.fail(res, err, r, rr?.objectName);
    } finally {
      const code = String(res.statusCode);
      const resource = resourceLabel(r);
      this.opts.metrics.apiRequests.inc({ verb, resource, code });
      if (verb !== 'watch') this.opts.metrics.apiLatency.observe({ verb, resource }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async handleResource(rr: ResourceRequest, verb: string): Promise<void> {
    const rt: ResourceRoute = rr.route;
    switch (verb) {
      case 'get':
        return getObject(this.deps, rr);
      case 'list':
        return listObjects(this.deps, rr);
      case 'watch': {
        if (rt.name !== undefined) throw new MethodNotAllowedError('watch a collection with a fieldSelector on metadata.name');
        const gauge = this.opts.metrics.apiWatches;
        return watchObjects(this.deps, rr, {
          opened: () => gauge.inc({ resource: rt.kind.plural }),
          closed: () => gauge.dec({ resource: rt.kind.plural }),
        });
      }
      case 'create':
        return createObject(this.deps, rr);
      case 'update':
        return replaceObject(this.deps, rr);
      case 'patch':
        return patchObject(this.deps, rr);
      case 'delete':
        return deleteObject(this.deps, rr);
      default:
        throw new MethodNotAllowedError(`${rr.req.method ?? ''} is not allowed on ${rt.kind.plural}`);
    }
  }

  private fail(res: ServerResponse, err: unknown, r: Route, objectName: string | undefined): void {
    const e = asCloudletError(err);
    const name = r.type === 'resource' ? (r.name ?? objectName) : undefined;
    const ctx = r.type === 'resource' ? { kind: r.kind, ...(name !== undefined ? { name } : {}) } : {};
    if (HTTP_STATUS[e.code] >= 500) this.log.error('request failed', { error: e.message, code: e.code });
    if (res.headersSent) {
      res.end();
      return;
    }
    const status = statusOf(e, ctx);
    const retryAfter = status.details?.retryAfterSeconds;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    sendJson(res, status.code, status);
  }
}
