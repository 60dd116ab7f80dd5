/**
 * The review kinds: POST answers from the caller's identity and stores
 * nothing. SelfSubjectAccessReview is `kubectl auth can-i VERB RESOURCE`,
 * SelfSubjectRulesReview is `kubectl auth can-i --list`, SelfSubjectReview
 * is `kubectl auth whoami`.
 */
import type { RequestAttributes } from '../auth/rbac.js';
import { BadRequestError, MethodNotAllowedError } from '../errors.js';
import { isJsonMap } from '../json.js';
import { rfc3339 } from '../store/object-rules.js';
import type { Authorizer } from './authz.js';
import { readObjectBody } from './body.js';
import { checkBodyObject, type HandlerDeps, type ResourceRequest } from './handler-context.js';
import { sendJson } from './request.js';

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new BadRequestError(`${field} must be a string`);
  return v;
}

/** accessAttributes reads a SelfSubjectAccessReview's spec into request attributes. */
function accessAttributes(spec: unknown): RequestAttributes {
  if (!isJsonMap(spec)) throw new BadRequestError('spec must be an object with resourceAttributes or nonResourceAttributes');
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if (isJsonMap(ra) === isJsonMap(nra))
    throw new BadRequestError('spec must have exactly one of resourceAttributes and nonResourceAttributes');
  if (isJsonMap(nra)) {
    const path = str(nra.path, 'spec.nonResourceAttributes.path');
    if (!path.startsWith('/')) throw new BadRequestError('spec.nonResourceAttributes.path must start with /');
    return { verb: str(nra.verb, 'spec.nonResourceAttributes.verb'), path };
  }
  const r = ra as Record<string, unknown>;
  const attrs: RequestAttributes = {
    verb: str(r.verb, 'spec.resourceAttributes.verb'),
    apiGroup: str(r.group, 'spec.resourceAttributes.group'),
    resource: str(r.resource, 'spec.resourceAttributes.resource'),
  };
  const sub = str(r.subresource, 'spec.resourceAttributes.subresource');
  const ns = str(r.namespace, 'spec.resourceAttributes.namespace');
  const name = str(r.name, 'spec.resourceAttributes.name');
  if (sub) attrs.subresource = sub;
  if (ns) attrs.namespace = ns;
  if (name) attrs.name = name;
  return attrs;
}

/** answerReview answers POST on a review kind with 201 and the review, its status filled in. */
export async function answerReview(deps: HandlerDeps, r: ResourceRequest, verb: string, authz: Authorizer): Promise<void> {
  const { kind } = r.route;
  if (verb !== 'create' || r.route.name !== undefined) throw new MethodNotAllowedError(`only POST is allowed on ${kind.plural}`);
  const obj = checkBodyObject(kind, await readObjectBody(r.req, 64 * 1024), {});
  obj.metadata = { ...obj.metadata, creationTimestamp: rfc3339(deps.now()) };
  const user = r.user;
  switch (kind.kind) {
    case 'SelfSubjectAccessReview': {
      const d = authz.authorize(user, accessAttributes(obj.spec));
      // Like Kubernetes, a denial carries no reason (RBAC has no opinion to give): `kubectl auth can-i` prints a bare "no".
      obj.status = d.allowed ? { allowed: true, reason: d.reason } : { allowed: false };
      break;
    }
    case 'SelfSubjectRulesReview': {
      const spec = isJsonMap(obj.spec) ? obj.spec : {};
      const namespace = str(spec.namespace, 'spec.namespace');
      obj.status = authz.rulesFor(user, namespace || undefined);
      break;
    }
    case 'SelfSubjectReview':
      obj.status = { userInfo: { username: user.name, groups: user.groups } };
      break;
    default:
      throw new MethodNotAllowedError(`${kind.plural} cannot be created`);
  }
  sendJson(r.res, 201, obj);
}
