import { expect } from 'chai';
import {
  forbiddenMessage,
  RbacAuthorizer,
  type ClusterRole,
  type ClusterRoleBinding,
  type PolicyRule,
  type RequestAttributes,
  type Role,
  type RoleBinding,
  type Subject,
  type UserInfo,
} from '../../../../lib/auth/rbac.js';

const CL = 'cloudlet.dev';
const RBAC = 'rbac.authorization.k8s.io';

function cr(name: string, rules: PolicyRule[], labels?: Record<string, string>): ClusterRole {
  return { metadata: { name, ...(labels ? { labels } : {}) }, rules };
}
function role(namespace: string, name: string, rules: PolicyRule[]): Role {
  return { metadata: { name, namespace }, rules };
}
function user(name: string): Subject {
  return { kind: 'User', apiGroup: RBAC, name };
}
function group(name: string): Subject {
  return { kind: 'Group', apiGroup: RBAC, name };
}
function crb(name: string, roleName: string, subjects: Subject[], kind: 'ClusterRole' | 'Role' = 'ClusterRole'): ClusterRoleBinding {
  return { metadata: { name }, roleRef: { apiGroup: RBAC, kind: kind as 'ClusterRole', name: roleName }, subjects };
}
function rb(namespace: string, name: string, kind: 'Role' | 'ClusterRole', roleName: string, subjects: Subject[]): RoleBinding {
  return { metadata: { name, namespace }, roleRef: { apiGroup: RBAC, kind, name: roleName }, subjects };
}

const clusterRoles = [
  cr('member-reader', [{ apiGroups: [CL], resources: ['members'], verbs: ['get', 'list', 'watch'] }]),
  cr('instance-editor', [{ apiGroups: [CL], resources: ['instances'], verbs: ['*'] }]),
  cr('status-writer', [{ apiGroups: [CL], resources: ['*/status'], verbs: ['update'] }]),
  cr('instance-status', [{ apiGroups: [CL], resources: ['instances/status'], verbs: ['update'] }]),
  cr('everything-in-group', [{ apiGroups: [CL], resources: ['*'], verbs: ['get'] }]),
  cr('named', [{ apiGroups: [CL], resources: ['instances'], resourceNames: ['web'], verbs: ['get', 'update', 'create'] }]),
  cr('urls', [{ nonResourceURLs: ['/metrics', '/debug/*'], verbs: ['get'] }]),
  cr('core-events', [{ apiGroups: [''], resources: ['events'], verbs: ['list'] }]),
];
const roles = [role('team-a', 'volume-writer', [{ apiGroups: [CL], resources: ['volumes'], verbs: ['create', 'delete'] }])];
const roleBindings = [
  rb('team-a', 'bob-instances', 'ClusterRole', 'instance-editor', [user('bob')]),
  rb('team-a', 'bob-volumes', 'Role', 'volume-writer', [user('bob')]),
  rb('team-b', 'devs', 'ClusterRole', 'instance-editor', [group('devs')]),
  rb('team-a', 'grace-urls', 'ClusterRole', 'urls', [user('grace')]),
  rb('team-a', 'builder', 'ClusterRole', 'instance-editor', [{ kind: 'ServiceAccount', name: 'builder' }]),
  rb('team-b', 'missing-role', 'Role', 'volume-writer', [user('bob')]),
  rb('team-b', 'events', 'ClusterRole', 'core-events', [group('devs')]),
];
const clusterRoleBindings = [
  crb('alice-members', 'member-reader', [user('alice')]),
  crb('carol-status', 'status-writer', [user('carol')]),
  crb('dave-status', 'instance-status', [user('dave')]),
  crb('erin-named', 'named', [user('erin')]),
  crb('frank-urls', 'urls', [user('frank')]),
  crb('ivy-group', 'everything-in-group', [user('ivy')]),
  crb('deployer', 'member-reader', [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' }]),
  crb('henry-missing', 'no-such-role', [user('henry')]),
  crb('judy-role-ref', 'volume-writer', [user('judy')], 'Role'),
];
const authz = RbacAuthorizer.fromObjects({ roles, clusterRoles, roleBindings, clusterRoleBindings });

function u(name: string, ...groups: string[]): UserInfo {
  return { name, groups };
}
function res(
  verb: string,
  resource: string,
  namespace?: string,
  extra: { name?: string; subresource?: string; apiGroup?: string } = {},
): RequestAttributes {
  return { verb, apiGroup: extra.apiGroup ?? CL, resource, namespace, name: extra.name, subresource: extra.subresource };
}
const SA = (ns: string, name: string) => u(`system:serviceaccount:${ns}:${name}`, 'system:serviceaccounts');

describe('RbacAuthorizer.authorize', () => {
  const rows: Array<[string, UserInfo, RequestAttributes, boolean]> = [
    // ClusterRoleBinding: cluster scope and every namespace
    ['a ClusterRoleBinding grants at the cluster scope', u('alice'), res('list', 'members'), true],
    ['a ClusterRoleBinding grants in any namespace', u('alice'), res('get', 'members', 'team-z', { name: 'm1' }), true],
    ['a ClusterRoleBinding grants only its verbs', u('alice'), res('delete', 'members', undefined, { name: 'm1' }), false],
    ['a rule of another API group does not match', u('alice'), res('list', 'members', undefined, { apiGroup: '' }), false],
    // RoleBinding: its namespace only
    ['a RoleBinding to a ClusterRole grants in its namespace', u('bob'), res('delete', 'instances', 'team-a', { name: 'web' }), true],
    ['a RoleBinding grants nothing in another namespace', u('bob'), res('delete', 'instances', 'team-c', { name: 'web' }), false],
    ['a RoleBinding grants nothing at the cluster scope', u('bob'), res('list', 'instances'), false],
    ['a RoleBinding to a Role grants the Role', u('bob'), res('create', 'volumes', 'team-a'), true],
    ['a RoleBinding to a Role of another namespace grants nothing', u('bob'), res('create', 'volumes', 'team-b'), false],
    ['a ClusterRoleBinding to a Role grants nothing', u('judy'), res('create', 'volumes', 'team-a'), false],
    ['a binding to a missing role grants nothing', u('henry'), res('get', 'members'), false],
    // groups
    ['a Group subject matches a member of the group', u('zoe', 'devs'), res('create', 'instances', 'team-b'), true],
    ['a Group subject does not match others', u('zoe', 'ops'), res('create', 'instances', 'team-b'), false],
    ['a user named like a group is not in it', u('devs'), res('create', 'instances', 'team-b'), false],
    ['system:masters is always allowed', u('root', 'system:masters'), res('delete', 'members', undefined, { name: 'm1' }), true],
    ['system:masters is allowed non-resource paths', u('root', 'system:masters'), { verb: 'post', path: '/anything' }, true],
    // service accounts
    ['a ServiceAccount subject defaults to the RoleBinding namespace', SA('team-a', 'builder'), res('create', 'instances', 'team-a'), true],
    ['a ServiceAccount of another namespace does not match', SA('team-b', 'builder'), res('create', 'instances', 'team-a'), false],
    ['a ServiceAccount subject with its namespace matches', SA('ci', 'deployer'), res('list', 'members'), true],
    // subresources
    [
      '"*/status" matches any status subresource',
      u('carol'),
      res('update', 'volumes', 'team-a', { name: 'v', subresource: 'status' }),
      true,
    ],
    ['"*/status" does not match the resource itself', u('carol'), res('update', 'volumes', 'team-a', { name: 'v' }), false],
    [
      '"*/status" does not match another subresource',
      u('carol'),
      res('update', 'instances', 'x', { name: 'i', subresource: 'exec' }),
      false,
    ],
    ['"instances/status" matches that subresource', u('dave'), res('update', 'instances', 'x', { name: 'i', subresource: 'status' }), true],
    [
      '"instances/status" does not match volumes/status',
      u('dave'),
      res('update', 'volumes', 'x', { name: 'v', subresource: 'status' }),
      false,
    ],
    [
      'a bare resource does not match its subresources',
      u('bob'),
      res('create', 'instances', 'team-a', { name: 'i', subresource: 'exec' }),
      false,
    ],
    ['"*" matches subresources too', u('ivy'), res('get', 'instances', 'x', { name: 'i', subresource: 'log' }), true],
    // resourceNames
    ['resourceNames allow the named object', u('erin'), res('get', 'instances', 'x', { name: 'web' }), true],
    ['resourceNames refuse another object', u('erin'), res('get', 'instances', 'x', { name: 'db' }), false],
    ['resourceNames refuse a list', u('erin'), res('list', 'instances', 'x'), false],
    ['resourceNames refuse a create without a name', u('erin'), res('create', 'instances', 'x'), false],
    // non-resource URLs
    ['a non-resource URL matches exactly', u('frank'), { verb: 'get', path: '/metrics' }, true],
    ['a non-resource URL is not a prefix without "*"', u('frank'), { verb: 'get', path: '/metrics/extra' }, false],
    ['a trailing "*" matches by prefix', u('frank'), { verb: 'get', path: '/debug/pprof/heap' }, true],
    ['a trailing "*" matches the bare prefix with its slash', u('frank'), { verb: 'get', path: '/debug/' }, true],
    ['a trailing "*" does not match without the slash', u('frank'), { verb: 'get', path: '/debug' }, false],
    ['a non-resource URL rule allows only its verbs', u('frank'), { verb: 'post', path: '/metrics' }, false],
    ['non-resource URLs through a RoleBinding grant nothing', u('grace'), { verb: 'get', path: '/metrics' }, false],
    ['a non-resource rule does not match a resource request', u('frank'), res('get', 'metrics'), false],
    ['a resource rule does not match a non-resource request', u('ivy'), { verb: 'get', path: '/apis/cloudlet.dev' }, false],
    ['the core group is ""', u('zoe', 'devs'), res('list', 'events', 'team-b', { apiGroup: '' }), true],
    ['nobody gets anything by default', u('mallory'), res('get', 'instances', 'team-a', { name: 'web' }), false],
  ];
  for (const [title, who, attrs, allowed] of rows) {
    it(title, () => expect(authz.authorize(who, attrs).allowed, JSON.stringify(attrs)).to.equal(allowed));
  }

  it('denies with the Kubernetes sentence at the cluster scope', () => {
    const d = authz.authorize(u('alice'), res('delete', 'members', undefined, { name: 'm1' }));
    expect(d).to.deep.equal({
      allowed: false,
      reason: 'User "alice" cannot delete resource "members" in API group "cloudlet.dev" at the cluster scope',
    });
  });

  it('denies with the Kubernetes sentence in a namespace, naming the subresource', () => {
    const d = authz.authorize(u('alice'), res('update', 'instances', 'team-b', { name: 'web', subresource: 'status' }));
    expect(d.reason).to.equal(
      'User "alice" cannot update resource "instances/status" in API group "cloudlet.dev" in the namespace "team-b"',
    );
  });

  it('denies a path with the Kubernetes sentence', () => {
    expect(forbiddenMessage(u('alice'), { verb: 'get', path: '/metrics' })).to.equal('User "alice" cannot get path "/metrics"');
  });

  it('names the binding, role and subject that allowed a request', () => {
    expect(authz.authorize(u('zoe', 'devs'), res('get', 'instances', 'team-b')).reason).to.equal(
      'RBAC: allowed by RoleBinding "devs/team-b" of ClusterRole "instance-editor" to Group "devs"',
    );
    expect(authz.authorize(u('alice'), res('get', 'members')).reason).to.equal(
      'RBAC: allowed by ClusterRoleBinding "alice-members" of ClusterRole "member-reader" to User "alice"',
    );
  });
});

describe('RbacAuthorizer.rulesFor', () => {
  it('lists the cluster-wide and namespace rules of a user', () => {
    const r = authz.rulesFor(u('bob'), 'team-a');
    expect(r.resourceRules).to.deep.equal([
      { verbs: ['*'], apiGroups: [CL], resources: ['instances'] },
      { verbs: ['create', 'delete'], apiGroups: [CL], resources: ['volumes'] },
    ]);
    expect(r.nonResourceRules).to.deep.equal([]);
    expect(r.incomplete).to.be.false;
  });

  it('lists only cluster-wide rules without a namespace, non-resource rules included', () => {
    const r = authz.rulesFor(u('frank'));
    expect(r.resourceRules).to.deep.equal([]);
    expect(r.nonResourceRules).to.deep.equal([{ verbs: ['get'], nonResourceURLs: ['/metrics', '/debug/*'] }]);
  });

  it('leaves out non-resource rules granted by a RoleBinding', () => {
    expect(authz.rulesFor(u('grace'), 'team-a').nonResourceRules).to.deep.equal([]);
  });

  it('keeps resourceNames', () => {
    expect(authz.rulesFor(u('erin'), 'x').resourceRules).to.deep.equal([
      { verbs: ['get', 'update', 'create'], apiGroups: [CL], resources: ['instances'], resourceNames: ['web'] },
    ]);
  });

  it('visits a binding naming the user and its group once', () => {
    const a = RbacAuthorizer.fromObjects({ clusterRoles, clusterRoleBindings: [crb('both', 'member-reader', [user('kim'), group('g')])] });
    expect(a.rulesFor(u('kim', 'g')).resourceRules).to.have.length(1);
  });

  it('reports a missing role as an incomplete answer', () => {
    const r = authz.rulesFor(u('bob'), 'team-b');
    expect(r.incomplete).to.be.true;
    expect(r.evaluationError).to.equal('role.rbac.authorization.k8s.io "volume-writer" not found');
  });

  it('gives system:masters every rule', () => {
    const r = authz.rulesFor(u('root', 'system:masters'), 'team-a');
    expect(r.resourceRules).to.deep.include({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    expect(r.nonResourceRules).to.deep.include({ verbs: ['*'], nonResourceURLs: ['*'] });
  });
});

describe('ClusterRole aggregation', () => {
  const agg: ClusterRole = {
    metadata: { name: 'aggregate' },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-agg': 'true' } }] },
  };
  const part = cr('part', [{ apiGroups: [CL], resources: ['volumes'], verbs: ['get'] }], { 'example.com/aggregate-to-agg': 'true' });
  const other = cr('other', [{ apiGroups: [CL], resources: ['members'], verbs: ['get'] }]);
  const binding = crb('agg', 'aggregate', [user('lee')]);

  it('grants the rules of the ClusterRoles its selectors match', () => {
    const a = RbacAuthorizer.fromObjects({ clusterRoles: [agg, part, other], clusterRoleBindings: [binding] });
    expect(a.authorize(u('lee'), res('get', 'volumes', 'x')).allowed).to.be.true;
    expect(a.authorize(u('lee'), res('get', 'members')).allowed).to.be.false;
  });

  it('follows a matching ClusterRole added later', () => {
    const a = RbacAuthorizer.fromObjects({ clusterRoles: [agg, other], clusterRoleBindings: [binding] });
    expect(a.authorize(u('lee'), res('get', 'volumes', 'x')).allowed).to.be.false;
    a.index.upsertClusterRole(part);
    expect(a.authorize(u('lee'), res('get', 'volumes', 'x')).allowed).to.be.true;
    a.index.deleteClusterRole('part');
    expect(a.authorize(u('lee'), res('get', 'volumes', 'x')).allowed).to.be.false;
  });

  it('aggregates transitively and survives a cycle', () => {
    const a1: ClusterRole = {
      ...agg,
      metadata: { name: 'a1', labels: { l: 'a1' } },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { l: 'a2' } }] },
    };
    const a2: ClusterRole = {
      metadata: { name: 'a2', labels: { l: 'a2' } },
      rules: [{ apiGroups: [CL], resources: ['networks'], verbs: ['get'] }],
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { l: 'a1' } }, { matchLabels: { l: 'leaf' } }] },
    };
    const leaf = cr('leaf', [{ apiGroups: [CL], resources: ['storagepools'], verbs: ['get'] }], { l: 'leaf' });
    const a = RbacAuthorizer.fromObjects({ clusterRoles: [a1, a2, leaf], clusterRoleBindings: [crb('b', 'a1', [user('lee')])] });
    expect(a.authorize(u('lee'), res('get', 'networks')).allowed).to.be.true;
    expect(a.authorize(u('lee'), res('get', 'storagepools')).allowed).to.be.true;
  });
});
