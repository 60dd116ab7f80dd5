/**
 * Access control end to end: a real daemon (`cloudlet up`, hollow runtime),
 * users made with `cloudlet user create` (a key made by the CLI, a
 * certificate from the cluster CA, a role binding) and the real kubectl and
 * plain HTTPS requests with those client certificates.
 *
 * Three users: `root1` bound to cluster-admin, `alice` bound to edit in
 * team-a, `bob` bound to view in team-b. The table test sends every verb on
 * every kind in both namespaces as every user and checks each answer is a
 * 403 exactly where Kubernetes' default roles say it must be.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kubectlRunner, type KubectlRunner } from '../helpers/kubectl.js';
import { waitFor } from '../helpers/poll.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';

interface Answer {
  status: number;
  body: string;
}

/** Caller sends HTTPS requests as one identity (a client certificate or a bearer token). */
interface Caller {
  send(method: string, path: string, body?: unknown, contentType?: string): Promise<Answer>;
}

interface KubeconfigFile {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
}

function callerOf(kubeconfigPath: string, tokenOverride?: string): Caller {
  const kc = parseYaml(readFileSync(kubeconfigPath, 'utf8')) as KubeconfigFile;
  const cluster = kc.clusters[0]?.cluster;
  const user = kc.users[0]?.user;
  if (!cluster || !user) throw new Error(`${kubeconfigPath} has no cluster or user`);
  const server = new URL(cluster.server);
  const ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
  const token = tokenOverride ?? user.token;
  const cert = !tokenOverride && user['client-certificate-data'] ? Buffer.from(user['client-certificate-data'], 'base64') : undefined;
  const key = !tokenOverride && user['client-key-data'] ? Buffer.from(user['client-key-data'], 'base64') : undefined;
  return {
    send(method, path, body, contentType = 'application/json') {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        const text = body === undefined ? undefined : JSON.stringify(body);
        if (text !== undefined) headers['content-type'] = contentType;
        const req = request({ host: server.hostname, port: server.port, path, method, ca, cert, key, headers, agent: false }, (res) => {
          let out = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (out += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
        });
        req.on('error', reject);
        req.end(text);
      });
    },
  };
}

interface KindCase {
  plural: string;
  group: string;
  version: string;
  namespaced: boolean;
}

const KINDS: KindCase[] = [
  { plural: 'instances', group: 'cloudlet.dev', version: 'v1alpha1', namespaced: true },
  { plural: 'volumes', group: 'cloudlet.dev', version: 'v1alpha1', namespaced: true },
  { plural: 'events', group: '', version: 'v1', namespaced: true },
  { plural: 'resourcequotas', group: '', version: 'v1', namespaced: true },
  { plural: 'roles', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true },
  { plural: 'rolebindings', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true },
  { plural: 'members', group: 'cloudlet.dev', version: 'v1alpha1', namespaced: false },
  { plural: 'storagepools', group: 'cloudlet.dev', version: 'v1alpha1', namespaced: false },
  { plural: 'networks', group: 'cloudlet.dev', version: 'v1alpha1', namespaced: false },
  { plural: 'clusterroles', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: false },
  { plural: 'namespaces', group: '', version: 'v1', namespaced: false },
];
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;
type Verb = (typeof VERBS)[number];
const NAMESPACES = ['team-a', 'team-b'];
const READ: ReadonlySet<Verb> = new Set(['get', 'list', 'watch']);

/**
 * expectedAllowed is the table's truth, written from Kubernetes' default
 * roles (not from Cloudlet's code): cluster-admin may do everything; edit
 * may read and write instances and volumes and read events, quotas and its
 * own namespace, only in its namespace; view may only read those.
 */
function expectedAllowed(user: string, verb: Verb, kind: KindCase, ns: string): boolean {
  if (user === 'root1') return true;
  const home = user === 'alice' ? 'team-a' : 'team-b';
  if (!kind.namespaced) {
    // one namespace object, read through the RoleBinding in it (`kubectl get ns team-a`)
    return kind.plural === 'namespaces' && verb === 'get' && ns === home;
  }
  if (ns !== home) return false;
  const readable = ['instances', 'volumes', 'events', 'resourcequotas'].includes(kind.plural);
  const writable = ['instances', 'volumes'].includes(kind.plural);
  if (READ.has(verb)) return readable;
  return user === 'alice' && writable;
}

function pathOf(kind: KindCase, ns: string, verb: Verb): string {
  const base = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  if (kind.plural === 'namespaces') {
    if (verb === 'get' || verb === 'update' || verb === 'patch' || verb === 'delete') return `${base}/namespaces/${ns}`;
    return `${base}/namespaces${verb === 'watch' ? '?watch=true&timeoutSeconds=1' : ''}`;
  }
  const collection = kind.namespaced ? `${base}/namespaces/${ns}/${kind.plural}` : `${base}/${kind.plural}`;
  switch (verb) {
    case 'list':
    case 'create':
      return collection;
    case 'watch':
      return `${collection}?watch=true&timeoutSeconds=1`;
    default:
      return `${collection}/no-such-object`;
  }
}

async function send(c: Caller, verb: Verb, kind: KindCase, ns: string): Promise<Answer> {
  const path = pathOf(kind, ns, verb);
  switch (verb) {
    case 'create':
      // not a valid object: an allowed create fails validation (4xx other than 403) and nothing is made
      return c.send('POST', path, { metadata: { name: 'table-probe' }, spec: 'not an object' });
    case 'update':
      return c.send('PUT', path, { metadata: { name: kind.plural === 'namespaces' ? ns : 'no-such-object' }, spec: 'not an object' });
    case 'patch':
      return c.send('PATCH', path, { metadata: { labels: { probe: 'x' } }, spec: 'not an object' }, 'application/merge-patch+json');
    case 'delete':
      // dryRun: an allowed delete of a namespace must not delete it
      return c.send('DELETE', `${path}?dryRun=All`);
    default:
      return c.send('GET', path);
  }
}

describe('access control: users, roles and tenants against a running daemon', function () {
  this.timeout(300_000);
  let d: TestDaemon | undefined;
  let dir: string;
  const kubeconfigs: Record<string, string> = {};
  const callers: Record<string, Caller> = {};
  const kubectlAs: Record<string, KubectlRunner> = {};

  function cloudlet(...args: string[]): string {
    const r = (d as TestDaemon).cloudlet(args);
    if (r.code !== 0) throw new Error(`cloudlet ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudlet-access-e2e-'));
    d = await startDaemon({ extraArgs: ['--runtime', 'hollow'] });
    const users: Array<[string, string[]]> = [
      ['root1', ['--role', 'cluster-admin']],
      ['alice', ['--namespace', 'team-a', '--role', 'edit', '--group', 'developers']],
      ['bob', ['--namespace', 'team-b', '--role', 'view']],
    ];
    for (const [name, flags] of users) {
      const out = join(dir, `${name}.kubeconfig`);
      expect(cloudlet('user', 'create', name, ...flags, '--out', out)).to.match(new RegExp(`user ${name} created`));
      kubeconfigs[name] = out;
      callers[name] = callerOf(out);
      kubectlAs[name] = kubectlRunner({ kubeconfig: out, dir: join(dir, name) });
    }
  });

  after(async () => {
    await d?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl auth whoami names each user with its certificate groups', async () => {
    const r = await kubectlAs.alice?.run(['auth', 'whoami', '-o', 'json']);
    expect(r?.code, r?.stderr).to.equal(0);
    const review = JSON.parse(r?.stdout ?? '{}') as { status: { userInfo: { username: string; groups: string[] } } };
    expect(review.status.userInfo.username).to.equal('alice');
    expect(review.status.userInfo.groups).to.include.members(['developers', 'system:authenticated']);
  });

  it('every verb on every kind in both namespaces is allowed or refused as the default roles say', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const user of ['root1', 'alice', 'bob']) {
      const c = callers[user] as Caller;
      for (const kind of KINDS) {
        for (const verb of VERBS) {
          for (const ns of kind.namespaced || kind.plural === 'namespaces' ? NAMESPACES : ['']) {
            const want = expectedAllowed(user, verb, kind, ns || 'team-a');
            const a = await send(c, verb, kind, ns || 'team-a');
            checked++;
            const refused = a.status === 403;
            if (a.status === 401 || refused === want) {
              wrong.push(
                `${user} ${verb} ${kind.plural} ${ns || '(cluster)'}: want ${want ? 'allowed' : '403'}, got ${a.status} ${a.body.slice(0, 160)}`,
              );
            }
          }
        }
      }
    }
    expect(wrong, `${wrong.length} of ${checked} answers differ from the table:\n${wrong.join('\n')}`).to.deep.equal([]);
    expect(checked).to.equal(3 * (6 * 7 * 2 + 4 * 7 + 7 * 2));
  });

  it('a refusal is a Kubernetes Forbidden that names the user, verb, resource and namespace', async () => {
    const r = await kubectlAs.alice?.run(['get', 'instances', '-n', 'team-b']);
    expect(r?.code).to.not.equal(0);
    expect(r?.stderr).to.include('User "alice" cannot list resource "instances" in API group "cloudlet.dev" in the namespace "team-b"');
    const m = await kubectlAs.bob?.run(['get', 'members']);
    expect(m?.stderr).to.include('User "bob" cannot list resource "members" in API group "cloudlet.dev" at the cluster scope');
  });

  it('kubectl auth can-i answers from the same rules', async () => {
    const can = async (user: string, ...args: string[]): Promise<string> =>
      ((await kubectlAs[user]?.run(['auth', 'can-i', ...args]))?.stdout ?? '').trim();
    expect(await can('alice', 'create', 'instances.cloudlet.dev', '-n', 'team-a')).to.equal('yes');
    expect(await can('alice', 'create', 'instances.cloudlet.dev', '-n', 'team-b')).to.equal('no');
    expect(await can('bob', 'delete', 'volumes.cloudlet.dev', '-n', 'team-b')).to.equal('no');
    expect(await can('bob', 'list', 'volumes.cloudlet.dev', '-n', 'team-b')).to.equal('yes');
    expect(await can('root1', 'delete', 'members.cloudlet.dev')).to.equal('yes');
  });

  it('an edit user creates instances in its namespace with kubectl; a privileged one is refused naming the field', async () => {
    const manifest = (name: string, extra = ''): string =>
      `apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: ${name}, namespace: team-a}\nspec:\n  image: busybox\n${extra}`;
    const ok = await kubectlAs.alice?.run(['apply', '-f', '-'], { input: manifest('web') });
    expect(ok?.code, ok?.stderr).to.equal(0);
    const bad = await kubectlAs.alice?.run(['apply', '-f', '-'], { input: manifest('root', '  security: {privileged: true}\n') });
    expect(bad?.code).to.not.equal(0);
    expect(bad?.stderr).to.include('spec.security.privileged');
    expect(bad?.stderr).to.include('forbidden');
    const admin = await kubectlAs.root1?.run(['apply', '-f', '-'], { input: manifest('root', '  security: {privileged: true}\n') });
    expect(admin?.code, admin?.stderr).to.equal(0);
  });

  it('kubectl create role and rolebinding work for a cluster admin, not for an edit user', async () => {
    const role = await kubectlAs.root1?.run([
      'create',
      'role',
      'reader',
      '-n',
      'team-b',
      '--verb=get,list',
      '--resource=instances.cloudlet.dev',
    ]);
    expect(role?.code, role?.stderr).to.equal(0);
    const rb = await kubectlAs.root1?.run(['create', 'rolebinding', 'alice-reads-b', '-n', 'team-b', '--role=reader', '--user=alice']);
    expect(rb?.code, rb?.stderr).to.equal(0);
    await waitFor('alice to be allowed to list team-b instances', async () =>
      (await callers.alice?.send('GET', '/apis/cloudlet.dev/v1alpha1/namespaces/team-b/instances'))?.status === 200 ? true : undefined,
    );
    const denied = await kubectlAs.alice?.run(['create', 'rolebinding', 'self', '-n', 'team-a', '--clusterrole=admin', '--user=alice']);
    expect(denied?.code).to.not.equal(0);
    expect(denied?.stderr).to.match(/forbidden/i);
  });

  it('a quota caps a namespace: the create over it is refused naming the quota, and racing creates at the edge admit one', async () => {
    const q = await kubectlAs.root1?.run([
      'create',
      'quota',
      'team-a-quota',
      '-n',
      'team-a',
      '--hard=count/instances.cloudlet.dev=3,limits.cpu=8,limits.memory=16Gi',
    ]);
    expect(q?.code, q?.stderr).to.equal(0);
    // two instances are in team-a already (web, root): one more fits
    await waitFor('the quota to count what team-a holds', async () => {
      const r = await kubectlAs.alice?.run([
        'get',
        'quota',
        'team-a-quota',
        '-n',
        'team-a',
        '-o',
        'jsonpath={.status.used.count/instances\\.cloudlet\\.dev}',
      ]);
      return r?.stdout.trim() === '2' ? true : undefined;
    });
    const body = (name: string) => ({
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name, namespace: 'team-a' },
      spec: { image: 'busybox' },
    });
    const path = '/apis/cloudlet.dev/v1alpha1/namespaces/team-a/instances';
    const alice = callers.alice as Caller;
    const [a, b] = await Promise.all([alice.send('POST', path, body('race-1')), alice.send('POST', path, body('race-2'))]);
    expect([a.status, b.status].sort(), `${a.body}\n${b.body}`).to.deep.equal([201, 403]);
    const refused = a.status === 403 ? a : b;
    expect(JSON.parse(refused.body).message).to.match(
      /is forbidden: exceeded quota: team-a-quota, requested: count\/instances\.cloudlet\.dev=1, used: count\/instances\.cloudlet\.dev=3, limited: count\/instances\.cloudlet\.dev=3/,
    );
    const again = await kubectlAs.alice?.run(['apply', '-f', '-'], {
      input: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: one-more, namespace: team-a}\nspec: {image: busybox}\n',
    });
    expect(again?.code).to.not.equal(0);
    expect(again?.stderr).to.include('exceeded quota: team-a-quota');
  });

  it('deleting a namespace deletes what is in it; default cannot be deleted', async () => {
    const admin = kubectlAs.root1 as KubectlRunner;
    expect((await admin.run(['create', 'namespace', 'scratch'])).code).to.equal(0);
    const made = await admin.run(['apply', '-f', '-'], {
      input: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: tmp, namespace: scratch}\nspec: {image: busybox}\n',
    });
    expect(made.code, made.stderr).to.equal(0);
    const del = await admin.run(['delete', 'namespace', 'scratch', '--wait=false']);
    expect(del.code, del.stderr).to.equal(0);
    const refused = await admin.run(['apply', '-f', '-'], {
      input: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: late, namespace: scratch}\nspec: {image: busybox}\n',
    });
    if (refused.code !== 0) expect(refused.stderr).to.match(/being terminated|not found/);
    await waitFor('namespace scratch and its instance to be gone', async () => {
      const ns = await admin.run(['get', 'namespace', 'scratch']);
      const inst = await admin.run(['get', 'instances', '-A', '-o', 'jsonpath={.items[*].metadata.namespace}']);
      return ns.code !== 0 && !inst.stdout.split(' ').includes('scratch') ? true : undefined;
    });
    const def = await admin.run(['delete', 'namespace', 'default', '--wait=false']);
    expect(def.code).to.not.equal(0);
    expect(def.stderr).to.include('may not be deleted');
  });

  it('a revoked user is refused by the API within seconds', async () => {
    expect((await callers.bob?.send('GET', '/apis/cloudlet.dev/v1alpha1/namespaces/team-b/instances'))?.status).to.equal(200);
    expect(cloudlet('user', 'revoke', 'bob')).to.match(/user bob revoked: 1 certificate/);
    await waitFor('bob to be refused', async () =>
      (await callers.bob?.send('GET', '/apis/cloudlet.dev/v1alpha1/namespaces/team-b/instances'))?.status === 401 ? true : undefined,
    );
    expect(cloudlet('user', 'list')).to.not.match(/^bob\s/m);
  });

  it('API tokens for automation: made with a TTL and a role, listed without secrets, revoked', async () => {
    const token = cloudlet('token', 'create', '--user', 'ci', '--namespace', 'team-a', '--role', 'view', '--ttl', '1h').trim();
    expect(token).to.match(/^cloudlet-[0-9a-f]{16}\./);
    const ci = callerOf(d?.kubeconfig as string, token);
    await waitFor('the token to be accepted', async () =>
      (await ci.send('GET', '/apis/cloudlet.dev/v1alpha1/namespaces/team-a/instances')).status === 200 ? true : undefined,
    );
    expect((await ci.send('DELETE', '/apis/cloudlet.dev/v1alpha1/namespaces/team-a/instances/web')).status).to.equal(403);
    const id = (/^cloudlet-([0-9a-f]{16})\./.exec(token) as RegExpExecArray)[1] as string;
    const list = cloudlet('token', 'list');
    expect(list).to.match(new RegExp(`^${id}\\s+api\\s+ci\\s`, 'm'));
    expect(list).to.not.include(token.split('.')[1] as string);
    cloudlet('token', 'revoke', id);
    await waitFor('the revoked token to be refused', async () =>
      (await ci.send('GET', '/apis/cloudlet.dev/v1alpha1/namespaces/team-a/instances')).status === 401 ? true : undefined,
    );
  });

  it('join tokens are listed and revoked by id', async () => {
    cloudlet('token', 'create', '--ttl', '10m');
    const line = cloudlet('token', 'list')
      .split('\n')
      .find((l) => /\sjoin\s/.test(l));
    expect(line, 'a join token line').to.be.a('string');
    const id = (line as string).split(/\s+/)[0] as string;
    cloudlet('token', 'revoke', id);
    expect(cloudlet('token', 'list')).to.not.include(id);
  });

  it('the audit log records allowed changes and refusals with user, verb, resource and code', async () => {
    const path = join((d as TestDaemon).dataDir, 'audit', 'audit.log');
    const lines = await waitFor('the audit log to hold a refusal of alice', async () => {
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
      const events = text
        .split('\n')
        .filter((l) => l !== '')
        .map(
          (l) =>
            JSON.parse(l) as {
              user: { username: string };
              verb: string;
              objectRef?: { resource?: string; namespace?: string };
              responseStatus: { code: number };
            },
        );
      const refused = events.find((e) => e.user.username === 'alice' && e.responseStatus.code === 403);
      const created = events.find((e) => e.user.username === 'alice' && e.verb === 'create' && e.objectRef?.resource === 'instances');
      return refused && created ? events : undefined;
    });
    for (const e of lines)
      expect(e).to.include.keys('auditID', 'stage', 'requestReceivedTimestamp', 'stageTimestamp', 'user', 'verb', 'responseStatus');
  });
});
