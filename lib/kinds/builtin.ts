/**
 * The Kubernetes kinds Cloudlet serves beside its own CRDs, with the same
 * group, version and field names as Kubernetes so kubectl's verbs for them
 * (`create namespace`, `create role|rolebinding`, `create quota`, `auth can-i`,
 * `auth whoami`) work unchanged.
 *
 * Stored kinds: core v1 Event, Namespace and ResourceQuota, and the four
 * rbac.authorization.k8s.io/v1 kinds. Review kinds (SelfSubjectAccessReview,
 * SelfSubjectRulesReview, SelfSubjectReview) are `virtual`: a POST is
 * answered from the caller's identity and nothing is stored.
 */
import type { JsonSchema, KindInfo } from './registry.js';

/** RBAC_GROUP is the API group of Role, ClusterRole and their bindings. */
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

const OPEN: JsonSchema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const STRINGS: JsonSchema = { type: 'array', items: { type: 'string' } };

function objectSchema(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return {
    type: 'object',
    properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...properties },
    ...(required.length > 0 ? { required } : {}),
  };
}

const POLICY_RULE: JsonSchema = {
  type: 'object',
  required: ['verbs'],
  properties: { verbs: STRINGS, apiGroups: STRINGS, resources: STRINGS, resourceNames: STRINGS, nonResourceURLs: STRINGS },
};
const ROLE_REF: JsonSchema = {
  type: 'object',
  required: ['apiGroup', 'kind', 'name'],
  properties: { apiGroup: { type: 'string' }, kind: { type: 'string', enum: ['Role', 'ClusterRole'] }, name: { type: 'string' } },
};
const SUBJECT: JsonSchema = {
  type: 'object',
  required: ['kind', 'name'],
  properties: {
    kind: { type: 'string', enum: ['User', 'Group', 'ServiceAccount'] },
    name: { type: 'string' },
    namespace: { type: 'string' },
    apiGroup: { type: 'string' },
  },
};

/**
 * v1Kind declares a served v1 kind of `group` ('' for core): the singular is
 * the kind in lower case, the list kind and apiVersion follow from the rest;
 * no short names, categories or status subresource unless given.
 */
function v1Kind(
  group: string,
  k: Pick<KindInfo, 'kind' | 'plural' | 'namespaced' | 'schema' | 'printerColumns'> & Partial<Pick<KindInfo, 'shortNames' | 'hasStatus'>>,
): KindInfo {
  return {
    group,
    version: 'v1',
    singular: k.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    hasStatus: false,
    ...k,
    listKind: `${k.kind}List`,
    apiVersion: group === '' ? 'v1' : `${group}/v1`,
  };
}

const CREATED_AT = [{ name: 'Created At', type: 'date' as const, jsonPath: '.metadata.creationTimestamp' }];

/** EVENT_KIND is core v1 Event, which `describe` reads. Its schema keeps unknown fields. */
export const EVENT_KIND: KindInfo = v1Kind('', {
  kind: 'Event',
  plural: 'events',
  shortNames: ['ev'],
  namespaced: true,
  schema: OPEN,
  printerColumns: [
    { name: 'Last Seen', type: 'date', jsonPath: '.lastTimestamp' },
    { name: 'Type', type: 'string', jsonPath: '.type' },
    { name: 'Reason', type: 'string', jsonPath: '.reason' },
    { name: 'Object', type: 'string', jsonPath: '.involvedObject.name' },
    { name: 'Message', type: 'string', jsonPath: '.message' },
  ],
});

/** NAMESPACE_KIND is core v1 Namespace: a tenant. Deleting one deletes everything in it (controllers/namespaces). */
export const NAMESPACE_KIND: KindInfo = v1Kind('', {
  kind: 'Namespace',
  plural: 'namespaces',
  shortNames: ['ns'],
  namespaced: false,
  schema: objectSchema({
    spec: { type: 'object', properties: { finalizers: STRINGS } },
    status: { type: 'object', properties: { phase: { type: 'string', enum: ['Active', 'Terminating'] }, conditions: OPEN } },
  }),
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.phase' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  hasStatus: true,
});

/** RESOURCE_QUOTA_KIND is core v1 ResourceQuota: `hard` limits per namespace, `used` kept by controllers/namespaces. */
export const RESOURCE_QUOTA_KIND: KindInfo = v1Kind('', {
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  shortNames: ['quota'],
  namespaced: true,
  schema: objectSchema({
    spec: {
      type: 'object',
      properties: {
        hard: { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } },
        scopes: STRINGS,
        scopeSelector: OPEN,
      },
    },
    status: {
      type: 'object',
      properties: {
        hard: { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } },
        used: { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } },
      },
    },
  }),
  printerColumns: [
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Used', type: 'string', jsonPath: '.status.used', priority: 1 },
  ],
  hasStatus: true,
});

const ROLE_SCHEMA = objectSchema({ rules: { type: 'array', items: POLICY_RULE } });
const CLUSTER_ROLE_SCHEMA = objectSchema({
  rules: { type: 'array', items: POLICY_RULE },
  aggregationRule: OPEN,
});
const BINDING_SCHEMA = objectSchema({ roleRef: ROLE_REF, subjects: { type: 'array', items: SUBJECT } }, ['roleRef']);

/** ROLE_KIND is rbac.authorization.k8s.io/v1 Role. */
export const ROLE_KIND: KindInfo = v1Kind(RBAC_GROUP, {
  kind: 'Role',
  plural: 'roles',
  namespaced: true,
  schema: ROLE_SCHEMA,
  printerColumns: CREATED_AT,
});

/** CLUSTER_ROLE_KIND is rbac.authorization.k8s.io/v1 ClusterRole. */
export const CLUSTER_ROLE_KIND: KindInfo = v1Kind(RBAC_GROUP, {
  kind: 'ClusterRole',
  plural: 'clusterroles',
  namespaced: false,
  schema: CLUSTER_ROLE_SCHEMA,
  printerColumns: CREATED_AT,
});

const BINDING_COLUMNS = [
  { name: 'Role', type: 'string' as const, jsonPath: '.roleRef.name' },
  { name: 'Age', type: 'date' as const, jsonPath: '.metadata.creationTimestamp' },
  { name: 'Users', type: 'string' as const, jsonPath: ".subjects[?(@.kind=='User')].name", priority: 1 },
  { name: 'Groups', type: 'string' as const, jsonPath: ".subjects[?(@.kind=='Group')].name", priority: 1 },
];

/** ROLE_BINDING_KIND is rbac.authorization.k8s.io/v1 RoleBinding. */
export const ROLE_BINDING_KIND: KindInfo = v1Kind(RBAC_GROUP, {
  kind: 'RoleBinding',
  plural: 'rolebindings',
  namespaced: true,
  schema: BINDING_SCHEMA,
  printerColumns: BINDING_COLUMNS,
});

/** CLUSTER_ROLE_BINDING_KIND is rbac.authorization.k8s.io/v1 ClusterRoleBinding. */
export const CLUSTER_ROLE_BINDING_KIND: KindInfo = v1Kind(RBAC_GROUP, {
  kind: 'ClusterRoleBinding',
  plural: 'clusterrolebindings',
  namespaced: false,
  schema: BINDING_SCHEMA,
  printerColumns: BINDING_COLUMNS,
});

function review(group: string, kindName: string, plural: string): KindInfo {
  return {
    ...v1Kind(group, { kind: kindName, plural, namespaced: false, schema: OPEN, printerColumns: [] }),
    verbs: ['create'],
    virtual: true,
  };
}

/** SELF_SUBJECT_ACCESS_REVIEW_KIND answers `kubectl auth can-i VERB RESOURCE`. */
export const SELF_SUBJECT_ACCESS_REVIEW_KIND = review('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews');
/** SELF_SUBJECT_RULES_REVIEW_KIND answers `kubectl auth can-i --list`. */
export const SELF_SUBJECT_RULES_REVIEW_KIND = review('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews');
/** SELF_SUBJECT_REVIEW_KIND answers `kubectl auth whoami`. */
export const SELF_SUBJECT_REVIEW_KIND = review('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews');

/** BUILTIN_KINDS are served beside the CRDs' kinds, in this order. */
export const BUILTIN_KINDS: readonly KindInfo[] = [
  EVENT_KIND,
  NAMESPACE_KIND,
  RESOURCE_QUOTA_KIND,
  ROLE_KIND,
  CLUSTER_ROLE_KIND,
  ROLE_BINDING_KIND,
  CLUSTER_ROLE_BINDING_KIND,
  SELF_SUBJECT_ACCESS_REVIEW_KIND,
  SELF_SUBJECT_RULES_REVIEW_KIND,
  SELF_SUBJECT_REVIEW_KIND,
];
