/**
 * The real `cloudlet` CLI (a child process: dist/cli/main.js when this test
 * runs compiled, cli/main.ts through tsx when it runs from source) against
 * the API layer alone: an in-process ApiServer over TLS with a bearer token
 * on a MemoryStore, with no controllers. It covers the CLI's client side
 * (apply all-or-nothing, printers, watch, describe, wait, delete with
 * finalizers) fast and deterministically, writing status and events into the
 * store by hand where a controller would. The proof against a real daemon
 * (embedded etcd, controllers, its own kubeconfig) is test/e2e/cli.test.ts.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ApiServer } from '../../../lib/api/server.js';
import { NotFoundError } from '../../../lib/errors.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../lib/store/types.js';
import { makeTestCertificate } from '../../helpers/kubectl.js';

const TOKEN = 'cli-e2e-token-0123456789abcdef';
const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
// Source: <root>/test/integration/api; compiled: <root>/dist/test/integration/api.
const root = fromSource ? join(here, '..', '..', '..') : join(here, '..', '..', '..', '..');
const cliArgv = fromSource ? ['--import', 'tsx', join(root, 'cli', 'main.ts')] : [join(root, 'dist', 'cli', 'main.js')];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Running is a long-running CLI process whose output is collected as it comes. */
interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number>;
}

function manifest(name: string, opts: { spec?: string; labels?: string; namespace?: string; extraMeta?: string } = {}): string {
  return [
    'apiVersion: cloudlet.dev/v1alpha1',
    'kind: Instance',
    'metadata:',
    `  name: ${name}`,
    ...(opts.namespace ? [`  namespace: ${opts.namespace}`] : []),
    `  labels: {${opts.labels ?? 'app: web'}}`,
    ...(opts.extraMeta ? [`  ${opts.extraMeta}`] : []),
    'spec:',
    opts.spec ?? '  image: busybox',
    '',
  ].join('\n');
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe('the cloudlet CLI against the in-process API over a MemoryStore', function () {
  this.timeout(120_000);
  let dir: string;
  let store: MemoryStore;
  let server: ApiServer;
  const metrics = createMetrics();
  const kinds = KindRegistry.load();
  const instances = kinds.resolve('instances');
  const events = kinds.resolve('events');
  const running: Running[] = [];

  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), HOME: dir };
    delete e.NODE_OPTIONS;
    return e;
  };

  function cli(args: string[], input?: string): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [...cliArgv, ...args], { cwd: root, env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.stdin.end(input ?? '');
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  function start(args: string[]): Running {
    const child = spawn(process.execPath, [...cliArgv, ...args], { cwd: root, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    const r = { child, out: () => out, err: () => err, exited };
    running.push(r);
    return r;
  }

  async function openWatches(): Promise<number> {
    return (await metrics.apiWatches.get()).values.find((v) => v.labels.resource === 'instances')?.value ?? 0;
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  async function exists(name: string, namespace = 'default'): Promise<boolean> {
    try {
      await store.get(instances, name, namespace);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudlet-cli-memory-'));
    if (!fromSource && !existsSync(cliArgv[0] ?? '')) throw new Error(`${cliArgv[0]} is missing: build first with "npx tsc -p ."`);
    const tls = makeTestCertificate(dir, 'cloudlet-cli-e2e');
    store = new MemoryStore();
    server = new ApiServer({
      store,
      kinds,
      logger: silentLogger(),
      metrics,
      auth: { tokens: [TOKEN] },
      tls,
    });
    const { port } = await server.listen('127.0.0.1', 0);
    writeFileSync(
      join(dir, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: cloudlet, cluster: {server: "https://127.0.0.1:${port}", certificate-authority: "${join(dir, 'cert.pem')}"}}]`,
        `users: [{name: admin, user: {token: "${TOKEN}"}}]`,
        'contexts: [{name: cloudlet, context: {cluster: cloudlet, user: admin, namespace: default}}]',
        'current-context: cloudlet',
        '',
      ].join('\n'),
    );
  });

  afterEach(async () => {
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null && r.child.pid !== undefined) process.kill(r.child.pid, 'SIGTERM');
      await r.exited;
    }
  });

  after(async () => {
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('applies a multi-document file: created, then unchanged, then configured with removed fields deleted', async () => {
    const path = file(
      'web.yaml',
      `${manifest('web', { labels: 'app: web, tier: front', spec: '  image: busybox\n  cpu: 2' })}---\n${manifest('api')}`,
    );
    const first = await cli(['apply', '-f', path]);
    expect(first.stderr).to.equal('');
    expect(first.stdout).to.equal('instance.cloudlet.dev/web created\ninstance.cloudlet.dev/api created\n');
    expect(first.code).to.equal(0);

    expect((await cli(['apply', '-f', path])).stdout).to.equal(
      'instance.cloudlet.dev/web unchanged\ninstance.cloudlet.dev/api unchanged\n',
    );

    file('web.yaml', `${manifest('web', { labels: 'app: web', spec: '  image: busybox' })}---\n${manifest('api')}`);
    const third = await cli(['apply', '-f', path]);
    expect(third.stdout).to.equal('instance.cloudlet.dev/web configured\ninstance.cloudlet.dev/api unchanged\n');
    const web = await store.get<KubeObject<{ cpu?: number }>>(instances, 'web', 'default');
    expect(web.metadata.labels).to.deep.equal({ app: 'web' });
    expect(web.spec?.cpu).to.equal(1, 'the removed cpu falls back to its default');
  });

  it('writes nothing when document 3 of 3 is invalid', async () => {
    const path = file(
      'bad.yaml',
      [manifest('ok-1'), manifest('ok-2'), manifest('bad-3', { spec: '  image: busybox\n  memory: lots' })].join('---\n'),
    );
    const r = await cli(['apply', '-f', path]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(`Error from server (Invalid): error when applying ${path}: document 3 (instance.cloudlet.dev/bad-3)`);
    expect(r.stderr).to.include('spec.memory');
    expect(r.stdout).to.equal('');
    expect(await exists('ok-1')).to.equal(false);
    expect(await exists('ok-2')).to.equal(false);
    expect(await exists('bad-3')).to.equal(false);
  });

  it('names the file, document, line and column of a YAML syntax error', async () => {
    const path = file(
      'syntax.yaml',
      `${manifest('s1')}---\napiVersion: cloudlet.dev/v1alpha1\nkind: Instance\nspec:\n  image: busybox\n cpu: 1\n`,
    );
    const r = await cli(['apply', '-f', path]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(`error: ${path}: document 2, line 13, column 1: All mapping items must start at the same column\n`);
    expect(await exists('s1')).to.equal(false);
  });

  it('reads manifests from stdin and applies into -n', async () => {
    const ns = await cli(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n');
    expect(ns.stdout, ns.stderr).to.equal('namespace/prod created\n');
    const r = await cli(['apply', '-n', 'prod', '-f', '-'], manifest('db', { labels: 'app: db' }));
    expect(r.stdout).to.equal('instance.cloudlet.dev/db created\n');
    expect(await exists('db', 'prod')).to.equal(true);
  });

  it('gets a server-rendered table, wide columns, YAML, a label selection and all namespaces', async () => {
    const table = await cli(['get', 'instances']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^NAME {3,}MEMBER {3,}PHASE {3,}ADDRESS {3,}AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).to.have.members(['web', 'api']);

    expect((await cli(['get', 'inst', 'web', '-o', 'wide'])).stdout.split('\n')[0]).to.match(
      / IMAGE {3,}CPU {3,}MEMORY {3,}RESTARTS {3,}PRIVILEGED {3,}IDMAP$/,
    );

    const yaml = parseYaml((await cli(['get', 'instance/web', '-o', 'yaml'])).stdout) as KubeObject;
    expect(yaml).to.include({ apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance' });
    expect(yaml.metadata.name).to.equal('web');
    expect(yaml.metadata.managedFields).to.equal(undefined);

    const list = JSON.parse((await cli(['get', 'Instance', '-o', 'json'])).stdout) as { kind: string; items: KubeObject[] };
    expect(list.kind).to.equal('List');

    const selected = (await cli(['get', 'inst', '-l', 'app=db', '-A'])).stdout.trimEnd().split('\n');
    expect(selected[0]).to.match(/^NAMESPACE {3,}NAME {3,}/);
    expect(selected.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join('/'))).to.deep.equal(['prod/db']);

    expect((await cli(['get', 'inst', '-o', 'name'])).stdout.split('\n')).to.include('instance.cloudlet.dev/web');
  });

  it('says the server lacks an unknown resource type, and reports a missing object like kubectl', async () => {
    const unknown = await cli(['get', 'foo']);
    expect([unknown.code, unknown.stderr]).to.deep.equal([1, 'error: the server doesn\'t have a resource type "foo"\n']);
    const missing = await cli(['get', 'inst', 'nope']);
    expect([missing.code, missing.stderr]).to.deep.equal([1, 'Error from server (NotFound): instances.cloudlet.dev "nope" not found\n']);
  });

  it('prints a row when something changes under get -w', async () => {
    const watching = await openWatches();
    const w = start(['get', 'inst', '-w']);
    await until('the table and an open watch', async () => w.out().startsWith('NAME') && (await openWatches()) > watching);
    const before = w.out().trimEnd().split('\n').length;
    const web = await store.get<KubeObject>(instances, 'web', 'default');
    await store.update(instances, { ...web, status: { phase: 'Running' } }, { subresource: 'status' });
    await until('a new row', () => w.out().trimEnd().split('\n').length > before);
    const row = w.out().trimEnd().split('\n').at(-1) ?? '';
    expect(row.split(/\s+/).slice(0, 3)).to.deep.equal(['web', '<none>', 'Running']);
  });

  it('describes an object with its conditions and events', async () => {
    const web = await store.get<KubeObject>(instances, 'web', 'default');
    const now = new Date().toISOString();
    await store.create(events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.e2e', namespace: 'default' },
      involvedObject: { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', name: 'web', namespace: 'default', uid: web.metadata.uid },
      type: 'Normal',
      reason: 'Scheduled',
      message: 'placed on member m1',
      source: { component: 'scheduler' },
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
    });
    const r = await cli(['describe', 'inst', 'web']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Name: +web\nNamespace: +default\n/);
    expect(r.stdout).to.match(
      /Events:\n {2}Type +Reason +Age +From +Message\n.*\n {2}Normal +Scheduled +\S+ +scheduler +placed on member m1\n/,
    );
    expect((await cli(['describe', 'inst', 'api'])).stdout).to.match(/Events: {2}<none>\n$/);
  });

  it('waits for a condition through a watch, and fails clearly on timeout', async () => {
    const watching = await openWatches();
    const w = start(['wait', '--for=condition=Ready', 'inst/api', '--timeout', '60s']);
    await until('the wait to watch', async () => (await openWatches()) > watching);
    const api = await store.get<KubeObject>(instances, 'api', 'default');
    const time = new Date().toISOString();
    await store.update(
      instances,
      {
        ...api,
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True', reason: 'Started', message: 'running', lastTransitionTime: time }],
        },
      },
      { subresource: 'status' },
    );
    expect(await w.exited).to.equal(0);
    expect(w.out()).to.equal('instance.cloudlet.dev/api condition met\n');

    const late = await cli(['wait', '--for=jsonpath={.status.phase}=Stopped', 'inst', 'api', '--timeout', '1s']);
    expect([late.code, late.stderr]).to.deep.equal([1, 'error: timed out waiting for the condition on instances/api\n']);
  });

  it('deletes and waits until a finalizer is removed', async () => {
    await cli(['apply', '-f', file('held.yaml', manifest('held', { extraMeta: 'finalizers: [e2e.cloudlet.dev/hold]' }))]);
    const d = start(['delete', 'inst', 'held', '--timeout', '60s']);
    await until('the delete to report', () => d.out().includes('deleted'));
    expect(d.out()).to.equal('instance.cloudlet.dev "held" deleted\n');
    const held = await store.get<KubeObject>(instances, 'held', 'default');
    expect(held.metadata.deletionTimestamp).to.be.a('string');
    expect(d.child.exitCode).to.equal(null, 'delete must still be waiting for the finalizer');
    await store.update(instances, { ...held, metadata: { ...held.metadata, finalizers: [] } });
    expect(await d.exited).to.equal(0);
    expect(await exists('held')).to.equal(false);
  });

  it('deletes the objects of a manifest file', async () => {
    const path = file('gone.yaml', manifest('gone'));
    await cli(['apply', '-f', path]);
    const r = await cli(['delete', '-f', path]);
    expect([r.code, r.stdout]).to.deep.equal([0, 'instance.cloudlet.dev "gone" deleted\n']);
    expect(await exists('gone')).to.equal(false);
  });

  it('prints the client and server versions', async () => {
    const r = await cli(['version']);
    expect(r.stdout).to.match(/^Client Version: v\d+\.\d+\.\d+\nServer Version: v1\.\d+\.\d+/);
  });
});
