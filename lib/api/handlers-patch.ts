/**
 * PATCH on resources: JSON merge patch, JSON patch and server-side apply.
 * Strategic merge patch is refused (415) as real CRDs do. A patch that does
 * not pin metadata.resourceVersion is retried on a write conflict.
 */
import { AlreadyExistsError, ConflictError, MethodNotAllowedError, NotFoundError, UnsupportedMediaTypeError, isCode } from '../errors.js';
import { isJsonMap } from '../json.js';
import { rfc3339 } from '../store/object-rules.js';
import type { KubeObject } from '../store/types.js';
import { parseApplyBody, serverSideApply } from './apply.js';
import { parseJson, readBody } from './body.js';
import { PATCH_RETRIES, checkBodyObject, warningHeaders, type HandlerDeps, type ResourceRequest } from './handler-context.js';
import { recordUpdate } from './managed-fields.js';
import { jsonPatch, mergePatch } from './patch.js';
import { sendJson, mediaType, writeParams, type WriteParams } from './request.js';

const ACCEPTED = 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';

function pinsVersion(type: string, patch: unknown): boolean {
  if (type === 'application/json-patch+json') {
    return Array.isArray(patch) && patch.some((op: unknown) => isJsonMap(op) && op.path === '/metadata/resourceVersion');
  }
  const meta = isJsonMap(patch) ? patch.metadata : undefined;
  return isJsonMap(meta) && 'resourceVersion' in meta;
}

/** patchObject answers PATCH on an object or its status subresource. */
export async function patchObject(deps: HandlerDeps, r: ResourceRequest): Promise<void> {
  const { kind, name } = r.route;
  if (name === undefined) throw new MethodNotAllowedError('PATCH needs an object name');
  const type = mediaType(r.req);
  if (type === 'application/strategic-merge-patch+json') {
    throw new UnsupportedMediaTypeError(
      `the body of the request was in an unknown format - accepted media types include: ${ACCEPTED} (strategic merge patch is not supported for ${kind.plural}.${kind.group || 'core'}; use kubectl patch --type=merge)`,
    );
  }
  const p = writeParams(r.req, r.query);
  const text = await readBody(r.req);
  if (type === 'application/apply-patch+yaml') return applyPatch(deps, r, p, text);
  if (type !== 'application/merge-patch+json' && type !== 'application/json-patch+json') {
    throw new UnsupportedMediaTypeError(`the body of the request was in an unknown format - accepted media types include: ${ACCEPTED}`);
  }
  const patch = parseJson(text);
  const pinned = pinsVersion(type, patch);
  const { namespace, subresource } = r.route;
  const mf: { subresource?: 'status' } = subresource ? { subresource } : {};
  for (let attempt = 0; ; attempt++) {
    const current = await deps.store.get(kind, name, namespace);
    const patched = (type === 'application/merge-patch+json' ? mergePatch(current, patch) : jsonPatch(current, patch)) as KubeObject;
    const obj = checkBodyObject(kind, patched, namespace !== undefined ? { namespace, name } : { name });
    if (!pinned) obj.metadata.resourceVersion = current.metadata.resourceVersion;
    const { warnings } = deps.validator.validate(kind, obj, { fieldValidation: p.fieldValidation, previous: current });
    if (!subresource) await deps.admission.admitUpdate(kind, obj, current, r.user, p.dryRun);
    obj.metadata.managedFields = recordUpdate({ before: current, after: obj, manager: p.fieldManager, time: rfc3339(deps.now()), ...mf });
    try {
      const updated = await deps.store.update(kind, obj, { dryRun: p.dryRun, ...mf });
      sendJson(r.res, 200, updated, warningHeaders(warnings));
      return;
    } catch (err) {
      if (pinned || !(err instanceof ConflictError) || attempt >= PATCH_RETRIES) throw err;
    }
  }
}

async function applyPatch(deps: HandlerDeps, r: ResourceRequest, p: WriteParams, text: string): Promise<void> {
  const { kind, namespace, name, subresource } = r.route;
  const route = namespace !== undefined ? { namespace, name } : { name };
  const applied = checkBodyObject(kind, parseApplyBody(text), route);
  const pinned = applied.metadata.resourceVersion !== undefined;
  const mf: { subresource?: 'status' } = subresource ? { subresource } : {};
  for (let attempt = 0; ; attempt++) {
    let current: KubeObject | undefined;
    try {
      current = await deps.store.get(kind, name as string, namespace);
    } catch (err) {
      if (!(err instanceof NotFoundError) || subresource) throw err;
    }
    const result = serverSideApply(current, applied, { manager: p.fieldManager, force: p.force, time: rfc3339(deps.now()), ...mf });
    if (current) result.metadata.resourceVersion = pinned ? applied.metadata.resourceVersion : current.metadata.resourceVersion;
    else delete result.metadata.resourceVersion;
    if (!current && kind.hasStatus) delete result.status;
    const { warnings } = deps.validator.validate(kind, result, {
      fieldValidation: p.fieldValidation,
      ...(current ? { previous: current } : {}),
    });
    if (!current) await deps.admission.admitCreate(kind, result, r.user, p.dryRun);
    else if (!subresource) await deps.admission.admitUpdate(kind, result, current, r.user, p.dryRun);
    try {
      if (current) {
        const updated = await deps.store.update(kind, result, { dryRun: p.dryRun, ...mf });
        sendJson(r.res, 200, updated, warningHeaders(warnings));
      } else {
        const created = await deps.store.create(kind, result, { dryRun: p.dryRun });
        sendJson(r.res, 201, created, warningHeaders(warnings));
      }
      return;
    } catch (err) {
      const retry =
        (isCode(err, 'Conflict') && !pinned && !(err instanceof ConflictError && err.causes.length > 0)) ||
        err instanceof AlreadyExistsError;
      if (!retry || attempt >= PATCH_RETRIES) throw err;
    }
  }
}
