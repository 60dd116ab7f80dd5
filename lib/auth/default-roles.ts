/**
 * The default ClusterRoles and ClusterRoleBindings Cloudlet creates at
 * bootstrap, with the meaning the Kubernetes defaults have, over Cloudlet's
 * kinds:
 *
 * - cluster-admin: everything, every non-resource URL included; bound to
 *   the group system:masters.
 * - admin: everything in a namespace (bound by a RoleBinding): edit, plus
 *   Roles and RoleBindings (the API's escalation check, lib/auth/
 *   rbac-escalation.ts, still keeps them to what the admin holds);
 *   ResourceQuotas read-only (quotas are set by the cluster's admins).
 * - edit: read/write of instances and volumes, exec/console into instances;
 *   read of events, namespaces and quotas; no Roles or RoleBindings; status
 *   subresources read-only (members write them).
 * - view: get/list/watch of the namespaced kinds and instance logs; no
 *   Roles or RoleBindings.
 * - system:basic-user: self-reviews (can-i, can-i --list, whoami); bound to
 *   system:authenticated.
 * - system:discovery and system:public-info-viewer: discovery, OpenAPI,
 *   version and health paths; bound to system:authenticated (the latter
 *   also to system:unauthenticated).
 * - cloudlet:member: what a member's own identity needs; bound to the group
 *   cloudlet:members.
 * - cloudlet:host-admin: the permission for host-reaching fields, see
 *   HOST_ACCESS.
 *
 * HOST_ACCESS: a request that sets a field reaching the host (a host path
 * or device, privileged mode, …) must also be authorized as
 * `{verb: 'use', apiGroup: 'cloudlet.dev', resource: 'hostaccess',
 * namespace: <the object's namespace>}`. No object of that resource exists;
 * it is a permission only, like Kubernetes' `use` on podsecuritypolicies.
 * cluster-admin holds it through '*'; admin, edit and view do not;
 * cloudlet:host-admin grants exactly it (bind it with a RoleBinding for one
 * namespace, a ClusterRoleBinding for all).
 */
import { RBAC_GROUP, type ClusterRole, type ClusterRoleBinding, type PolicyRule } from './rbac-types.js';

import { CLOUDLET_GROUP } from '../kinds/registry.js';
import { CLOUDLET_MEMBERS, SYSTEM_AUTHENTICATED, SYSTEM_UNAUTHENTICATED } from './identity.js';

/** HOST_ACCESS is the attribute set (less the namespace) the API authorizes before accepting a host-reaching field. */
export const HOST_ACCESS = { verb: 'use', apiGroup: CLOUDLET_GROUP, resource: 'hostaccess' } as const;

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const READ_WRITE = [...READ, ...WRITE];

function rule(apiGroups: string[], resources: string[], verbs: string[]): PolicyRule {
  return { apiGroups, resources, verbs };
}

const VIEW_RULES: PolicyRule[] = [
  rule([CLOUDLET_GROUP], ['instances', 'instances/status', 'instances/log', 'volumes', 'volumes/status'], READ),
  rule([''], ['events', 'namespaces', 'namespaces/status', 'resourcequotas', 'resourcequotas/status'], READ),
];

const EDIT_RULES: PolicyRule[] = [
  ...VIEW_RULES,
  rule([CLOUDLET_GROUP], ['instances', 'volumes'], WRITE),
  // kubectl exec POSTs (create); a websocket upgrade is a GET (get).
  rule([CLOUDLET_GROUP], ['instances/exec', 'instances/console'], ['create', 'get']),
];

const ADMIN_RULES: PolicyRule[] = [
  ...EDIT_RULES,
  rule([RBAC_GROUP], ['roles', 'rolebindings'], READ_WRITE),
  rule(['authorization.k8s.io'], ['localsubjectaccessreviews'], ['create']),
];

const SELF_REVIEW_RULES: PolicyRule[] = [
  rule(['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], ['create']),
  rule(['authentication.k8s.io'], ['selfsubjectreviews'], ['create']),
];

const PUBLIC_INFO_URLS = ['/healthz', '/livez', '/readyz', '/version', '/version/'];
const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', ...PUBLIC_INFO_URLS];

const MEMBER_RULES: PolicyRule[] = [
  // create: a member registers its own Member at start; update/patch: heartbeats, fencing and failover annotations.
  rule([CLOUDLET_GROUP], ['members'], ['create', ...READ, 'update', 'patch']),
  // update/patch on the objects themselves: members add and remove their per-member finalizers.
  rule([CLOUDLET_GROUP], ['instances', 'volumes', 'storagepools', 'networks'], [...READ, 'update', 'patch']),
  rule(
    [CLOUDLET_GROUP],
    ['members/status', 'instances/status', 'volumes/status', 'storagepools/status', 'networks/status'],
    ['get', 'update', 'patch'],
  ),
  rule([''], ['events'], ['create', 'patch', 'update']),
  rule([''], ['namespaces'], READ),
];

const HOST_ADMIN_RULES: PolicyRule[] = [rule([CLOUDLET_GROUP], [HOST_ACCESS.resource], [HOST_ACCESS.verb])];

/** BOOTSTRAP_LABELS mark the defaults as Kubernetes marks its own. */
export const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' } as const;
/** BOOTSTRAP_ANNOTATIONS say a default is reconciled at start (an admin opts out by setting it to "false"). */
export const BOOTSTRAP_ANNOTATIONS = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } as const;

function clusterRole(name: string, rules: PolicyRule[]): ClusterRole {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...BOOTSTRAP_ANNOTATIONS } },
    rules: structuredClone(rules),
  };
}

function groupBinding(name: string, role: string, groups: string[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...BOOTSTRAP_ANNOTATIONS } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects: groups.map((g) => ({ kind: 'Group' as const, apiGroup: RBAC_GROUP, name: g })),
  };
}

/** defaultClusterRoles returns fresh copies of the default ClusterRoles. */
export function defaultClusterRoles(): ClusterRole[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), { nonResourceURLs: ['*'], verbs: ['*'] }]),
    clusterRole('admin', ADMIN_RULES),
    clusterRole('edit', EDIT_RULES),
    clusterRole('view', VIEW_RULES),
    clusterRole('system:basic-user', SELF_REVIEW_RULES),
    clusterRole('system:discovery', [{ nonResourceURLs: DISCOVERY_URLS, verbs: ['get'] }]),
    clusterRole('system:public-info-viewer', [{ nonResourceURLs: PUBLIC_INFO_URLS, verbs: ['get'] }]),
    clusterRole('cloudlet:member', MEMBER_RULES),
    clusterRole('cloudlet:host-admin', HOST_ADMIN_RULES),
  ];
}

/** defaultClusterRoleBindings returns fresh copies of the default ClusterRoleBindings. */
export function defaultClusterRoleBindings(): ClusterRoleBinding[] {
  return [
    groupBinding('cluster-admin', 'cluster-admin', ['system:masters']),
    groupBinding('system:basic-user', 'system:basic-user', [SYSTEM_AUTHENTICATED]),
    groupBinding('system:discovery', 'system:discovery', [SYSTEM_AUTHENTICATED]),
    groupBinding('system:public-info-viewer', 'system:public-info-viewer', [SYSTEM_AUTHENTICATED, SYSTEM_UNAUTHENTICATED]),
    groupBinding('cloudlet:member', 'cloudlet:member', [CLOUDLET_MEMBERS]),
  ];
}
