/**
 * The real `cloudlet` CLI (a child process: dist/cli/main.js when this test
 * runs compiled, cli/main.ts through tsx when it runs from source) against a
 * real daemon: `cloudlet up` with its embedded etcd on a free loopback port,
 * reached through the kubeconfig the daemon writes (HTTPS with the cluster CA
 * and a bearer token). The daemon runs its controllers with the hollow
 * runtime, so instances are scheduled and "run" without LXC. State changes
 * come from what a user does (apply, delete, kubectl patch of a finalizer)
 * and from the daemon's controllers reacting; everything is read back
 * through the API. The daemon is stopped by PID and its data dir removed in
 * after(). The same CLI checks on the bare API layer over a MemoryStore live
 * in test/integration/api/cli-memory.test.ts.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { INSTANCE_FINALIZER } from '../../controllers/instances/instance-plan.js';
import type { Instance } from '../../lib/kinds/types.js';
import type { KubeObject } from '../../lib/store/types.js';
import { kubectlRunner, type KubectlRunner } from '../helpers/kubectl.js';
import { waitFor } from '../helpers/poll.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { daemonApi, patchFinalizers, type DaemonApi } from './helpers/daemon-api.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
// Source: <root>/test/e2e; compiled: <root>/dist/test/e2e.
const root = fromSource ? join(here, '..', '..') : join(here, '..', '..', '..');
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

describe('the cloudlet CLI against a running daemon', function () {
  this.timeout(180_000);
  let dir: string | undefined;
  let d: TestDaemon | undefined;
  let api: DaemonApi;
  let k: KubectlRunner;
  let member: string;
  const running: Running[] = [];

  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: d?.kubeconfig ?? '', HOME: dir ?? '' };
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

  /** openWatches is the daemon's own count of open API watches on instances (its controllers read the store, not the API). */
  const openWatches = (): Promise<number> => api.openWatches('instances');

  function file(name: string, text: string): string {
    const path = join(dir ?? '', name);
    writeFileSync(path, text);
    return path;
  }

  /**
   * get reads an instance through the API (HTTPS with the kubeconfig's CA and token); undefined when it is NotFound.
   * Checks read this way rather than with `cloudlet get`, whose start-up (loading @kubernetes/client-node)
   * costs about a second per call: the CLI's own get is exercised by the tests that are about it.
   */
  async function get(name: string, namespace = 'default'): Promise<Instance | undefined> {
    const r = await api.get(`/apis/cloudlet.dev/v1alpha1/namespaces/${namespace}/instances/${name}`);
    if (r.status === 200) return JSON.parse(r.body) as Instance;
    if (r.status === 404) return undefined;
    throw new Error(`GET instance ${namespace}/${name} answered ${r.status}: ${r.body.slice(0, 300)}`);
  }
  async function mustGet(name: string, namespace = 'default'): Promise<Instance> {
    const i = await get(name, namespace);
    if (!i) throw new Error(`instance ${namespace}/${name} does not exist`);
    return i;
  }
  const exists = async (name: string, namespace = 'default'): Promise<boolean> => (await get(name, namespace)) !== undefined;
  const condition = (i: Instance, type: string) => i.status?.conditions?.find((c) => c.type === type);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudlet-cli-e2e-'));
    if (!fromSource && !existsSync(cliArgv[0] ?? '')) throw new Error(`${cliArgv[0]} is missing: build first with "npx tsc -p ."`);
    d = await startDaemon({ extraArgs: ['--runtime', 'hollow'] });
    api = await daemonApi(d);
    k = kubectlRunner({ kubeconfig: d.kubeconfig, dir });
    const members = JSON.parse((await cli(['get', 'members', '-o', 'json'])).stdout) as { items: KubeObject[] };
    expect(members.items, 'a fresh `cloudlet up` has exactly one member').to.have.length(1);
    member = members.items[0]?.metadata.name ?? '';
  });

  afterEach(async () => {
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null && r.child.pid !== undefined) process.kill(r.child.pid, 'SIGTERM');
      await r.exited;
    }
  });

  after(async () => {
    await d?.cleanup(); // SIGTERM to the daemon's PID, wait for its exit, remove its data dir
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

    // the controllers are writing status and a finalizer meanwhile: apply must still see nothing of its own to change
    expect((await cli(['apply', '-f', path])).stdout).to.equal(
      'instance.cloudlet.dev/web unchanged\ninstance.cloudlet.dev/api unchanged\n',
    );

    file('web.yaml', `${manifest('web', { labels: 'app: web', spec: '  image: busybox' })}---\n${manifest('api')}`);
    const third = await cli(['apply', '-f', path]);
    expect(third.stdout).to.equal('instance.cloudlet.dev/web configured\ninstance.cloudlet.dev/api unchanged\n');
    const web = await mustGet('web');
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
    // on a live daemon the rows are filled in by the scheduler and the instance agent
    await waitFor('web and api to be Running', async () =>
      (await mustGet('web')).status?.phase === 'Running' && (await mustGet('api')).status?.phase === 'Running' ? true : undefined,
    );
    const table = await cli(['get', 'instances']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^NAME {3,}MEMBER {3,}PHASE {3,}ADDRESS {3,}AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).to.have.members(['web', 'api']);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 3).join(' '))).to.deep.equal([`${member} Running`, `${member} Running`]);

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
    await waitFor('the table and an open watch', async () =>
      w.out().startsWith('NAME') && (await openWatches()) > watching ? true : undefined,
    );
    const before = w.out().trimEnd().split('\n').length;
    // real-world equivalent of writing status by hand: the user stops web, the instance agent stops it and writes the status
    const stop = await cli(['apply', '-f', '-'], manifest('web', { spec: '  image: busybox\n  state: Stopped' }));
    expect(stop.stdout, stop.stderr).to.equal('instance.cloudlet.dev/web configured\n');
    await waitFor('a row showing web Stopped', () =>
      w.out().trimEnd().split('\n').length > before && / Stopped /.test(w.out().trimEnd().split('\n').at(-1) ?? '') ? true : undefined,
    );
    const row = w.out().trimEnd().split('\n').at(-1) ?? '';
    expect(row.split(/\s+/).slice(0, 3)).to.deep.equal(['web', member, 'Stopped']);
  });

  it('describes an object with its conditions and events', async () => {
    // real-world equivalent of the hand-written Event: the ones the scheduler and the instance agent emit for web
    const r = await waitFor('describe to show the Scheduled event of web', async () => {
      const out = await cli(['describe', 'inst', 'web']);
      return /Normal +Scheduled /.test(out.stdout) ? out : undefined;
    });
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Name: +web\nNamespace: +default\n/);
    expect(r.stdout).to.match(
      /\nConditions:\n {2}Type +Status +Reason +Message +LastTransitionTime\n.*\n {2}Scheduled +True +Scheduled +placed on member /,
    );
    expect(r.stdout).to.match(
      new RegExp(
        `Events:\\n {2}Type +Reason +Age +From +Message\\n.*\\n(.*\\n)* {2}Normal +Scheduled +\\S+ +scheduler +assigned to member ${member}:`,
      ),
    );
    // every instance on a live daemon gets at least a Scheduled event; an object nothing reports on is a namespace
    expect((await cli(['describe', 'namespace', 'prod'])).stdout).to.match(/Events: {2}<none>\n$/);
  });

  it('waits for a condition through a watch, and fails clearly on timeout', async () => {
    // real-world equivalent of writing the Ready condition by hand: stop api (Ready goes False), wait, then start it again
    const stop = await cli(['apply', '-f', '-'], manifest('api', { spec: '  image: busybox\n  state: Stopped' }));
    expect(stop.code, stop.stderr).to.equal(0);
    await waitFor('api to be stopped and not Ready', async () =>
      condition(await mustGet('api'), 'Ready')?.status === 'False' ? true : undefined,
    );
    const watching = await openWatches();
    const w = start(['wait', '--for=condition=Ready', 'inst/api', '--timeout', '60s']);
    await waitFor('the wait to watch', async () => ((await openWatches()) > watching ? true : undefined));
    expect(w.child.exitCode).to.equal(null, 'api is stopped: the wait must still be waiting');
    const startAgain = await cli(['apply', '-f', '-'], manifest('api'));
    expect(startAgain.code, startAgain.stderr).to.equal(0);
    expect(await w.exited).to.equal(0);
    expect(w.out()).to.equal('instance.cloudlet.dev/api condition met\n');
    expect(condition(await mustGet('api'), 'Ready')?.status).to.equal('True');

    const late = await cli(['wait', '--for=jsonpath={.status.phase}=Stopped', 'inst', 'api', '--timeout', '1s']);
    expect([late.code, late.stderr]).to.deep.equal([1, 'error: timed out waiting for the condition on instances/api\n']);
  });

  it('deletes and waits until a finalizer is removed', async () => {
    await cli(['apply', '-f', file('held.yaml', manifest('held', { extraMeta: 'finalizers: [e2e.cloudlet.dev/hold]' }))]);
    // the instance agent adds its own finalizer beside ours once it runs the instance
    await waitFor('the instance agent to put its finalizer on held', async () =>
      (await mustGet('held')).metadata.finalizers?.includes(INSTANCE_FINALIZER) ? true : undefined,
    );
    const deleter = start(['delete', 'inst', 'held', '--timeout', '60s']);
    await waitFor('the delete to report', () => (deleter.out().includes('deleted') ? true : undefined));
    expect(deleter.out()).to.equal('instance.cloudlet.dev "held" deleted\n');
    expect((await mustGet('held')).metadata.deletionTimestamp).to.be.a('string');
    // the agent stops the container and releases its finalizer; ours keeps the object, and the CLI waiting
    const held = await waitFor('the instance agent to release its finalizer on held', async () => {
      const i = await mustGet('held');
      return i.metadata.finalizers?.includes(INSTANCE_FINALIZER) ? undefined : i;
    });
    expect(held.metadata.finalizers).to.deep.equal(['e2e.cloudlet.dev/hold']);
    expect(deleter.child.exitCode).to.equal(null, 'delete must still be waiting for the finalizer');
    // the CLI has no patch verb: an operator removes a finalizer with kubectl patch --type=merge
    await patchFinalizers(k, { kind: 'inst', name: 'held' }, (f) => f.filter((x) => x !== 'e2e.cloudlet.dev/hold'));
    expect(await deleter.exited).to.equal(0);
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
