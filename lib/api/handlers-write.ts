/**
 * POST, PUT and DELETE on resources. Every write is defaulted and validated
 * before the store sees it; nothing is written on any error.
 */
import { BadRequestError, MethodNotAllowedError } from '../errors.js';
import { randomSuffix, rfc3339 } from '../store/object-rules.js';
import type { KubeObject } from '../store/types.js';
import { parseJson, readBody, readObjectBody } from './body.js';
import { checkBodyObject, warningHeaders, type HandlerDeps, type ResourceRequest } from './handler-context.js';
import { recordUpdate } from './managed-fields.js';
import { sendJson, writeParams } from './request.js';

/** createObject answers POST on a collection: 201 with the stored object, 409 AlreadyExists, 422 Invalid. */
export async function createObject(deps: HandlerDeps, r: ResourceRequest): Promise<void> {
  const { kind, namespace, name } = r.route;
  if (name !== undefined) throw new MethodNotAllowedError('POST is not allowed on an object; POST to its collection');
  if (kind.namespaced && namespace === undefined) throw new MethodNotAllowedError('POST needs a namespace in the path');
  const p = writeParams(r.req, r.query);
  const obj = checkBodyObject(kind, await readObjectBody(r.req), namespace !== undefined ? { namespace } : {});
  const meta = obj.metadata;
  if (!meta.name && typeof meta.generateName === 'string' && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
  if (typeof meta.name === 'string') r.objectName = meta.name;
  if (kind.hasStatus) delete obj.status;
  const { warnings } = deps.validator.validate(kind, obj, { fieldValidation: p.fieldValidation });
  await deps.admission.admitCreate(kind, obj, r.user, p.dryRun);
  meta.managedFields = recordUpdate({ before: undefined, after: obj, manager: p.fieldManager, time: rfc3339(deps.now()) });
  const created = await deps.store.create(kind, obj, { dryRun: p.dryRun });
  sendJson(r.res, 201, created, warningHeaders(warnings));
}

/** replaceObject answers PUT on an object or its status: 409 Conflict on a stale resourceVersion. */
export async function replaceObject(deps: HandlerDeps, r: ResourceRequest): Promise<void> {
  const { kind, namespace, name, subresource } = r.route;
  if (name === undefined) throw new MethodNotAllowedError('PUT needs an object name');
  const p = writeParams(r.req, r.query);
  const route = namespace !== undefined ? { namespace, name } : { name };
  const obj = checkBodyObject(kind, await readObjectBody(r.req), route);
  const current = await deps.store.get(kind, name, namespace);
  // validate what will be stored: the main resource keeps the stored status, /status keeps the stored rest
  const candidate: KubeObject =
    subresource === 'status'
      ? { ...current, status: obj.status, metadata: { ...current.metadata, resourceVersion: obj.metadata.resourceVersion } }
      : kind.hasStatus
        ? { ...obj, status: current.status }
        : obj;
  if (candidate.status === undefined) delete candidate.status;
  const { warnings } = deps.validator.validate(kind, candidate, { fieldValidation: p.fieldValidation, previous: current });
  if (subresource !== 'status') await deps.admission.admitUpdate(kind, candidate, current, r.user, p.dryRun);
  const mf: { subresource?: 'status' } = subresource ? { subresource } : {};
  candidate.metadata.managedFields = recordUpdate({
    before: current,
    after: candidate,
    manager: p.fieldManager,
    time: rfc3339(deps.now()),
    ...mf,
  });
  if (candidate.metadata.resourceVersion === undefined) {
    throw new BadRequestError('metadata.resourceVersion must be specified for an update');
  }
  const updated = await deps.store.update(kind, candidate, { dryRun: p.dryRun, ...mf });
  sendJson(r.res, 200, updated, warningHeaders(warnings));
}

interface DeleteBody {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

/** deleteObject answers DELETE: 200 with the object, still present with deletionTimestamp if finalizers hold it. */
export async function deleteObject(deps: HandlerDeps, r: ResourceRequest): Promise<void> {
  const { kind, namespace, name, subresource } = r.route;
  if (name === undefined || subresource !== undefined)
    throw new MethodNotAllowedError('DELETE needs an object name (deleting a collection is not supported)');
  deps.admission.admitDelete(kind, name);
  const p = writeParams(r.req, r.query);
  const text = await readBody(r.req);
  let body: DeleteBody = {};
  if (text.trim() !== '') {
    const parsed = parseJson(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new BadRequestError('the DELETE body must be a DeleteOptions object');
    body = parsed as DeleteBody;
  }
  const opts: { dryRun: boolean; uid?: string; resourceVersion?: string } = { dryRun: p.dryRun || (body.dryRun ?? []).includes('All') };
  if (body.preconditions?.uid) opts.uid = body.preconditions.uid;
  if (body.preconditions?.resourceVersion) opts.resourceVersion = body.preconditions.resourceVersion;
  const result = await deps.store.delete(kind, name, namespace, opts);
  sendJson(r.res, 200, result.object);
}
