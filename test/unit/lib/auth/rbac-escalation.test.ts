import { expect } from 'chai';
import { defaultClusterRoleBindings, defaultClusterRoles } from '../../../../lib/auth/default-roles.js';
import {
  atomicRules,
  checkBindingEscalation,
  checkRoleEscalation,
  ruleCovers,
  uncoveredRules,
} from '../../../../lib/auth/rbac-escalation.js';
import { RbacAuthorizer, type PolicyRule, type RoleBinding, type UserInfo } from '../../../../lib/auth/rbac.js';

const RBAC = 'rbac.authorization.k8s.io';
const CL = 'cloudlet.dev';

function bindIn(namespace: string, kind: 'Role' | 'ClusterRole', role: string, userName: string): RoleBinding {
  return {
    metadata: { name: `${role}-${userName}`, namespace },
    roleRef: { apiGroup: RBAC, kind, name: role },
    subjects: [{ kind: 'User', name: userName }],
  };
}
const authz = RbacAuthorizer.fromObjects({
  clusterRoles: [
    ...defaultClusterRoles(),
    {
      metadata: { name: 'binder' },
      rules: [{ apiGroups: [RBAC], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['cloudlet:host-admin'] }],
    },
  ],
  clusterRoleBindings: defaultClusterRoleBindings(),
  roles: [{ metadata: { name: 'reader', namespace: 'team-a' }, rules: [{ apiGroups: [CL], resources: ['instances'], verbs: ['get'] }] }],
  roleBindings: [bindIn('team-a', 'ClusterRole', 'admin', 'ann'), bindIn('team-a', 'ClusterRole', 'binder', 'ann')],
});
const ann: UserInfo = { name: 'ann', groups: ['system:authenticated'] };
const root: UserInfo = { name: 'root', groups: ['system:masters'] };

describe('RBAC escalation checks', () => {
  it('splits rules into atoms', () => {
    expect(atomicRules([{ apiGroups: [CL], resources: ['a', 'b'], verbs: ['get', 'list'], resourceNames: ['x'] }])).to.have.length(4);
    expect(atomicRules([{ nonResourceURLs: ['/a', '/b'], verbs: ['get'] }])).to.deep.equal([
      { verbs: ['get'], nonResourceURLs: ['/a'] },
      { verbs: ['get'], nonResourceURLs: ['/b'] },
    ]);
  });

  const covers: Array<[string, PolicyRule, PolicyRule, boolean]> = [
    [
      '"*" covers a verb',
      { apiGroups: [CL], resources: ['instances'], verbs: ['*'] },
      { apiGroups: [CL], resources: ['instances'], verbs: ['delete'] },
      true,
    ],
    [
      'a verb does not cover "*"',
      { apiGroups: [CL], resources: ['instances'], verbs: ['get'] },
      { apiGroups: [CL], resources: ['instances'], verbs: ['*'] },
      false,
    ],
    [
      '"*/status" covers instances/status',
      { apiGroups: [CL], resources: ['*/status'], verbs: ['update'] },
      { apiGroups: [CL], resources: ['instances/status'], verbs: ['update'] },
      true,
    ],
    [
      'a resource does not cover its subresource',
      { apiGroups: [CL], resources: ['instances'], verbs: ['get'] },
      { apiGroups: [CL], resources: ['instances/log'], verbs: ['get'] },
      false,
    ],
    [
      'no names cover a name',
      { apiGroups: [CL], resources: ['instances'], verbs: ['get'] },
      { apiGroups: [CL], resources: ['instances'], verbs: ['get'], resourceNames: ['a'] },
      true,
    ],
    [
      'a name does not cover all names',
      { apiGroups: [CL], resources: ['instances'], verbs: ['get'], resourceNames: ['a'] },
      { apiGroups: [CL], resources: ['instances'], verbs: ['get'] },
      false,
    ],
    [
      'a URL prefix covers a longer pattern',
      { nonResourceURLs: ['/apis/*'], verbs: ['get'] },
      { nonResourceURLs: ['/apis/x/*'], verbs: ['get'] },
      true,
    ],
    [
      'a URL does not cover a pattern',
      { nonResourceURLs: ['/apis/x'], verbs: ['get'] },
      { nonResourceURLs: ['/apis/*'], verbs: ['get'] },
      false,
    ],
  ];
  for (const [title, owner, atom, want] of covers) it(title, () => expect(ruleCovers(owner, atom)).to.equal(want));

  it('lists what the owner lacks', () => {
    const owner: PolicyRule[] = [{ apiGroups: [CL], resources: ['instances'], verbs: ['get'] }];
    expect(uncoveredRules(owner, [{ apiGroups: [CL], resources: ['instances'], verbs: ['get', 'delete'] }])).to.deep.equal([
      { apiGroups: [CL], resources: ['instances'], verbs: ['delete'] },
    ]);
  });

  it('lets a namespace admin bind edit and view in its namespace', () => {
    for (const name of ['edit', 'view', 'admin']) {
      expect(
        checkBindingEscalation(authz, ann, { namespace: 'team-a', roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name } }).allowed,
        name,
      ).to.be.true;
    }
  });

  it('does not let a namespace admin bind cluster-admin in its namespace', () => {
    const d = checkBindingEscalation(authz, ann, {
      namespace: 'team-a',
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' },
    });
    expect(d.allowed).to.be.false;
    expect(d.reason).to.match(
      /^user "ann" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n/,
    );
  });

  it('lets a user with bind on a role bind it', () => {
    expect(
      checkBindingEscalation(authz, ann, {
        namespace: 'team-a',
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cloudlet:host-admin' },
      }).allowed,
    ).to.be.true;
    expect(
      checkBindingEscalation(authz, ann, {
        namespace: 'team-b',
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cloudlet:host-admin' },
      }).allowed,
    ).to.be.false;
  });

  it('does not let a namespace admin write a cluster-wide binding of what it holds in one namespace', () => {
    expect(checkBindingEscalation(authz, ann, { roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'view' } }).allowed).to.be.false;
  });

  it('refuses a binding to a missing role', () => {
    expect(
      checkBindingEscalation(authz, ann, { namespace: 'team-a', roleRef: { apiGroup: RBAC, kind: 'Role', name: 'nope' } }),
    ).to.deep.equal({
      allowed: false,
      reason: 'role.rbac.authorization.k8s.io "nope" not found',
    });
    expect(checkBindingEscalation(authz, ann, { namespace: 'team-a', roleRef: { apiGroup: RBAC, kind: 'Role', name: 'reader' } }).allowed)
      .to.be.true;
  });

  it('lets a namespace admin write a Role within its rules but not beyond', () => {
    const ok = { namespace: 'team-a', name: 'r', rules: [{ apiGroups: [CL], resources: ['instances'], verbs: ['get', 'delete'] }] };
    expect(checkRoleEscalation(authz, ann, ok).allowed).to.be.true;
    const hostRule = { apiGroups: [CL], resources: ['hostaccess'], verbs: ['use'] };
    expect(checkRoleEscalation(authz, ann, { ...ok, rules: [hostRule] }).allowed).to.be.false;
    expect(checkRoleEscalation(authz, ann, { ...ok, namespace: 'team-b' }).allowed).to.be.false;
  });

  it('lets system:masters grant anything', () => {
    expect(checkRoleEscalation(authz, root, { name: 'x', rules: [{ nonResourceURLs: ['*'], verbs: ['*'] }] }).allowed).to.be.true;
    expect(checkBindingEscalation(authz, root, { roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' } }).allowed).to.be
      .true;
  });
});
