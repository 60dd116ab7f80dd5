/**
 * ApiClient: the CLI's one door to a Cloudlet API server. It is built on
 * @kubernetes/client-node: KubeConfig loads the kubeconfig and applies its
 * credentials and TLS settings (RequestContext + dispatcher), and the
 * library's fetch-based HTTP layer sends the requests. The CLI needs a few
 * things the typed clients don't offer (the Table Accept header, dry runs on
 * every verb, a watch without an idle timeout), so requests are made at this
 * level rather than through KubernetesObjectApi.
 */
import type { KubeConfig, RequestContext as RequestContextType } from '@kubernetes/client-node';
import { CloudletError, InternalError, TimeoutError, UnavailableError } from '../../lib/errors.js';
import { statusError } from './status.js';
import { isStatus } from '../../lib/api/status.js';
import { markTransportFailure } from './transport.js';

/** JSON_ACCEPT asks for plain JSON objects. */
export const JSON_ACCEPT = 'application/json';
/** TABLE_ACCEPT asks for server-rendered Tables, falling back to plain JSON (what kubectl get sends). */
export const TABLE_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

/** HttpVerb is an HTTP method the CLI uses. */
export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** ApiRequest describes one request; `query` values that are undefined are left out. */
export interface ApiRequest {
  method?: HttpVerb;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

/** WatchEventLine is one line of a watch stream. */
export interface WatchEventLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

/** WatchRequest is a watch on a collection; the promise of `ApiClient.watch` settles when the stream ends. */
export interface WatchRequest {
  path: string;
  query?: Record<string, string | undefined>;
  accept?: string;
  signal?: AbortSignal;
}

/** ApiClientOptions choose the kubeconfig and the per-request timeout (0 = none). */
export interface ApiClientOptions {
  kubeconfigPath: string;
  requestTimeoutMs?: number;
}

/** ApiClient sends requests to the current context's server; errors are catalogue errors (see status.ts). */
export class ApiClient {
  private constructor(
    private readonly kc: KubeConfig,
    private readonly lib: typeof import('@kubernetes/client-node'),
    readonly server: string,
    private readonly requestTimeoutMs: number,
    /** the current context's namespace, if the kubeconfig names one */
    readonly contextNamespace: string | undefined,
  ) {}

  /** ApiClient.load reads the kubeconfig at `kubeconfigPath`; throws UnavailableError if it is missing or has no server. */
  static async load(opts: ApiClientOptions): Promise<ApiClient> {
    const { existsSync } = await import('node:fs');
    if (!existsSync(opts.kubeconfigPath)) {
      throw new UnavailableError(
        `no kubeconfig at ${opts.kubeconfigPath} (start a cluster with "cloudlet up", or pass --kubeconfig / set KUBECONFIG)`,
      );
    }
    const lib = await import('@kubernetes/client-node');
    const kc = new lib.KubeConfig();
    try {
      kc.loadFromFile(opts.kubeconfigPath);
    } catch (err) {
      throw new UnavailableError(`cannot read kubeconfig ${opts.kubeconfigPath}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new UnavailableError(`kubeconfig ${opts.kubeconfigPath} has no current cluster`);
    if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
      // client-node refuses plain-HTTP servers unless TLS verification is off; over HTTP there is
      // no TLS to verify, and kubectl accepts the same kubeconfig, so the CLI does too.
      kc.loadFromOptions({
        clusters: kc.clusters.map((c) => (c.server.startsWith('http:') ? { ...c, skipTLSVerify: true } : c)),
        users: kc.users,
        contexts: kc.contexts,
        currentContext: kc.currentContext,
      });
    }
    const namespace = kc.getContextObject(kc.currentContext)?.namespace;
    return new ApiClient(kc, lib, cluster.server.replace(/\/+$/, ''), opts.requestTimeoutMs ?? 0, namespace || undefined);
  }

  /** clusterCaPem is the current cluster's CA certificate as the kubeconfig gives it (data or file), if any. */
  async clusterCaPem(): Promise<string | undefined> {
    const c = this.kc.getCurrentCluster();
    if (c?.caData) return Buffer.from(c.caData, 'base64').toString('utf8');
    if (c?.caFile) return (await import('node:fs/promises')).readFile(c.caFile, 'utf8');
    return undefined;
  }

  /** url builds the absolute URL of `path` with `query`. */
  url(path: string, query: Record<string, string | undefined> = {}): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  /** request sends one request and returns the parsed JSON body; a non-2xx answer throws the matching catalogue error. */
  async request<T = Record<string, unknown>>(req: ApiRequest): Promise<T> {
    const method = req.method ?? 'GET';
    const ctx = await this.context(method, this.url(req.path, req.query), req.accept ?? JSON_ACCEPT);
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(typeof req.body === 'string' ? req.body : JSON.stringify(req.body));
    }
    const timeout = this.requestTimeoutMs > 0 ? AbortSignal.timeout(this.requestTimeoutMs) : undefined;
    if (timeout) ctx.setSignal(timeout);
    let status: number;
    let text: string;
    try {
      const resp = await new this.lib.IsomorphicFetchHttpLibrary().send(ctx).toPromise();
      status = resp.httpStatusCode;
      text = await resp.body.text();
    } catch (err) {
      throw this.transportError(err, timeout?.aborted === true);
    }
    const body = parseJson(text);
    if (status < 200 || status >= 300) throw statusError(status, body, `${method.toLowerCase()} ${req.path}`);
    return body as T;
  }

  /**
   * watch opens a watch stream and calls `onEvent` for each event line until
   * the server closes the stream (resolves) or `signal` aborts it (resolves).
   * An HTTP error or an ERROR event carrying a Status rejects with the matching
   * catalogue error (GoneError for 410 Expired: the caller relists).
   */
  async watch(req: WatchRequest, onEvent: (ev: WatchEventLine) => void): Promise<void> {
    const ctx = await this.context('GET', this.url(req.path, { ...req.query, watch: 'true' }), req.accept ?? JSON_ACCEPT);
    if (req.signal) ctx.setSignal(req.signal);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const resp = await new this.lib.IsomorphicFetchHttpLibrary().send(ctx).toPromise();
      if (resp.httpStatusCode !== 200) {
        throw statusError(resp.httpStatusCode, parseJson(await resp.body.text()), `watch ${req.path}`);
      }
      const stream = resp.body.stream();
      if (!stream) return;
      reader = stream.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) deliver(line, onEvent);
        }
      }
      if (buffered.trim()) deliver(buffered.trim(), onEvent);
    } catch (err) {
      if (req.signal?.aborted) return;
      if (err instanceof CloudletError) throw err;
      throw this.transportError(err, false);
    } finally {
      reader?.releaseLock();
    }
  }

  private async context(method: HttpVerb, url: string, accept: string): Promise<RequestContextType> {
    const ctx = new this.lib.RequestContext(url, method);
    ctx.setHeaderParam('Accept', accept);
    ctx.setHeaderParam('User-Agent', 'cloudlet-cli');
    try {
      await this.kc.applySecurityAuthentication(ctx);
    } catch (err) {
      throw new UnavailableError(
        `cannot use the kubeconfig's credentials for ${this.server}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    return ctx;
  }

  private transportError(err: unknown, timedOut: boolean): Error {
    if (err instanceof CloudletError) return err;
    if (timedOut || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
      return markTransportFailure(new TimeoutError(`the request to ${this.server} timed out (--request-timeout)`, { cause: err }));
    }
    const code = errnoCode(err);
    if (code === 'ECONNREFUSED') {
      return markTransportFailure(
        new UnavailableError(`the connection to the server ${this.server} was refused - did you specify the right host or port?`, {
          cause: err,
        }),
      );
    }
    const detail = err instanceof Error ? (code ? `${err.message} (${code})` : err.message) : String(err);
    return markTransportFailure(new UnavailableError(`cannot reach the server ${this.server}: ${detail}`, { cause: err }));
  }
}

function deliver(line: string, onEvent: (ev: WatchEventLine) => void): void {
  const parsed = parseJson(line) as Partial<WatchEventLine> | undefined;
  if (!parsed || typeof parsed.type !== 'string' || typeof parsed.object !== 'object' || parsed.object === null) {
    throw new InternalError(`the server sent a watch line that is not an event: ${line.slice(0, 200)}`);
  }
  if (parsed.type === 'ERROR' && isStatus(parsed.object)) {
    throw statusError(parsed.object.code ?? 500, parsed.object, 'watch');
  }
  onEvent(parsed as WatchEventLine);
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errnoCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && typeof e === 'object' && e !== null; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
