/**
 * bench/api, RBAC part (issue: "create and get at concurrency 64 with RBAC on
 * (a user bound to 20 roles) vs the admin token, same run: overhead ≤ 10 %").
 *
 * setupBenchUser issues an automation token to `bench-user` (through
 * Credentials, straight into the same etcd, as `cloudlet token create` does)
 * and binds it, with the admin token through the API, to 20 roles in the
 * bench namespace: even-numbered ClusterRoles, odd-numbered Roles, each with
 * its own decoy rules that come close to `create`/`get` on instances (same
 * group and resource with other verbs, the right verb with resourceNames,
 * a subresource, other resources) without granting them. Only the last
 * binding, made last, grants create and get on instances. The evaluator
 * visits a user's ClusterRoleBindings (the defaults for
 * system:authenticated), then the RoleBindings of the namespace in the order
 * its index received them, so every request of the user walks the 19 decoys'
 * rules before it is allowed.
 *
 * measureRbacOverhead then times the same creates and gets at one
 * concurrency as admin and as that user, alternating admin, user, user,
 * admin, … so drift (etcd growing, other work on the machine) falls on both
 * sides, and keeps every sample.
 *
 * measureAuthorizerCost times what differs between the two sides in
 * isolation, in this process: RbacAuthorizer.authorize over the RBAC objects
 * the server holds, and the SHA-256 the CredentialCache computes per issued
 * token. On a busy 2-core machine the end-to-end turns move by more than
 * the goal's 10 %; this per-request cost tells whether a gap is RBAC.
 */
import { Agent } from 'node:http';
import { Credentials, tokenSecretHash } from '../../lib/auth/credentials.js';
import { ADMIN_USER, SYSTEM_MASTERS, withAuthenticated } from '../../lib/auth/identity.js';
import { RbacAuthorizer, type ClusterRole, type ClusterRoleBinding, type Role, type RoleBinding } from '../../lib/auth/rbac.js';
import { CLUSTER_ROLE_BINDING_KIND, CLUSTER_ROLE_KIND, ROLE_BINDING_KIND, ROLE_KIND } from '../../lib/kinds/builtin.js';
import type { RawKV, Store } from '../../lib/store/types.js';
import { percentile, sleepMs } from '../common.js';
import { httpCall, must, type ApiTarget } from './http.js';

/** BENCH_USER is the user the RBAC part binds and times. */
export const BENCH_USER = 'bench-user';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const GROUP = 'cloudlet.dev';

/** RbacSetup is what setupBenchUser made. */
export interface RbacSetup {
  token: string;
  roles: number;
  /** grantedBy: the SelfSubjectAccessReview's reason for the user's create, naming the binding that allowed it */
  grantedBy: string;
}

function decoyRules(i: number): unknown[] {
  return [
    { apiGroups: [GROUP], resources: ['instances'], verbs: ['list', 'watch'] },
    { apiGroups: [GROUP], resources: ['instances'], verbs: ['get', 'update', 'delete'], resourceNames: [`reserved-${i}`] },
    { apiGroups: [GROUP], resources: ['instances/status', `volumes-${i}`], verbs: ['create', 'get'] },
    { apiGroups: [''], resources: ['configmaps', `bench-things-${i}`], verbs: ['*'] },
  ];
}

/** setupBenchUser: see the file comment. `admin` must carry the admin token; `namespace` must exist. */
export async function setupBenchUser(opts: { raw: RawKV; admin: ApiTarget; namespace: string; roles: number }): Promise<RbacSetup> {
  const { admin, namespace: ns, roles } = opts;
  const { token } = await new Credentials(opts.raw).createToken({ user: BENCH_USER, groups: [], description: 'bench/api RBAC overhead' });
  for (let i = 0; i < roles; i++) {
    const id = String(i).padStart(2, '0');
    const last = i === roles - 1;
    const rules = last ? [{ apiGroups: [GROUP], resources: ['instances'], verbs: ['create', 'get'] }] : decoyRules(i);
    const cluster = i % 2 === 0;
    const roleName = `bench-${ns}-role-${id}`;
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: cluster ? 'ClusterRole' : 'Role',
      metadata: { name: roleName },
      rules,
    };
    await must(httpCall(admin, 'POST', cluster ? `${RBAC}/clusterroles` : `${RBAC}/namespaces/${ns}/roles`, role), 201);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `bench-rb-${id}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: role.kind, name: roleName },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: BENCH_USER }],
    };
    await must(httpCall(admin, 'POST', `${RBAC}/namespaces/${ns}/rolebindings`, binding), 201);
  }
  const user: ApiTarget = { port: admin.port, agent: admin.agent, token };
  const grantedBy = await waitForGrant(user, ns);
  if (!grantedBy.includes(`bench-rb-${String(roles - 1).padStart(2, '0')}`))
    throw new Error(`${BENCH_USER} is allowed by something other than the last binding: ${grantedBy}`);
  return { token, roles, grantedBy };
}

/** waitForGrant asks (SelfSubjectAccessReview, as the user) until the API's RBAC cache allows the create, and returns why. */
async function waitForGrant(user: ApiTarget, ns: string): Promise<string> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { namespace: ns, verb: 'create', group: GROUP, resource: 'instances' } },
  };
  let last = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    const r = await httpCall(user, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', review);
    last = `${r.status} ${r.text.slice(0, 300)}`;
    if (r.status === 201 || r.status === 200) {
      const status = (JSON.parse(r.text) as { status?: { allowed?: boolean; reason?: string } }).status;
      if (status?.allowed) return status.reason ?? '';
    }
    await sleepMs(100);
  }
  throw new Error(`${BENCH_USER} was never allowed to create instances in ${ns}: ${last}`);
}

/** RbacSample is one timed turn of one side. */
export interface RbacSample {
  who: 'admin' | 'user';
  createOpsPerSec: number;
  getOpsPerSec: number;
}

/** OpsPair is ops/s of create and of get. */
export interface OpsPair {
  create: number;
  get: number;
}

/** RbacResult: every sample, the best and the median turn of each side, and the overhead (admin − user) / admin of each. */
export interface RbacResult {
  concurrency: number;
  ops: number;
  samples: RbacSample[];
  best: { admin: OpsPair; user: OpsPair; overhead: OpsPair };
  median: { admin: OpsPair; user: OpsPair; overhead: OpsPair };
}

/**
 * measureRbacOverhead times `ops` creates then `ops` gets of fresh instances
 * per turn, `rounds` turns per side in the order admin, user, user, admin, …
 */
export async function measureRbacOverhead(opts: {
  port: number;
  adminToken: string;
  userToken: string;
  namespace: string;
  ops: number;
  concurrency: number;
  rounds: number;
  timeOps: (n: number, concurrency: number, op: (i: number) => Promise<unknown>) => Promise<number>;
  instance: (name: string, ns: string) => unknown;
}): Promise<RbacResult> {
  const { namespace: ns, ops, concurrency: c } = opts;
  const order: Array<'admin' | 'user'> = [];
  for (let r = 0; r < opts.rounds; r++) order.push(...(r % 2 === 0 ? (['admin', 'user'] as const) : (['user', 'admin'] as const)));
  const samples: RbacSample[] = [];
  const base = `/apis/${GROUP}/v1alpha1/namespaces/${ns}/instances`;
  for (const [turn, who] of order.entries()) {
    const agent = new Agent({ keepAlive: true, maxSockets: c });
    const target: ApiTarget = { port: opts.port, agent, token: who === 'admin' ? opts.adminToken : opts.userToken };
    const name = (i: number): string => `${who[0]}${turn}-${i}`;
    const createOpsPerSec = await opts.timeOps(ops, c, (i) => must(httpCall(target, 'POST', base, opts.instance(name(i), ns)), 201));
    const getOpsPerSec = await opts.timeOps(ops, c, (i) => must(httpCall(target, 'GET', `${base}/${name(i)}`), 200));
    samples.push({ who, createOpsPerSec, getOpsPerSec });
    agent.destroy();
  }
  const summary = (pick: (xs: number[]) => number): RbacResult['best'] => {
    const side = (who: 'admin' | 'user'): OpsPair => {
      const mine = samples.filter((s) => s.who === who);
      return { create: pick(mine.map((s) => s.createOpsPerSec)), get: pick(mine.map((s) => s.getOpsPerSec)) };
    };
    const admin = side('admin');
    const user = side('user');
    return { admin, user, overhead: { create: (admin.create - user.create) / admin.create, get: (admin.get - user.get) / admin.get } };
  };
  return { concurrency: c, ops, samples, best: summary((xs) => Math.max(...xs)), median: summary((xs) => percentile(xs, 50)) };
}

/** AuthorizerCost: microseconds per call of what the user's requests pay and the admin's do not. */
export interface AuthorizerCost {
  adminAuthorizeUs: number;
  userAuthorizeUs: number;
  tokenHashUs: number;
}

/** measureAuthorizerCost: see the file comment. `calls` per measurement, after as many to warm up. */
export async function measureAuthorizerCost(opts: { store: Store; namespace: string; calls: number }): Promise<AuthorizerCost> {
  const [roles, clusterRoles, roleBindings, clusterRoleBindings] = await Promise.all(
    [ROLE_KIND, CLUSTER_ROLE_KIND, ROLE_BINDING_KIND, CLUSTER_ROLE_BINDING_KIND].map(async (k) => (await opts.store.list(k)).items),
  );
  const authz = RbacAuthorizer.fromObjects({
    roles: roles as unknown as Role[],
    clusterRoles: clusterRoles as unknown as ClusterRole[],
    roleBindings: roleBindings as unknown as RoleBinding[],
    clusterRoleBindings: clusterRoleBindings as unknown as ClusterRoleBinding[],
  });
  const admin = { name: ADMIN_USER, groups: withAuthenticated([SYSTEM_MASTERS]) };
  const user = { name: BENCH_USER, groups: withAuthenticated([]) };
  const attrs = { verb: 'get', apiGroup: GROUP, resource: 'instances', namespace: opts.namespace, name: 'x' };
  if (!authz.authorize(user, attrs).allowed) throw new Error(`${BENCH_USER} is not allowed in the in-process evaluator`);
  const usPerCall = (f: () => unknown): number => {
    for (let i = 0; i < opts.calls; i++) f();
    const start = process.hrtime.bigint();
    for (let i = 0; i < opts.calls; i++) f();
    return Number(process.hrtime.bigint() - start) / 1000 / opts.calls;
  };
  const secret = 'x'.repeat(43);
  return {
    adminAuthorizeUs: usPerCall(() => authz.authorize(admin, attrs)),
    userAuthorizeUs: usPerCall(() => authz.authorize(user, attrs)),
    tokenHashUs: usPerCall(() => tokenSecretHash(secret)),
  };
}
