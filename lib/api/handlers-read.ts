/**
 * GET on resources: one object or a list, as JSON or as a Table.
 */
import { MethodNotAllowedError } from '../errors.js';
import type { KubeObject } from '../store/types.js';
import type { HandlerDeps, ResourceRequest } from './handler-context.js';
import { includeObjectParam, sendJson, wantsTable } from './request.js';
import { buildTable } from './table.js';

/** getObject answers GET on an object (or its status subresource). */
export async function getObject(deps: HandlerDeps, r: ResourceRequest): Promise<void> {
  const { kind, name, namespace } = r.route;
  if (name === undefined) throw new MethodNotAllowedError('GET needs an object name');
  const obj = await deps.store.get(kind, name, namespace);
  if (wantsTable(r.req)) {
    sendJson(
      r.res,
      200,
      buildTable(kind, [obj], {
        resourceVersion: obj.metadata.resourceVersion,
        include: includeObjectParam(r.query),
        now: deps.now().getTime(),
      }),
    );
  } else {
    sendJson(r.res, 200, obj);
  }
}

/** listObjects answers GET on a collection (one namespace, or all with a cluster-wide path). */
export async function listObjects(deps: HandlerDeps, r: ResourceRequest): Promise<void> {
  const { kind, namespace } = r.route;
  const opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {};
  if (namespace !== undefined) opts.namespace = namespace;
  const ls = r.query.get('labelSelector');
  const fs = r.query.get('fieldSelector');
  if (ls) opts.labelSelector = ls;
  if (fs) opts.fieldSelector = fs;
  const list = await deps.store.list<KubeObject>(kind, opts);
  if (wantsTable(r.req)) {
    sendJson(
      r.res,
      200,
      buildTable(kind, list.items, {
        resourceVersion: list.resourceVersion,
        include: includeObjectParam(r.query),
        now: deps.now().getTime(),
      }),
    );
    return;
  }
  sendJson(r.res, 200, {
    apiVersion: kind.apiVersion,
    kind: kind.listKind,
    metadata: { resourceVersion: list.resourceVersion },
    items: list.items,
  });
}
