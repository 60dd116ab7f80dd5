/**
 * The non-resource endpoints: version, discovery and OpenAPI.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MethodNotAllowedError, NotFoundError } from '../errors.js';
import type { KindRegistry } from '../kinds/registry.js';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedVersionOf,
  legacyApiVersions,
  legacyGroupList,
  legacyResourceList,
} from './discovery.js';
import { openapiDocument, openapiIndex } from './openapi.js';
import { sendJson } from './request.js';
import type { Route } from './router.js';

/** VERSION_INFO is what `/version` answers: minor 32 makes the gcloud kubectl dispatcher pick kubectl 1.32. */
export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-cloudlet.0.1.0',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'n/a',
  compiler: 'node',
  platform: `${process.platform}/${process.arch}`,
};

/** MetaDocuments caches the documents that depend only on the kind registry. */
export class MetaDocuments {
  private readonly cache = new Map<string, string>();
  constructor(private readonly kinds: KindRegistry) {}

  private cached(key: string, make: () => unknown): string | undefined {
    let text = this.cache.get(key);
    if (text === undefined) {
      const doc = make();
      if (doc === undefined) return undefined;
      text = JSON.stringify(doc);
      this.cache.set(key, text);
    }
    return text;
  }

  /** serve answers a non-resource route; returns false when the route is not one of these. */
  serve(route: Route, req: IncomingMessage, res: ServerResponse): boolean {
    const send = (text: string | undefined, contentType = 'application/json'): void => {
      if (text === undefined) throw new NotFoundError('the server could not find the requested resource');
      res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (route.type !== 'notFound' && route.type !== 'resource' && req.method !== 'GET' && req.method !== 'HEAD') {
      throw new MethodNotAllowedError(`${req.method ?? ''} is not allowed on this path`);
    }
    switch (route.type) {
      case 'version':
        sendJson(res, 200, VERSION_INFO);
        return true;
      case 'api':
      case 'apis': {
        const v = aggregatedVersionOf(req.headers.accept);
        if (v) {
          const which = route.type === 'api' ? 'core' : 'apis';
          send(
            this.cached(`agg-${which}-${v}`, () => aggregatedDiscovery(this.kinds, which, v)),
            aggregatedContentType(v),
          );
        } else {
          send(
            this.cached(`legacy-${route.type}`, () => (route.type === 'api' ? legacyApiVersions(this.kinds) : legacyGroupList(this.kinds))),
          );
        }
        return true;
      }
      case 'groupVersion':
        send(this.cached(`gv-${route.group}/${route.version}`, () => legacyResourceList(this.kinds, route.group, route.version)));
        return true;
      case 'openapiIndex':
        send(this.cached('openapi', () => openapiIndex(this.kinds)));
        return true;
      case 'openapiDoc':
        send(this.cached(`openapi-${route.group}/${route.version}`, () => openapiDocument(this.kinds, route.group, route.version)));
        return true;
      case 'openapiV2':
        throw new NotFoundError('OpenAPI v2 is not served; use /openapi/v3');
      default:
        return false;
    }
  }
}
