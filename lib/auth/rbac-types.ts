/**
 * The shapes of Kubernetes RBAC (rbac.authorization.k8s.io/v1) as Cloudlet
 * stores and evaluates them, and the attributes of a request the authorizer
 * decides on. Written once here; lib/auth/rbac.ts evaluates them.
 */

/** RBAC_GROUP is the API group of Role, ClusterRole, RoleBinding and ClusterRoleBinding. */
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

import type { UserInfo } from './identity.js';

/** UserInfo is an authenticated identity (lib/auth/identity.ts). */
export type { UserInfo };

/**
 * ResourceRequestAttributes describe a request on an API resource. `apiGroup`
 * is '' for the core group. `namespace` is set for namespaced resources and
 * left out (or '') at the cluster scope; as in Kubernetes, a request on one
 * namespace object (`/api/v1/namespaces/team-b`) carries namespace 'team-b',
 * so that a RoleBinding in that namespace can grant `get` on it. `name` is
 * left out for create, list, watch and deletecollection.
 */
export interface ResourceRequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** NonResourceRequestAttributes describe a request on a path outside the resource tree (`/version`, `/healthz`); verb is the lower-case HTTP method (get, post, …). */
export interface NonResourceRequestAttributes {
  verb: string;
  path: string;
}

/** RequestAttributes is what the authorizer decides on: a resource request or a non-resource request (told apart by `path`). */
export type RequestAttributes = ResourceRequestAttributes | NonResourceRequestAttributes;

/** isResourceRequest tells a resource request from a non-resource one. */
export function isResourceRequest(attrs: RequestAttributes): attrs is ResourceRequestAttributes {
  return !('path' in attrs);
}

/**
 * PolicyRule is one rule of a Role or ClusterRole. A resource rule names
 * verbs, apiGroups ('' core, '*' any) and resources ('*' any resource and
 * subresource, 'res/sub' one subresource, '*\/sub' that subresource of any
 * resource), optionally narrowed to resourceNames. A non-resource rule names
 * verbs and nonResourceURLs ('*' any path, a trailing '*' a prefix); it only
 * counts in a ClusterRole bound by a ClusterRoleBinding.
 */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** ObjectMeta is the part of metadata RBAC objects need. */
export interface RbacObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Role grants rules within its own namespace. */
export interface Role {
  apiVersion?: string;
  kind?: 'Role';
  metadata: RbacObjectMeta;
  rules?: PolicyRule[];
}

/** LabelSelectorObject is a Kubernetes label selector object (matchLabels, matchExpressions). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** AggregationRule makes a ClusterRole's rules the union of the rules of the ClusterRoles its selectors match. */
export interface AggregationRule {
  clusterRoleSelectors?: LabelSelectorObject[];
}

/** ClusterRole grants rules cluster-wide (through a ClusterRoleBinding) or in one namespace (through a RoleBinding). */
export interface ClusterRole {
  apiVersion?: string;
  kind?: 'ClusterRole';
  metadata: RbacObjectMeta;
  rules?: PolicyRule[];
  aggregationRule?: AggregationRule;
}

/** SubjectKind is the kind of identity a binding names. */
export type SubjectKind = 'User' | 'Group' | 'ServiceAccount';

/** Subject is one identity a binding grants to; `namespace` is for ServiceAccount (defaults to the RoleBinding's). */
export interface Subject {
  kind: SubjectKind;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

/** RoleRef names the role a binding grants: a Role in the RoleBinding's namespace or a ClusterRole. */
export interface RoleRef {
  apiGroup: string;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

/** RoleBinding grants a Role or ClusterRole's rules to subjects within the binding's namespace. */
export interface RoleBinding {
  apiVersion?: string;
  kind?: 'RoleBinding';
  metadata: RbacObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

/** ClusterRoleBinding grants a ClusterRole's rules to subjects in every namespace and at the cluster scope. */
export interface ClusterRoleBinding {
  apiVersion?: string;
  kind?: 'ClusterRoleBinding';
  metadata: RbacObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

/** RbacObjects is a full listing of the four RBAC kinds, from which an RbacIndex is built. */
export interface RbacObjects {
  roles?: readonly Role[];
  clusterRoles?: readonly ClusterRole[];
  roleBindings?: readonly RoleBinding[];
  clusterRoleBindings?: readonly ClusterRoleBinding[];
}
