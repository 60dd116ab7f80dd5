/**
 * Routing: what a request path names (discovery, OpenAPI, health, a
 * resource collection, an object, its status subresource).
 */
import type { KindInfo, KindRegistry } from '../kinds/registry.js';

/** ResourceRoute names a collection or an object of a served kind. */
export interface ResourceRoute {
  type: 'resource';
  kind: KindInfo;
  /** the namespace in the path; undefined for cluster-scoped kinds and cluster-wide lists */
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

/** Route is what a request path names. */
export type Route =
  | { type: 'version' }
  | { type: 'health'; check: 'healthz' | 'readyz' | 'livez' }
  | { type: 'metrics' }
  | { type: 'api' }
  | { type: 'apis' }
  | { type: 'groupVersion'; group: string; version: string }
  | { type: 'openapiIndex' }
  | { type: 'openapiDoc'; group: string; version: string }
  | { type: 'openapiV2' }
  | ResourceRoute
  | { type: 'notFound' };

function resource(kinds: KindRegistry, group: string, version: string, rest: string[]): Route {
  let namespace: string | undefined;
  let parts = rest;
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const [plural, name, sub, ...extra] = parts;
  if (!plural || extra.length > 0) return { type: 'notFound' };
  const kind = kinds.byGroupResource(group, plural);
  if (!kind || kind.version !== version) return { type: 'notFound' };
  if (namespace !== undefined && !kind.namespaced) return { type: 'notFound' };
  if (namespace === undefined && kind.namespaced && name !== undefined) return { type: 'notFound' };
  if (sub !== undefined && (sub !== 'status' || !kind.hasStatus)) return { type: 'notFound' };
  const route: ResourceRoute = { type: 'resource', kind };
  if (namespace !== undefined) route.namespace = namespace;
  if (name !== undefined) route.name = name;
  if (sub === 'status') route.subresource = 'status';
  return route;
}

/** route maps a URL path (without the query) to a Route. */
export function route(kinds: KindRegistry, path: string): Route {
  const segs = path
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => decodeURIComponent(s));
  const [a, b, c, d] = segs;
  switch (a) {
    case 'version':
      return segs.length === 1 ? { type: 'version' } : { type: 'notFound' };
    case 'healthz':
    case 'readyz':
    case 'livez':
      return { type: 'health', check: a };
    case 'metrics':
      return segs.length === 1 ? { type: 'metrics' } : { type: 'notFound' };
    case 'openapi':
      if (b === 'v2' && segs.length === 2) return { type: 'openapiV2' };
      if (b !== 'v3') return { type: 'notFound' };
      if (segs.length === 2) return { type: 'openapiIndex' };
      if (c === 'api' && d && segs.length === 4) return { type: 'openapiDoc', group: '', version: d };
      if (c === 'apis' && d && segs[4] && segs.length === 5) return { type: 'openapiDoc', group: d, version: segs[4] };
      return { type: 'notFound' };
    case 'api':
      if (segs.length === 1) return { type: 'api' };
      if (!b) return { type: 'notFound' };
      if (segs.length === 2) return { type: 'groupVersion', group: '', version: b };
      return resource(kinds, '', b, segs.slice(2));
    case 'apis':
      if (segs.length === 1) return { type: 'apis' };
      if (!b || !c) return { type: 'notFound' };
      if (segs.length === 3) return { type: 'groupVersion', group: b, version: c };
      return resource(kinds, b, c, segs.slice(3));
    default:
      return { type: 'notFound' };
  }
}
