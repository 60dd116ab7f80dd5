/**
 * The real daemon (`cloudlet up`) end to end: embedded etcd, TLS API with a
 * bearer token, the member registering itself with capacity, metrics, JSON
 * logs, persistence across restarts, and no etcd left behind after SIGTERM
 * or SIGKILL of the daemon. Uses the hollow runtime so no containers are made.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { startDaemon, processAlive, type TestDaemon } from './helpers/daemon.js';
import { eventually } from '../helpers/poll.js';
import { readText } from '../../lib/http-text.js';

interface Kubeconfig {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ user: { token: string } }>;
}

async function httpsGet(d: TestDaemon, path: string, token?: string): Promise<{ status: number; body: string }> {
  const kc = parseYaml(await readFile(d.kubeconfig, 'utf8')) as Kubeconfig;
  const ca = Buffer.from(kc.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, path, ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) =>
      readText(res).then(({ status, text }) => resolve({ status, body: text }), reject),
    );
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return (await eventually(what, fn, { timeoutMs, everyMs: 250 })) as T;
}

async function etcdPid(d: TestDaemon): Promise<number> {
  return Number((await readFile(join(d.dataDir, 'etcd', 'etcd.pid'), 'utf8')).trim());
}

describe('the cloudlet daemon (e2e)', function () {
  this.timeout(180_000);
  let d: TestDaemon;

  before(async () => {
    d = await startDaemon({ extraArgs: ['--runtime', 'hollow'] });
  });
  after(async () => {
    if (!d) return;
    // Networks leave host plumbing (bridge, nft table, dnsmasq) that outlives the daemon on purpose:
    // delete them through the API so the agent removes it, then stop the daemon.
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.cloudlet(['delete', 'network', 'keepme', 'stale-net', 'ok-net', '--ignore-not-found', '--timeout', '60s'], { timeoutMs: 90_000 });
    }
    await d.cleanup();
  });

  it('writes an HTTPS kubeconfig with the cluster CA and a bearer token', async () => {
    const kc = parseYaml(await readFile(d.kubeconfig, 'utf8')) as Kubeconfig;
    expect(kc.clusters[0]?.cluster.server).to.equal(`https://127.0.0.1:${d.port}`);
    expect(kc.clusters[0]?.cluster['certificate-authority-data']).to.be.a('string').and.not.empty;
    expect(kc.users[0]?.user.token).to.match(/^[0-9a-f]{64}$/);
  });

  it('registers its member as Ready with CPU, memory and disk capacity', async () => {
    const member = await waitFor('a Ready member', () => {
      const r = d.cloudlet(['get', 'members', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const list = JSON.parse(r.stdout) as {
        items: Array<{ status?: { phase?: string; capacity?: { cpu?: number; memory?: string; disk?: string } } }>;
      };
      const m = list.items[0];
      return m?.status?.phase === 'Ready' ? m : undefined;
    });
    expect(member.status?.capacity?.cpu).to.be.a('number').greaterThan(0);
    expect(member.status?.capacity?.memory).to.match(/^[0-9.]+(Ki|Mi|Gi|Ti)?$/);
    expect(member.status?.capacity?.disk).to.match(/^[0-9.]+(Ki|Mi|Gi|Ti|Pi)?$/);
  });

  it('answers the real kubectl with the member table', () => {
    const r = d.kubectl(['get', 'members']);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.match(/NAME\s+ADDRESS\s+PHASE/);
    expect(r.stdout).to.match(/\bReady\b/);
  });

  it('refuses requests without the bearer token and serves health without it', async () => {
    const denied = await httpsGet(d, '/apis/cloudlet.dev/v1alpha1/members');
    expect(denied.status).to.equal(401);
    expect(JSON.parse(denied.body)).to.include({ kind: 'Status', reason: 'Unauthorized' });
    expect((await httpsGet(d, '/healthz')).status).to.equal(200);
  });

  it('serves Prometheus metrics for API requests, reconciles and etcd round trips', async () => {
    const kc = parseYaml(await readFile(d.kubeconfig, 'utf8')) as Kubeconfig;
    const r = await httpsGet(d, '/metrics', kc.users[0]?.user.token);
    expect(r.status).to.equal(200);
    expect(r.body).to.match(/^cloudlet_api_requests_total\{/m);
    expect(r.body).to.match(/^cloudlet_reconciles_total\{/m);
    expect(r.body).to.match(/^cloudlet_etcd_request_duration_seconds_bucket\{/m);
  });

  it('logs JSON lines when stderr is not a terminal', () => {
    const lines = d
      .log()
      .split('\n')
      .filter((l) => l.trim());
    expect(lines.length).to.be.greaterThan(3);
    for (const line of lines.slice(0, 20)) expect(() => JSON.parse(line), line).not.to.throw();
  });

  describe('bad input changes nothing and says where the problem is', () => {
    const good =
      'apiVersion: cloudlet.dev/v1alpha1\nkind: Network\nmetadata: {name: ok-net}\nspec: {driver: bridge, subnet: 10.99.8.0/24}\n';
    const cases: Array<{ what: string; doc: string; message: RegExp }> = [
      {
        what: 'an unknown kind',
        doc: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instanse\nmetadata: {name: x}\nspec: {}\n',
        message: /Instanse/,
      },
      {
        what: 'an unknown apiVersion',
        doc: 'apiVersion: cloudlet.dev/v9\nkind: Instance\nmetadata: {name: x}\nspec: {image: busybox}\n',
        message: /cloudlet\.dev\/v9/,
      },
      {
        what: 'a schema violation',
        doc: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: x}\nspec: {image: busybox, memory: lots}\n',
        message: /spec\.memory/,
      },
      {
        what: 'an invalid name',
        doc: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: Not_Valid}\nspec: {image: busybox}\n',
        message: /metadata\.name/,
      },
      {
        what: 'malformed YAML',
        doc: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nmetadata: {name: x\n',
        message: /document 2, line \d+, column \d+/,
      },
    ];
    for (const c of cases) {
      it(`refuses ${c.what} in a multi-document apply and writes none of the documents`, () => {
        const r = d.cloudlet(['apply', '-f', '-'], { input: `${good}---\n${c.doc}` });
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.match(c.message);
        expect(d.cloudlet(['get', 'network', 'ok-net']).code, 'the valid first document must not be written').to.not.equal(0);
      });
    }

    it('refuses an object over 1 MiB', () => {
      // six 200 KiB driver settings: every field is within its own limits, the whole object is not
      const config = Array.from({ length: 6 }, (_, i) => `k${i}: ${'x'.repeat(200 * 1024)}`).join(', ');
      // --server-side: a client-side apply would first hit the 256 KiB limit of its last-applied annotation
      const r = d.cloudlet(['apply', '--server-side', '-f', '-'], {
        input: `apiVersion: cloudlet.dev/v1alpha1\nkind: StoragePool\nmetadata: {name: big-pool}\nspec: {driver: dir, config: {${config}}}\n`,
      });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/too large|1 MiB|exceeds/i);
      expect(d.cloudlet(['get', 'storagepool', 'big-pool']).code).to.not.equal(0);
    });

    it('refuses a replace with a stale resourceVersion (kubectl replace)', () => {
      expect(d.cloudlet(['apply', '-f', '-'], { input: good.replace('ok-net', 'stale-net') }).code).to.equal(0);
      const current = JSON.parse(d.cloudlet(['get', 'network', 'stale-net', '-o', 'json']).stdout) as {
        metadata: Record<string, unknown>;
        spec: Record<string, unknown>;
      };
      const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' }, spec: { ...current.spec, nat: true } };
      const r = d.kubectl(['replace', '-f', '-'], { input: JSON.stringify(stale) });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/Conflict|has been modified/);
      const after = JSON.parse(d.cloudlet(['get', 'network', 'stale-net', '-o', 'json']).stdout) as { spec: { nat?: boolean } };
      expect(after.spec.nat).to.not.equal(true);
    });
  });

  it('keeps objects across a restart and stops its etcd on SIGTERM', async () => {
    const apply = d.cloudlet(['apply', '-f', '-'], {
      input: 'apiVersion: cloudlet.dev/v1alpha1\nkind: Network\nmetadata: {name: keepme}\nspec: {driver: bridge, subnet: 10.99.7.0/24}\n',
    });
    expect(apply.code, apply.stderr).to.equal(0);
    const pid = await etcdPid(d);
    expect(processAlive(pid)).to.equal(true);
    await d.stop();
    expect(d.child.exitCode).to.equal(0);
    await waitFor('etcd to exit after SIGTERM', () => (processAlive(pid) ? undefined : true), 15_000);
    await d.restart();
    const got = d.cloudlet(['get', 'network', 'keepme', '-o', 'json']);
    expect(got.code, got.stderr).to.equal(0);
    expect((JSON.parse(got.stdout) as { spec: { subnet: string } }).spec.subnet).to.equal('10.99.7.0/24');
  });

  it('leaves no etcd behind when the daemon is SIGKILLed, and starts again on the same data', async () => {
    const pid = await etcdPid(d);
    await d.kill();
    await waitFor('etcd to die with its parent', () => (processAlive(pid) ? undefined : true), 15_000);
    await d.restart();
    const newPid = await etcdPid(d);
    expect(newPid).to.not.equal(pid);
    expect(d.cloudlet(['get', 'network', 'keepme']).code).to.equal(0);
  });
});
