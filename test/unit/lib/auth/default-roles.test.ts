import { expect } from 'chai';
import { defaultClusterRoleBindings, defaultClusterRoles, HOST_ACCESS } from '../../../../lib/auth/default-roles.js';
import { RbacAuthorizer, type RequestAttributes, type RoleBinding, type UserInfo } from '../../../../lib/auth/rbac.js';

const RBAC = 'rbac.authorization.k8s.io';
function bindIn(namespace: string, role: string, userName: string): RoleBinding {
  return {
    metadata: { name: `${role}-${userName}`, namespace },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'User', apiGroup: RBAC, name: userName }],
  };
}

const authz = RbacAuthorizer.fromObjects({
  clusterRoles: defaultClusterRoles(),
  clusterRoleBindings: [
    ...defaultClusterRoleBindings(),
    {
      metadata: { name: 'carl-admin' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'User', name: 'carl' }],
    },
  ],
  roleBindings: [
    bindIn('team-a', 'admin', 'ann'),
    bindIn('team-a', 'edit', 'ed'),
    bindIn('team-a', 'view', 'vi'),
    bindIn('team-a', 'cloudlet:host-admin', 'hal'),
  ],
});

const AUTH = 'system:authenticated';
const USERS: Record<string, UserInfo> = {
  ann: { name: 'ann', groups: [AUTH] },
  ed: { name: 'ed', groups: [AUTH] },
  vi: { name: 'vi', groups: [AUTH] },
  hal: { name: 'hal', groups: [AUTH] },
  carl: { name: 'carl', groups: [AUTH] },
  root: { name: 'root', groups: ['system:masters', AUTH] },
  member: { name: 'member-1', groups: ['cloudlet:members', AUTH] },
  nobody: { name: 'nobody', groups: [AUTH] },
  anonymous: { name: 'system:anonymous', groups: ['system:unauthenticated'] },
};

// [user, verb, "group/resource[/sub]" (core group: "/resource"), namespace ('' cluster scope), allowed]
type Row = [keyof typeof USERS, string, string, string, boolean];
const rows: Row[] = [
  // admin: everything in its namespace, quotas read-only, nothing elsewhere
  ['ann', 'create', 'cloudlet.dev/instances', 'team-a', true],
  ['ann', 'delete', 'cloudlet.dev/volumes', 'team-a', true],
  ['ann', 'create', 'cloudlet.dev/instances/exec', 'team-a', true],
  ['ann', 'create', 'rbac.authorization.k8s.io/rolebindings', 'team-a', true],
  ['ann', 'update', 'rbac.authorization.k8s.io/roles', 'team-a', true],
  ['ann', 'get', '/resourcequotas', 'team-a', true],
  ['ann', 'update', '/resourcequotas', 'team-a', false],
  ['ann', 'get', '/namespaces', 'team-a', true],
  ['ann', 'delete', '/namespaces', 'team-a', false],
  ['ann', 'update', 'cloudlet.dev/instances/status', 'team-a', false],
  ['ann', 'use', 'cloudlet.dev/hostaccess', 'team-a', false],
  ['ann', 'create', 'cloudlet.dev/instances', 'team-b', false],
  ['ann', 'list', 'cloudlet.dev/members', '', false],
  ['ann', 'create', 'rbac.authorization.k8s.io/clusterrolebindings', '', false],
  // edit: read/write of instances and volumes, no RBAC, quotas and events read-only
  ['ed', 'create', 'cloudlet.dev/instances', 'team-a', true],
  ['ed', 'patch', 'cloudlet.dev/volumes', 'team-a', true],
  ['ed', 'deletecollection', 'cloudlet.dev/instances', 'team-a', true],
  ['ed', 'get', 'cloudlet.dev/instances/console', 'team-a', true],
  ['ed', 'get', 'cloudlet.dev/instances/log', 'team-a', true],
  ['ed', 'list', '/events', 'team-a', true],
  ['ed', 'create', '/events', 'team-a', false],
  ['ed', 'list', '/resourcequotas', 'team-a', true],
  ['ed', 'patch', '/resourcequotas', 'team-a', false],
  ['ed', 'create', 'rbac.authorization.k8s.io/rolebindings', 'team-a', false],
  ['ed', 'get', 'rbac.authorization.k8s.io/roles', 'team-a', false],
  ['ed', 'use', 'cloudlet.dev/hostaccess', 'team-a', false],
  ['ed', 'create', 'cloudlet.dev/instances', 'team-b', false],
  // view: reads only
  ['vi', 'get', 'cloudlet.dev/instances', 'team-a', true],
  ['vi', 'watch', 'cloudlet.dev/volumes', 'team-a', true],
  ['vi', 'get', 'cloudlet.dev/instances/log', 'team-a', true],
  ['vi', 'list', '/events', 'team-a', true],
  ['vi', 'create', 'cloudlet.dev/instances', 'team-a', false],
  ['vi', 'create', 'cloudlet.dev/instances/exec', 'team-a', false],
  ['vi', 'list', 'rbac.authorization.k8s.io/rolebindings', 'team-a', false],
  ['vi', 'get', 'cloudlet.dev/instances', 'team-b', false],
  // host access: only cluster-admin (through '*') and cloudlet:host-admin
  ['hal', 'use', 'cloudlet.dev/hostaccess', 'team-a', true],
  ['hal', 'use', 'cloudlet.dev/hostaccess', 'team-b', false],
  ['hal', 'create', 'cloudlet.dev/instances', 'team-a', false],
  ['carl', 'use', 'cloudlet.dev/hostaccess', 'team-b', true],
  ['carl', 'delete', 'cloudlet.dev/members', '', true],
  ['carl', 'create', 'rbac.authorization.k8s.io/clusterrolebindings', '', true],
  ['root', 'delete', 'cloudlet.dev/storagepools', '', true],
  // a member's identity
  ['member', 'create', 'cloudlet.dev/members', '', true],
  ['member', 'update', 'cloudlet.dev/members/status', '', true],
  ['member', 'delete', 'cloudlet.dev/members', '', false],
  ['member', 'watch', 'cloudlet.dev/instances', 'team-a', true],
  ['member', 'update', 'cloudlet.dev/instances/status', 'team-a', true],
  ['member', 'patch', 'cloudlet.dev/storagepools/status', '', true],
  ['member', 'update', 'cloudlet.dev/networks/status', '', true],
  ['member', 'create', 'cloudlet.dev/instances', 'team-a', false],
  ['member', 'delete', 'cloudlet.dev/volumes', 'team-a', false],
  ['member', 'create', '/events', 'team-a', true],
  ['member', 'patch', '/events', 'team-a', true],
  ['member', 'list', '/namespaces', '', true],
  ['member', 'create', 'cloudlet.dev/instances/exec', 'team-a', false],
  ['member', 'use', 'cloudlet.dev/hostaccess', 'team-a', false],
  ['member', 'list', 'rbac.authorization.k8s.io/roles', 'team-a', false],
  // every authenticated user: self reviews
  ['nobody', 'create', 'authorization.k8s.io/selfsubjectaccessreviews', '', true],
  ['nobody', 'create', 'authorization.k8s.io/selfsubjectrulesreviews', '', true],
  ['nobody', 'create', 'authentication.k8s.io/selfsubjectreviews', '', true],
  ['nobody', 'create', 'authorization.k8s.io/subjectaccessreviews', '', false],
  ['nobody', 'get', 'cloudlet.dev/instances', 'team-a', false],
  ['anonymous', 'create', 'authorization.k8s.io/selfsubjectaccessreviews', '', false],
];

function attrs(verb: string, path: string, namespace: string): RequestAttributes {
  const [apiGroup = '', resource = '', subresource] = path.split('/');
  return {
    verb,
    apiGroup,
    resource,
    subresource,
    namespace: namespace || undefined,
    name: verb === 'create' || verb.startsWith('list') ? undefined : 'x',
  };
}

describe('default ClusterRoles', () => {
  for (const [who, verb, path, ns, allowed] of rows) {
    it(`${allowed ? 'lets' : 'does not let'} ${who} ${verb} ${path}${ns ? ` in ${ns}` : ''}`, () => {
      expect(authz.authorize(USERS[who] as UserInfo, attrs(verb, path, ns)).allowed).to.equal(allowed);
    });
  }

  const paths: Array<[string, string, boolean]> = [
    ['nobody', '/api', true],
    ['nobody', '/apis/cloudlet.dev/v1alpha1', true],
    ['nobody', '/openapi/v3', true],
    ['nobody', '/version', true],
    ['nobody', '/healthz', true],
    ['nobody', '/metrics', false],
    ['anonymous', '/version', true],
    ['anonymous', '/livez', true],
    ['anonymous', '/apis', false],
    ['carl', '/metrics', true],
    ['ann', '/metrics', false],
  ];
  for (const [who, path, allowed] of paths) {
    it(`${allowed ? 'lets' : 'does not let'} ${who} get ${path}`, () => {
      expect(authz.authorize(USERS[who] as UserInfo, { verb: 'get', path }).allowed).to.equal(allowed);
    });
  }

  it('marks every default as a bootstrap default that is auto-updated', () => {
    for (const o of [...defaultClusterRoles(), ...defaultClusterRoleBindings()]) {
      expect(o.metadata.labels, o.metadata.name).to.deep.equal({ 'kubernetes.io/bootstrapping': 'rbac-defaults' });
      expect(o.metadata.annotations, o.metadata.name).to.deep.equal({ 'rbac.authorization.kubernetes.io/autoupdate': 'true' });
    }
  });

  it('binds every default binding to a default role', () => {
    const names = new Set(defaultClusterRoles().map((r) => r.metadata.name));
    for (const b of defaultClusterRoleBindings()) expect(names.has(b.roleRef.name), b.roleRef.name).to.be.true;
  });

  it('returns fresh copies each time', () => {
    const a = defaultClusterRoles();
    a[0]?.rules?.push({ verbs: ['x'] });
    expect(defaultClusterRoles()[0]?.rules).to.have.length(2);
  });

  it('names the host access permission as use on cloudlet.dev hostaccess', () => {
    expect(HOST_ACCESS).to.deep.equal({ verb: 'use', apiGroup: 'cloudlet.dev', resource: 'hostaccess' });
  });
});
