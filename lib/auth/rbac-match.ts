/**
 * Pure matching of RBAC rules and subjects against a request and a user,
 * following the Kubernetes RBAC semantics:
 *
 * - a verb, API group or resource list containing '*' matches anything;
 * - a request on a subresource matches 'res/sub', '*\/sub' or '*' (never a
 *   bare 'res');
 * - resourceNames, when present, must contain the request's name (so a
 *   create, list or watch, which carry no name, never match such a rule);
 * - a non-resource URL matches '*', itself, or a pattern ending in '*' that
 *   it starts with (less the '*');
 * - a resource rule never matches a non-resource request and vice versa.
 */
import {
  isResourceRequest,
  type NonResourceRequestAttributes,
  type PolicyRule,
  type RequestAttributes,
  type ResourceRequestAttributes,
  type Subject,
  type UserInfo,
} from './rbac-types.js';

/** ALL is the RBAC wildcard. */
export const ALL = '*';

/** SERVICE_ACCOUNT_PREFIX starts the user name of a service account: system:serviceaccount:<namespace>:<name>. */
export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

function hasOrAll(list: readonly string[] | undefined, value: string): boolean {
  if (!list) return false;
  for (const v of list) if (v === ALL || v === value) return true;
  return false;
}

/** verbMatches reports whether `rule` names `verb` or '*'. */
export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return hasOrAll(rule.verbs, verb);
}

/** apiGroupMatches reports whether `rule` names `group` or '*'. */
export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return hasOrAll(rule.apiGroups, group);
}

/** resourceMatches reports whether `rule` covers `resource` (and `subresource` when given), '*' and '*\/sub' included. */
export function resourceMatches(rule: PolicyRule, resource: string, subresource?: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === ALL || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

/** resourceNameMatches reports whether `rule` has no resourceNames or lists `name`. */
export function resourceNameMatches(rule: PolicyRule, name: string | undefined): boolean {
  const names = rule.resourceNames;
  if (!names || names.length === 0) return true;
  return name !== undefined && name !== '' && names.includes(name);
}

/** nonResourceURLMatches reports whether `pattern` matches `path`: '*', equal, or a trailing-'*' prefix. */
export function nonResourceURLMatches(pattern: string, path: string): boolean {
  if (pattern === ALL || pattern === path) return true;
  return pattern.endsWith('*') && path.startsWith(pattern.slice(0, -1));
}

/** resourceRuleAllows reports whether `rule` allows the resource request `attrs`. */
export function resourceRuleAllows(rule: PolicyRule, attrs: ResourceRequestAttributes): boolean {
  return (
    verbMatches(rule, attrs.verb) &&
    apiGroupMatches(rule, attrs.apiGroup) &&
    resourceMatches(rule, attrs.resource, attrs.subresource) &&
    resourceNameMatches(rule, attrs.name)
  );
}

/** nonResourceRuleAllows reports whether `rule` allows the non-resource request `attrs`. */
export function nonResourceRuleAllows(rule: PolicyRule, attrs: NonResourceRequestAttributes): boolean {
  if (!verbMatches(rule, attrs.verb)) return false;
  for (const p of rule.nonResourceURLs ?? []) if (nonResourceURLMatches(p, attrs.path)) return true;
  return false;
}

/** ruleAllows reports whether `rule` allows the request `attrs` (resource or non-resource). */
export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  return isResourceRequest(attrs) ? resourceRuleAllows(rule, attrs) : nonResourceRuleAllows(rule, attrs);
}

/**
 * SubjectKey is the index key of an identity: 'u:<user name>' or
 * 'g:<group>'. A ServiceAccount subject is the user
 * 'system:serviceaccount:<ns>:<name>'.
 */
export type SubjectKey = `u:${string}` | `g:${string}`;

/** subjectKey is the index key of a binding's subject; `bindingNamespace` fills a ServiceAccount's missing namespace. Undefined for an unknown kind. */
export function subjectKey(subject: Subject, bindingNamespace: string | undefined): SubjectKey | undefined {
  switch (subject.kind) {
    case 'User':
      return `u:${subject.name}`;
    case 'Group':
      return `g:${subject.name}`;
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      // A ServiceAccount without a namespace names nobody (Kubernetes rejects such a ClusterRoleBinding).
      return ns ? `u:${SERVICE_ACCOUNT_PREFIX}${ns}:${subject.name}` : undefined;
    }
    default:
      return undefined;
  }
}

/** userSubjectKeys are the index keys under which bindings to `user` are found: its name, then each group. */
export function userSubjectKeys(user: UserInfo): SubjectKey[] {
  const keys: SubjectKey[] = [`u:${user.name}`];
  for (const g of user.groups) keys.push(`g:${g}`);
  return keys;
}

/** describeSubject renders the subject a key stands for, as Kubernetes names it in a reason: `User "alice"`, `Group "devs"`. */
export function describeSubject(key: SubjectKey): string {
  return key.startsWith('u:') ? `User ${JSON.stringify(key.slice(2))}` : `Group ${JSON.stringify(key.slice(2))}`;
}
