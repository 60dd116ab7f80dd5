/**
 * RbacAuthorizer: Kubernetes RBAC for every API request, pure and
 * synchronous, over an RbacIndex snapshot (lib/auth/rbac-index.ts).
 *
 * The rules a user has are those of the roles bound to it:
 * - a ClusterRoleBinding grants its ClusterRole's rules everywhere: at the
 *   cluster scope, in every namespace, and (the only way) on non-resource
 *   URLs;
 * - a RoleBinding grants its Role's (same namespace) or ClusterRole's rules
 *   only to requests in the binding's namespace;
 * - a subject names a User by name, a Group by membership, a ServiceAccount
 *   as the user `system:serviceaccount:<ns>:<name>`;
 * - members of the group `system:masters` are always allowed, whatever the
 *   bindings say (as Kubernetes does, so an admin cannot lock themselves
 *   out).
 * There are no deny rules: a request is allowed when one rule allows it.
 *
 * Cost: a decision looks up the bindings of the user's name and of each of
 * its groups (one map lookup each) and checks their roles' rules until one
 * allows; bindings of other subjects are never visited.
 */
import { RbacIndex } from './rbac-index.js';
import { describeSubject, ruleAllows, userSubjectKeys, type SubjectKey } from './rbac-match.js';
import {
  isResourceRequest,
  RBAC_GROUP,
  type PolicyRule,
  type RbacObjects,
  type RequestAttributes,
  type RoleRef,
  type UserInfo,
} from './rbac-types.js';

export * from './rbac-types.js';
export { RbacIndex } from './rbac-index.js';
export { ruleAllows } from './rbac-match.js';

import { SYSTEM_MASTERS } from './identity.js';

export { SYSTEM_MASTERS };

/** Decision is the authorizer's answer: allowed or not, and why in words (a denial reads as Kubernetes' Forbidden message). */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** ResourceRule is one resource rule of a SelfSubjectRulesReview's status. */
export interface ResourceRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
}

/** NonResourceRule is one non-resource rule of a SelfSubjectRulesReview's status. */
export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs: string[];
}

/** SubjectRules is the status of a SelfSubjectRulesReview: the rules a user has in a namespace, and the roles that could not be found. */
export interface SubjectRules {
  resourceRules: ResourceRule[];
  nonResourceRules: NonResourceRule[];
  incomplete: boolean;
  evaluationError?: string;
}

/** RbacAuthorizer decides requests against the RBAC objects in an RbacIndex; the index may be updated between calls. */
export class RbacAuthorizer {
  constructor(readonly index: RbacIndex) {}

  /** fromObjects builds an authorizer over a fresh index of `objects`. */
  static fromObjects(objects: RbacObjects): RbacAuthorizer {
    return new RbacAuthorizer(RbacIndex.from(objects));
  }

  /** authorize decides whether `user` may make the request `attrs`. */
  authorize(user: UserInfo, attrs: RequestAttributes): Decision {
    if (user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: `allowed: member of the group "${SYSTEM_MASTERS}"` };
    const namespace = isResourceRequest(attrs) ? attrs.namespace || undefined : undefined;
    let reason: string | undefined;
    this.visit(user, namespace, (rules, source) => {
      for (const rule of rules) {
        if (ruleAllows(rule, attrs)) {
          reason = source();
          return true;
        }
      }
      return false;
    });
    return reason ? { allowed: true, reason } : { allowed: false, reason: forbiddenMessage(user, attrs) };
  }

  /**
   * rulesFor lists the rules `user` has in `namespace` (cluster-scoped only
   * when namespace is undefined or ''), as a SelfSubjectRulesReview reports
   * them for `kubectl auth can-i --list`. Rules are not merged or deduplicated
   * beyond visiting each binding once. A binding whose role does not exist is
   * reported in evaluationError and makes the answer incomplete.
   */
  rulesFor(user: UserInfo, namespace?: string): SubjectRules {
    const out: SubjectRules = { resourceRules: [], nonResourceRules: [], incomplete: false };
    if (user.groups.includes(SYSTEM_MASTERS)) {
      out.resourceRules.push({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
      out.nonResourceRules.push({ verbs: ['*'], nonResourceURLs: ['*'] });
    }
    const errors: string[] = [];
    this.visit(
      user,
      namespace || undefined,
      (rules, _source, scope) => {
        for (const r of rules) {
          if (r.nonResourceURLs?.length) {
            // Non-resource rules only count at the cluster scope (ClusterRoleBindings).
            if (scope === 'cluster') out.nonResourceRules.push({ verbs: [...r.verbs], nonResourceURLs: [...r.nonResourceURLs] });
          } else if (r.resources?.length) {
            const rule: ResourceRule = { verbs: [...r.verbs], apiGroups: [...(r.apiGroups ?? [])], resources: [...r.resources] };
            if (r.resourceNames?.length) rule.resourceNames = [...r.resourceNames];
            out.resourceRules.push(rule);
          }
        }
        return false;
      },
      (missing) => errors.push(missing),
    );
    if (errors.length > 0) {
      out.incomplete = true;
      out.evaluationError = errors.join(', ');
    }
    return out;
  }

  /**
   * visit calls `visitor` with the rules of each binding of `user` that
   * applies in `namespace` (ClusterRoleBindings first), each binding once,
   * until the visitor returns true; `onMissing` hears of roleRefs that name
   * no role.
   */
  private visit(
    user: UserInfo,
    namespace: string | undefined,
    visitor: (rules: readonly PolicyRule[], source: () => string, scope: 'cluster' | 'namespace') => boolean,
    onMissing?: (message: string) => void,
  ): void {
    const keys = userSubjectKeys(user);
    // A binding naming both the user and one of its groups is met twice; only rulesFor (onMissing set) cares.
    const seen = onMissing ? new Set<object>() : undefined;
    const one = (binding: { metadata: { name: string }; roleRef: RoleRef }, key: SubjectKey, ns: string | undefined): boolean => {
      if (seen) {
        if (seen.has(binding)) return false;
        seen.add(binding);
      }
      const rules = this.index.rulesForRef(binding.roleRef, ns);
      if (!rules) {
        onMissing?.(`${binding.roleRef.kind.toLowerCase()}.${RBAC_GROUP} ${JSON.stringify(binding.roleRef.name)} not found`);
        return false;
      }
      const source = (): string => describeBinding(binding.metadata.name, binding.roleRef, key, ns);
      return visitor(rules, source, ns === undefined ? 'cluster' : 'namespace');
    };
    for (const key of keys) {
      for (const b of this.index.clusterRoleBindingsFor(key).values()) if (one(b, key, undefined)) return;
    }
    if (namespace === undefined) return;
    for (const key of keys) {
      for (const b of this.index.roleBindingsFor(namespace, key).values()) if (one(b, key, namespace)) return;
    }
  }
}

function describeBinding(name: string, ref: RoleRef, key: SubjectKey, ns: string | undefined): string {
  const binding = ns === undefined ? `ClusterRoleBinding ${JSON.stringify(name)}` : `RoleBinding ${JSON.stringify(`${name}/${ns}`)}`;
  return `RBAC: allowed by ${binding} of ${ref.kind} ${JSON.stringify(ref.name)} to ${describeSubject(key)}`;
}

/**
 * forbiddenMessage is Kubernetes' sentence for a refused request:
 * `User "alice" cannot delete resource "members" in API group "cloudlet.dev" at the cluster scope`,
 * `… in the namespace "team-b"`, or `User "alice" cannot get path "/metrics"`.
 * The API server prefixes it with `<resource>.<group> "<name>" is forbidden: `.
 */
export function forbiddenMessage(user: UserInfo, attrs: RequestAttributes): string {
  const who = `User ${JSON.stringify(user.name)}`;
  if (!isResourceRequest(attrs)) return `${who} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const what = `${who} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)}`;
  return attrs.namespace ? `${what} in the namespace ${JSON.stringify(attrs.namespace)}` : `${what} at the cluster scope`;
}
