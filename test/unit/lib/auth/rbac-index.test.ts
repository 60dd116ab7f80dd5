import { expect } from 'chai';
import { RbacAuthorizer, RbacIndex, type ClusterRoleBinding, type RoleBinding, type UserInfo } from '../../../../lib/auth/rbac.js';

const RBAC = 'rbac.authorization.k8s.io';
const reader = { metadata: { name: 'reader' }, rules: [{ apiGroups: ['cloudlet.dev'], resources: ['instances'], verbs: ['get'] }] };
const get = (namespace?: string) => ({ verb: 'get', apiGroup: 'cloudlet.dev', resource: 'instances', namespace, name: 'web' });
const alice: UserInfo = { name: 'alice', groups: ['devs'] };

function rb(name: string, subjects: RoleBinding['subjects'], namespace = 'team-a'): RoleBinding {
  return { metadata: { name, namespace }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'reader' }, subjects };
}
function crb(name: string, subjects: ClusterRoleBinding['subjects']): ClusterRoleBinding {
  return { metadata: { name }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'reader' }, subjects };
}

describe('RbacIndex', () => {
  it('applies an added, changed and deleted RoleBinding at once', () => {
    const index = RbacIndex.from({ clusterRoles: [reader] });
    const authz = new RbacAuthorizer(index);
    expect(authz.authorize(alice, get('team-a')).allowed).to.be.false;
    index.upsertRoleBinding(rb('b', [{ kind: 'User', name: 'alice' }]));
    expect(authz.authorize(alice, get('team-a')).allowed).to.be.true;
    // replacing the subjects un-indexes the old ones
    index.upsertRoleBinding(rb('b', [{ kind: 'User', name: 'bob' }]));
    expect(authz.authorize(alice, get('team-a')).allowed).to.be.false;
    expect(authz.authorize({ name: 'bob', groups: [] }, get('team-a')).allowed).to.be.true;
    index.deleteRoleBinding('team-a', 'b');
    expect(authz.authorize({ name: 'bob', groups: [] }, get('team-a')).allowed).to.be.false;
    expect(index.roleBindingsFor('team-a', 'u:bob').size).to.equal(0);
  });

  it('applies an added, changed and deleted ClusterRoleBinding at once', () => {
    const index = RbacIndex.from({ clusterRoles: [reader] });
    const authz = new RbacAuthorizer(index);
    index.upsertClusterRoleBinding(crb('c', [{ kind: 'Group', name: 'devs' }]));
    expect(authz.authorize(alice, get()).allowed).to.be.true;
    index.upsertClusterRoleBinding(crb('c', [{ kind: 'Group', name: 'ops' }]));
    expect(authz.authorize(alice, get()).allowed).to.be.false;
    expect(index.clusterRoleBindingsFor('g:devs').size).to.equal(0);
    index.deleteClusterRoleBinding('c');
    expect(index.clusterRoleBindingsFor('g:ops').size).to.equal(0);
  });

  it('resolves roles when deciding, so a role edited after its binding counts', () => {
    const index = RbacIndex.from({
      roleBindings: [{ ...rb('b', [{ kind: 'User', name: 'alice' }]), roleRef: { apiGroup: RBAC, kind: 'Role', name: 'r' } }],
    });
    const authz = new RbacAuthorizer(index);
    expect(authz.authorize(alice, get('team-a')).allowed).to.be.false;
    index.upsertRole({ metadata: { name: 'r', namespace: 'team-a' }, rules: reader.rules });
    expect(authz.authorize(alice, get('team-a')).allowed).to.be.true;
    index.deleteRole('team-a', 'r');
    expect(authz.authorize(alice, get('team-a')).allowed).to.be.false;
  });

  it('finds a user bound 20 times among 20000 bindings through the subject index, not a scan', () => {
    const roleBindings: RoleBinding[] = [];
    for (let i = 0; i < 20_000; i++) roleBindings.push(rb(`other-${i}`, [{ kind: 'User', name: `user-${i}` }], `ns-${i % 50}`));
    const clusterRoles = [reader];
    for (let i = 0; i < 20; i++) {
      clusterRoles.push({ metadata: { name: `r${i}` }, rules: [{ apiGroups: ['cloudlet.dev'], resources: [`kind${i}`], verbs: ['get'] }] });
      roleBindings.push({
        ...rb(`mine-${i}`, [{ kind: 'Group', name: 'devs' }], 'ns-7'),
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `r${i}` },
      });
    }
    const authz = RbacAuthorizer.fromObjects({ clusterRoles, roleBindings });
    const denied = { verb: 'delete', apiGroup: 'cloudlet.dev', resource: 'volumes', namespace: 'ns-7', name: 'v' };
    expect(authz.authorize(alice, denied).allowed).to.be.false;
    expect(authz.authorize(alice, { ...denied, verb: 'get', resource: 'kind19' }).allowed).to.be.true;
    // What a decision visits: the bindings of the user's own subjects only (timing is bench/api's job, never a test's).
    expect(authz.index.roleBindingsFor('ns-7', 'g:devs').size).to.equal(20);
    expect(authz.index.roleBindingsFor('ns-7', 'u:alice').size).to.equal(0);
  });
});
