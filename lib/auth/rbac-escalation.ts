/**
 * Privilege-escalation prevention, as Kubernetes RBAC does it at the API:
 * RBAC alone would let a namespace admin (who may write RoleBindings) bind
 * `cluster-admin` in their namespace and so gain what they were not given
 * (e.g. `use hostaccess`). So the API, on create/update of:
 *
 * - a Role or ClusterRole, calls checkRoleEscalation: allowed when the user
 *   already holds every rule the role grants (in the role's namespace, or
 *   cluster-wide for a ClusterRole), or has the verb `escalate` on
 *   roles/clusterroles;
 * - a RoleBinding or ClusterRoleBinding, calls checkBindingEscalation:
 *   allowed when the user has the verb `bind` on the referenced role (by
 *   name), or already holds every rule of the referenced role where the
 *   binding applies.
 *
 * These checks come after the ordinary authorization of the write itself.
 */
import type { Decision, RbacAuthorizer } from './rbac.js';
import { ALL, nonResourceURLMatches } from './rbac-match.js';
import { RBAC_GROUP, type PolicyRule, type RoleRef, type UserInfo } from './rbac-types.js';

function hasOrAll(list: readonly string[] | undefined, value: string): boolean {
  return !!list && (list.includes(ALL) || list.includes(value));
}

function resourceCovered(owner: readonly string[] | undefined, resource: string): boolean {
  if (hasOrAll(owner, resource)) return true;
  const slash = resource.indexOf('/');
  return slash > 0 && !!owner?.includes(`*/${resource.slice(slash + 1)}`);
}

/** atomicRules splits rules into rules of one verb, one group, one resource and at most one name (or one verb and one URL). */
export function atomicRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const r of rules) {
    for (const verb of r.verbs) {
      for (const url of r.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [url] });
      for (const group of r.apiGroups ?? []) {
        for (const resource of r.resources ?? []) {
          const base = { verbs: [verb], apiGroups: [group], resources: [resource] };
          if (r.resourceNames?.length) for (const n of r.resourceNames) out.push({ ...base, resourceNames: [n] });
          else out.push(base);
        }
      }
    }
  }
  return out;
}

/** ruleCovers reports whether `owner` grants everything the atomic rule `atom` grants (a wildcard is only covered by a wildcard). */
export function ruleCovers(owner: PolicyRule, atom: PolicyRule): boolean {
  const verb = atom.verbs[0] as string;
  if (!hasOrAll(owner.verbs, verb)) return false;
  const url = atom.nonResourceURLs?.[0];
  if (url !== undefined) return (owner.nonResourceURLs ?? []).some((p) => p === url || (p.endsWith('*') && nonResourceURLMatches(p, url)));
  if (!hasOrAll(owner.apiGroups, atom.apiGroups?.[0] as string)) return false;
  if (!resourceCovered(owner.resources, atom.resources?.[0] as string)) return false;
  if (!owner.resourceNames?.length) return true;
  const name = atom.resourceNames?.[0];
  return name !== undefined && owner.resourceNames.includes(name);
}

/** uncoveredRules returns the atomic rules of `requested` that no rule of `owner` covers (empty: owner holds them all). */
export function uncoveredRules(owner: readonly PolicyRule[], requested: readonly PolicyRule[]): PolicyRule[] {
  return atomicRules(requested).filter((atom) => !owner.some((o) => ruleCovers(o, atom)));
}

function heldRules(authz: RbacAuthorizer, user: UserInfo, namespace: string | undefined): PolicyRule[] {
  const held = authz.rulesFor(user, namespace);
  return [...held.resourceRules, ...held.nonResourceRules];
}

function describeRule(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups) parts.push(`APIGroups:${JSON.stringify(r.apiGroups)}`);
  if (r.resources) parts.push(`Resources:${JSON.stringify(r.resources)}`);
  if (r.resourceNames) parts.push(`ResourceNames:${JSON.stringify(r.resourceNames)}`);
  if (r.nonResourceURLs) parts.push(`NonResourceURLs:${JSON.stringify(r.nonResourceURLs)}`);
  parts.push(`Verbs:${JSON.stringify(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

function refusal(user: UserInfo, missing: PolicyRule[]): Decision {
  const lines = missing.map(describeRule).join('\n');
  return {
    allowed: false,
    reason: `user ${JSON.stringify(user.name)} (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines}`,
  };
}

/** RoleWrite is a Role (namespace set) or ClusterRole (namespace undefined) about to be created or updated. */
export interface RoleWrite {
  namespace?: string;
  name: string;
  rules: readonly PolicyRule[];
}

/** checkRoleEscalation decides whether `user` may write the role `role` without gaining rules it does not hold. */
export function checkRoleEscalation(authz: RbacAuthorizer, user: UserInfo, role: RoleWrite): Decision {
  const ns = role.namespace || undefined;
  const resource = ns ? 'roles' : 'clusterroles';
  const escalate = authz.authorize(user, { verb: 'escalate', apiGroup: RBAC_GROUP, resource, namespace: ns, name: role.name });
  if (escalate.allowed) return escalate;
  const missing = uncoveredRules(heldRules(authz, user, ns), role.rules);
  return missing.length === 0 ? { allowed: true, reason: 'holds every rule of the role' } : refusal(user, missing);
}

/** BindingWrite is a RoleBinding (namespace set) or ClusterRoleBinding (namespace undefined) about to be created or updated. */
export interface BindingWrite {
  namespace?: string;
  roleRef: RoleRef;
}

/** checkBindingEscalation decides whether `user` may write a binding to `binding.roleRef` without granting rules it does not hold. */
export function checkBindingEscalation(authz: RbacAuthorizer, user: UserInfo, binding: BindingWrite): Decision {
  const ns = binding.namespace || undefined;
  const resource = binding.roleRef.kind === 'Role' ? 'roles' : 'clusterroles';
  const bind = authz.authorize(user, { verb: 'bind', apiGroup: RBAC_GROUP, resource, namespace: ns, name: binding.roleRef.name });
  if (bind.allowed) return bind;
  const rules = authz.index.rulesForRef(binding.roleRef, ns);
  if (!rules) return { allowed: false, reason: `${resource.slice(0, -1)}.${RBAC_GROUP} ${JSON.stringify(binding.roleRef.name)} not found` };
  const missing = uncoveredRules(heldRules(authz, user, ns), rules);
  return missing.length === 0 ? { allowed: true, reason: 'holds every rule of the referenced role' } : refusal(user, missing);
}
