/**
 * ApiServer: the Kubernetes-compatible HTTP(S) API of Cloudlet
 * (KUBECTL-API.md). The real kubectl and @kubernetes/client-node use it
 * unmodified.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { UserInfo } from '../auth/identity.js';
import type { CredentialCache } from '../auth/credentials.js';
import type { RequestAttributes } from '../auth/rbac.js';
import {
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  TimeoutError,
  TooManyRequestsError,
  asCloudletError,
  HTTP_STATUS,
  KUBE_REASON,
} from '../errors.js';
import type { KindRegistry } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Store } from '../store/types.js';
import { Authenticator } from './authn.js';
import { RbacCache, requestAttributes, type Authorizer } from './authz.js';
import { Admission } from './admission.js';
import { buildAuditEvent, nowMicros, policy, type AuditEvent, type AuditRecord } from '../audit/audit-event.js';
import { answerReview } from './handlers-review.js';
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
  /** attributes: what RBAC decides on for a non-public route (default: the non-resource path and method) */
  attributes?: RequestAttributes;
  /** authorizesItself: the handler decides from the body, calling `authorize` (e.g. a member may remove itself) */
  authorizesItself?: boolean;
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    user: UserInfo | undefined,
    authorize: (attrs: RequestAttributes) => void,
  ): Promise<void>;
}

/** ApiServerOptions: the store and kinds to serve, who may call, and optional TLS. */
export interface ApiServerOptions {
  store: Store;
  kinds: KindRegistry;
  logger: Logger;
  metrics: Metrics;
  /** bootstrap admin tokens (group system:masters) and, in a daemon, the issued tokens and certificate deny list */
  auth: { tokens?: string[]; credentials?: CredentialCache };
  /** authorizer (default: RBAC over the Role and binding objects in `store`) */
  authorizer?: Authorizer;
  /** audit receives every mutating request and every refusal (lib/audit/audit-log.ts; `policy` decides) */
  audit?: { record(event: AuditEvent): void };
  /** maxInFlightPerUser: requests (watches excepted) one user may have open; more get 429 (default 200) */
  maxInFlightPerUser?: number;
  /** requestTimeoutMs: a request other than a watch is answered 504 after this long (default 60 s; `?timeout=` may shorten it) */
  requestTimeoutMs?: number;
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
  private readonly authn: Authenticator;
  private readonly authz: Authorizer;
  private readonly rbac: RbacCache | undefined;
  private readonly inFlight = new Map<string, number>();
  private readonly log: Logger;

  /** constructor compiles every kind's schema; nothing listens until listen(). */
  constructor(private readonly opts: ApiServerOptions) {
    const now = opts.now ?? (() => new Date());
    this.log = opts.logger.child({ component: 'api' });
    this.authn = new Authenticator({
      adminTokens: opts.auth.tokens ?? [],
      ...(opts.auth.credentials ? { credentials: opts.auth.credentials } : {}),
    });
    this.rbac = opts.authorizer ? undefined : new RbacCache({ store: opts.store, logger: this.log, metrics: opts.metrics });
    this.authz = opts.authorizer ?? (this.rbac as RbacCache);
    this.deps = {
      store: opts.store,
      validator: new SchemaValidator(opts.kinds.all()),
      logger: this.log,
      now,
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
      watchClosers: new Set(),
      admission: new Admission({ store: opts.store, kinds: opts.kinds, logger: this.log, authz: this.authz }),
    };
    this.meta = new MetaDocuments(opts.kinds);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res);
    };
    // requestCert: kubectl's client certificates are checked against `ca` (the cluster CA); a client without one still connects.
    this.server = opts.tls
      ? createHttpsServer(
          { key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca, requestCert: opts.tls.ca !== undefined, rejectUnauthorized: false },
          handler,
        )
      : createHttpServer(handler);
    this.server.keepAliveTimeout = 65_000;
    this.server.requestTimeout = 0;
  }

  /** listen binds `host:port` (port 0 picks a free one) and resolves with the bound port. */
  async listen(host = '127.0.0.1', port = 0): Promise<{ port: number }> {
    // Nothing is served before the RBAC caches hold every binding: a request must never be judged on half of them.
    await this.rbac?.start();
    await this.deps.admission.start();
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
    await this.rbac?.stop();
    await this.deps.admission.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const receivedMicros = nowMicros();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://cloudlet');
    let r: Route = { type: 'notFound' };
    let verb = method.toLowerCase();
    let rr: ResourceRequest | undefined;
    let user: UserInfo | undefined;
    let attrs: RequestAttributes | undefined;
    let decision: { allowed: boolean; reason: string } | undefined;
    let release: (() => void) | undefined;
    let failure: { reason: string; message: string } | undefined;
    try {
      const extra = this.opts.extraRoutes?.find((x) => x.method === method && x.path === url.pathname);
      if (extra) {
        attrs = extra.attributes ?? { verb: method.toLowerCase(), path: url.pathname };
        const authorize = (a: RequestAttributes): void => {
          if (!user) throw new ForbiddenError('forbidden: the request is not authenticated');
          const d = this.authz.authorize(user, a);
          decision = d;
          this.enforce(d, r);
        };
        if (!extra.public) {
          user = await this.authn.authenticate(req);
          if (!extra.authorizesItself) authorize(attrs);
          release = this.admit(user);
        }
        await extra.handle(req, res, user, authorize);
        return;
      }
      r = routeOf(this.opts.kinds, url.pathname);
      verb = verbOf(method, r, url.searchParams);
      if (r.type === 'health') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      user = await this.authn.authenticate(req);
      attrs = requestAttributes(r, verb, url.pathname, method);
      const d = this.authz.authorize(user, attrs);
      decision = d;
      this.enforce(d, r);
      if (verb !== 'watch') release = this.admit(user);
      if (r.type === 'metrics') {
        const text = await this.opts.metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.opts.metrics.registry.contentType });
        res.end(text);
        return;
      }
      if (r.type === 'resource') {
        rr = { req, res, route: r, query: url.searchParams, user };
        const work = r.kind.virtual ? answerReview(this.deps, rr, verb, this.authz) : this.handleResource(rr, verb);
        await (verb === 'watch' ? work : this.withRequestTimeout(work, url.searchParams));
        return;
      }
      if (!this.meta.serve(r, req, res)) throw new NotFoundError('the server could not find the requested resource');
    } catch (err) {
      failure = this.fail(res, err, r, rr?.objectName);
    } finally {
      release?.();
      const code = String(res.statusCode);
      const resource = resourceLabel(r);
      this.opts.metrics.apiRequests.inc({ verb, resource, code });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (verb !== 'watch') this.opts.metrics.apiLatency.observe({ verb, resource }, seconds);
      if (this.opts.audit && policy({ verb, code: res.statusCode })) {
        this.opts.audit.record(
          buildAuditEvent(this.auditRecord(req, verb, r, attrs, user, decision, res.statusCode, receivedMicros, rr?.objectName, failure)),
        );
      }
    }
  }

  /** enforce throws a Kubernetes-style Forbidden unless the authorizer allowed the request. */
  private enforce(decision: { allowed: boolean; reason: string }, r: Route): void {
    if (!decision.allowed) {
      if (r.type === 'resource') {
        const what = r.kind.group ? `${r.kind.plural}.${r.kind.group}` : r.kind.plural;
        throw new ForbiddenError(`${what}${r.name !== undefined ? ` "${r.name}"` : ''} is forbidden: ${decision.reason}`);
      }
      throw new ForbiddenError(`forbidden: ${decision.reason}`);
    }
  }

  /** admit counts a request against its user's in-flight limit; returns the release, or throws 429. */
  private admit(user: UserInfo): () => void {
    const limit = this.opts.maxInFlightPerUser ?? 200;
    const n = this.inFlight.get(user.name) ?? 0;
    if (n >= limit) {
      throw new TooManyRequestsError(`too many requests in flight for user "${user.name}" (limit ${limit}); retry shortly`, {
        retryAfterSeconds: 1,
      });
    }
    this.inFlight.set(user.name, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(user.name) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(user.name);
      else this.inFlight.set(user.name, left);
    };
  }

  /** withRequestTimeout fails with 504 when `work` takes longer than the server's limit or the request's `timeout`. */
  private async withRequestTimeout(work: Promise<void>, query: URLSearchParams): Promise<void> {
    let ms = this.opts.requestTimeoutMs ?? 60_000;
    const asked = query.get('timeout');
    if (asked !== null) {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(asked);
      if (m) ms = Math.min(ms, Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000));
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`the request did not complete within ${ms / 1000}s`)), ms);
    });
    try {
      await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined);
    }
  }

  private auditRecord(
    req: IncomingMessage,
    verb: string,
    r: Route,
    attrs: RequestAttributes | undefined,
    user: UserInfo | undefined,
    decision: { allowed: boolean; reason: string } | undefined,
    code: number,
    receivedMicros: number,
    objectName: string | undefined,
    failure: { reason: string; message: string } | undefined,
  ): AuditRecord {
    const record: AuditRecord = {
      requestURI: (req.url ?? '/').slice(0, 2048),
      verb,
      sourceIPs: [req.socket.remoteAddress ?? ''],
      code,
      receivedMicros,
    };
    const auditId = req.headers['audit-id'];
    if (typeof auditId === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(auditId)) record.auditID = auditId;
    if (user) record.user = user;
    const ua = req.headers['user-agent'];
    if (ua) record.userAgent = ua.slice(0, 256);
    if (r.type === 'resource') {
      record.objectRef = { resource: r.kind.plural, apiGroup: r.kind.group, apiVersion: r.kind.version };
      if (r.namespace !== undefined) record.objectRef.namespace = r.namespace;
      const name = r.name ?? objectName;
      if (name !== undefined) record.objectRef.name = name;
      if (r.subresource) record.objectRef.subresource = r.subresource;
    } else if (attrs && !('path' in attrs)) {
      record.objectRef = { resource: attrs.resource, apiGroup: attrs.apiGroup };
    }
    if (decision) {
      record.decision = decision.allowed ? 'allow' : 'forbid';
      record.authorizationReason = decision.reason;
    }
    if (failure) {
      record.reason = failure.reason;
      record.message = failure.message.slice(0, 1024);
    }
    return record;
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

  /** fail answers with the error's Status; returns its reason and message for the audit log. */
  private fail(res: ServerResponse, err: unknown, r: Route, objectName: string | undefined): { reason: string; message: string } {
    const e = asCloudletError(err);
    const name = r.type === 'resource' ? (r.name ?? objectName) : undefined;
    const ctx = r.type === 'resource' ? { kind: r.kind, ...(name !== undefined ? { name } : {}) } : {};
    if (HTTP_STATUS[e.code] >= 500) this.log.error('request failed', { error: e.message, code: e.code });
    if (res.headersSent) {
      res.end();
      return { reason: KUBE_REASON[e.code], message: e.message };
    }
    const status = statusOf(e, ctx);
    if (e instanceof ForbiddenError && r.type !== 'resource') delete status.details;
    const retryAfter = status.details?.retryAfterSeconds;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    sendJson(res, status.code, status);
    return { reason: status.reason, message: status.message };
  }
}
