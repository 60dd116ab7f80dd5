/**
 * What every resource handler gets: the dependencies and the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError } from '../errors.js';
import type { UserInfo } from '../auth/identity.js';
import type { KindInfo } from '../kinds/registry.js';
import type { Admission } from './admission.js';
import type { Logger } from '../log/logger.js';
import type { KubeObject, Store } from '../store/types.js';
import type { ResourceRoute } from './router.js';
import type { SchemaValidator } from './schema.js';
import { isJsonMap } from '../json.js';

/** HandlerDeps are the long-lived dependencies of the resource handlers. */
export interface HandlerDeps {
  store: Store;
  validator: SchemaValidator;
  logger: Logger;
  /** now gives the current time (injectable for tests) */
  now: () => Date;
  /** bookmarkIntervalMs: how often a watch with allowWatchBookmarks=true gets a BOOKMARK */
  bookmarkIntervalMs: number;
  /** watchClosers: every open watch registers a function that ends it, so close() can end them all */
  watchClosers: Set<() => void>;
  /** admission runs the checks after validation and before the store: namespaces, host-reaching fields, quotas */
  admission: Admission;
}

/** ResourceRequest is one request on a resource path. */
export interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  route: ResourceRoute;
  query: URLSearchParams;
  /** user is the authenticated caller */
  user: UserInfo;
  /** objectName: the object a collection request turned out to be about (POST), for error details */
  objectName?: string;
}

/** PATCH_RETRIES is how often a patch that does not pin resourceVersion is retried on a conflict. */
export const PATCH_RETRIES = 5;

/**
 * checkBodyObject checks that a request body is an object of `kind` for the
 * object named by the route: apiVersion and kind are filled when absent and
 * must match the URL when present (BadRequestError otherwise); metadata.name
 * and metadata.namespace likewise.
 */
export function checkBodyObject(kind: KindInfo, body: unknown, route: { namespace?: string; name?: string }): KubeObject {
  if (!isJsonMap(body)) throw new BadRequestError(`the request body must be a JSON object of kind ${kind.kind}`);
  if (body.apiVersion === undefined) body.apiVersion = kind.apiVersion;
  if (body.kind === undefined) body.kind = kind.kind;
  if (body.apiVersion !== kind.apiVersion) {
    throw new BadRequestError(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${kind.apiVersion})`,
    );
  }
  if (body.kind !== kind.kind)
    throw new BadRequestError(`the kind in the data (${String(body.kind)}) does not match the expected kind (${kind.kind})`);
  if (body.metadata === undefined) body.metadata = {};
  if (!isJsonMap(body.metadata)) throw new BadRequestError('metadata must be an object');
  const meta = body.metadata;
  if (route.name !== undefined) {
    if (meta.name === undefined || meta.name === '') meta.name = route.name;
    else if (meta.name !== route.name) {
      throw new BadRequestError(`the name of the object (${String(meta.name)}) does not match the name on the URL (${route.name})`);
    }
  }
  if (kind.namespaced && route.namespace !== undefined) {
    if (meta.namespace === undefined || meta.namespace === '') meta.namespace = route.namespace;
    else if (meta.namespace !== route.namespace) {
      throw new BadRequestError('the namespace of the provided object does not match the namespace sent on the request');
    }
  }
  return body as KubeObject;
}

/** warningHeaders turns validation warnings into HTTP Warning headers (299, as Kubernetes sends them). */
export function warningHeaders(warnings: string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}
