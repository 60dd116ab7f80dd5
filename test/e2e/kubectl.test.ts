/**
 * The real kubectl (v1.32 through the gcloud dispatcher) against a real
 * daemon: `cloudlet up` with its embedded etcd on a free loopback port,
 * reached through the kubeconfig the daemon writes (HTTPS with the cluster CA
 * and a bearer token). The daemon runs its controllers with the hollow
 * runtime, so instances are scheduled and "run" without LXC: expectations
 * below are what a user sees on a live cluster, not on a bare API.
 * Everything is read back through the API (kubectl get -o json, /metrics);
 * the daemon is stopped by PID and its data dir removed in after().
 * The same kubectl checks on the bare API layer over a MemoryStore live in
 * test/integration/api/kubectl-memory.test.ts.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTANCE_FINALIZER } from '../../controllers/instances/instance-plan.js';
import type { Instance } from '../../lib/kinds/types.js';
import { kubectlRunner, waitForExit, waitForOutput, type KubectlRunner } from '../helpers/kubectl.js';
import { waitFor } from '../helpers/poll.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { daemonApi, patchFinalizers, type DaemonApi } from './helpers/daemon-api.js';

const TEST_FINALIZER = 'cloudlet.dev/test';

function manifest(name: string, spec: string, labels = 'app: web'): string {
  return `apiVersion: cloudlet.dev/v1alpha1
kind: Instance
metadata:
  name: ${name}
  namespace: default
  labels: {${labels}}
spec:
${spec}
`;
}

describe('the real kubectl against a running daemon', function () {
  this.timeout(180_000);
  let d: TestDaemon | undefined;
  let api: DaemonApi;
  let dir: string | undefined;
  let k: KubectlRunner;
  let member: string;
  const children: ChildProcess[] = [];

  function file(name: string, text: string): string {
    const path = join(dir ?? '', name);
    writeFileSync(path, text);
    return path;
  }
  const kubectl = (...args: string[]) => k.run(args);
  async function instance(name: string): Promise<Instance> {
    const r = await kubectl('get', 'inst', name, '-o', 'json');
    if (r.code !== 0) throw new Error(`kubectl get inst ${name}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Instance;
  }
  const running = (name: string) =>
    waitFor(`instance ${name} to be Running`, async () => ((await instance(name)).status?.phase === 'Running' ? true : undefined));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudlet-kubectl-e2e-'));
    d = await startDaemon({ extraArgs: ['--runtime', 'hollow'] });
    api = await daemonApi(d);
    k = kubectlRunner({ kubeconfig: d.kubeconfig, dir });
    const members = await kubectl('get', 'members', '-o', 'jsonpath={.items[*].metadata.name}');
    expect(members.code, members.stderr).to.equal(0);
    member = members.stdout.trim();
    expect(member).to.match(/^\S+$/, 'a fresh `cloudlet up` has exactly one member');
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  });

  after(async () => {
    await d?.cleanup(); // SIGTERM to the daemon's PID, wait for its exit, remove its data dir
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates with apply, reports unchanged, then configures a change', async () => {
    const path = file('web.yaml', manifest('web', '  image: busybox\n  cpu: 1\n  memory: 256Mi'));
    const created = await kubectl('apply', '-f', path);
    expect(created.stderr).to.equal('');
    expect(created.stdout.trim()).to.equal('instance.cloudlet.dev/web created');
    // the controllers are writing status and a finalizer meanwhile: apply must still see nothing of its own to change
    expect((await kubectl('apply', '-f', path)).stdout.trim()).to.equal('instance.cloudlet.dev/web unchanged');
    const changed = file('web2.yaml', manifest('web', '  image: busybox\n  cpu: 2\n  memory: 256Mi'));
    expect((await kubectl('apply', '-f', changed)).stdout.trim()).to.equal('instance.cloudlet.dev/web configured');
    expect((await instance('web')).spec?.cpu).to.equal(2);
  });

  it('applies server-side twice', async () => {
    const path = file('ssa.yaml', manifest('ssa', '  image: busybox\n  cpu: 3', 'app: ssa'));
    const first = await kubectl('apply', '--server-side', '-f', path);
    expect(first.stdout.trim(), first.stderr).to.equal('instance.cloudlet.dev/ssa serverside-applied');
    const second = await kubectl('apply', '--server-side', '-f', path);
    expect(second.stdout.trim(), second.stderr).to.equal('instance.cloudlet.dev/ssa serverside-applied');
    expect((await instance('ssa')).spec).to.include({ cpu: 3, image: 'busybox' });
  });

  it('gets a table, a wide table, YAML, JSON, by label and across namespaces', async () => {
    // on a live daemon the row is filled in by the scheduler and the instance agent
    await running('web');
    const table = await kubectl('get', 'instances');
    expect(table.stdout).to.match(/^NAME\s+MEMBER\s+PHASE\s+ADDRESS\s+AGE\n/);
    expect(table.stdout).to.match(new RegExp(`\\nweb\\s+${member}\\s+Running\\s+`));
    const wide = await kubectl('get', 'inst', '-o', 'wide');
    expect(wide.stdout).to.match(/IMAGE\s+CPU\s+MEMORY\s+RESTARTS\s+PRIVILEGED\s+IDMAP/);
    expect(wide.stdout).to.match(/web\s+.*busybox\s+2\s+256Mi/);
    const yaml = await kubectl('get', 'instance', 'web', '-o', 'yaml');
    expect(yaml.stdout).to.match(/^apiVersion: cloudlet\.dev\/v1alpha1\n/);
    expect(yaml.stdout).to.contain('kind: Instance');
    const json = JSON.parse((await kubectl('get', 'inst', 'web', '-o', 'json')).stdout) as Instance;
    expect(json.metadata.name).to.equal('web');
    const byLabel = await kubectl('get', 'inst', '-l', 'app=ssa', '-o', 'name');
    expect(byLabel.stdout.trim()).to.equal('instance.cloudlet.dev/ssa');
    const all = await kubectl('get', 'inst', '-A');
    expect(all.stdout).to.match(/^NAMESPACE\s+NAME/);
    expect(all.stdout).to.match(/\ndefault\s+web\s+/);
  });

  it('sees a change with get -w', async () => {
    const watching = await api.openWatches('instances');
    const watcher = k.spawn(['get', 'inst', 'web', '-w', '-o', 'custom-columns=NAME:.metadata.name,CPU:.spec.cpu']);
    children.push(watcher);
    await waitForOutput(watcher, /web\s+2\n/);
    // kubectl prints the object from a GET, then watches and drops the first event: change it only once the
    // daemon's /metrics shows one more open watch on instances (the daemon's own controllers read the store, not the API)
    await waitFor('kubectl get -w to open a watch on instances', async () =>
      (await api.openWatches('instances')) > watching ? true : undefined,
    );
    const patched = await kubectl('patch', 'inst', 'web', '--type=merge', '-p', '{"spec":{"cpu":4}}');
    expect(patched.stdout.trim(), patched.stderr).to.equal('instance.cloudlet.dev/web patched');
    await waitForOutput(watcher, /web\s+4\n/);
  });

  it('patches with --type=merge and explains that a plain patch needs it', async () => {
    const ok = await kubectl('patch', 'inst', 'web', '--type=merge', '-p', '{"spec":{"cpu":2}}');
    expect(ok.code).to.equal(0);
    const plain = await kubectl('patch', 'inst', 'web', '-p', '{"spec":{"cpu":2}}');
    expect(plain.code).to.not.equal(0);
    expect(plain.stderr).to.contain('--type=merge');
  });

  it('rejects a bad manifest naming the fields, and creates nothing', async () => {
    const path = file('bad.yaml', manifest('bad', '  image: busybox\n  memory: 12XB\n  colour: red'));
    const r = await kubectl('apply', '-f', path);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('The Instance "bad" is invalid');
    expect(r.stderr).to.contain('spec.memory: Invalid value: "12XB"');
    expect(r.stderr).to.contain('spec.colour: Unknown field');
    const list = JSON.parse((await kubectl('get', 'inst', '-o', 'json')).stdout) as { items: Instance[] };
    expect(list.items.map((i) => i.metadata.name)).to.not.include('bad');
    const get = await kubectl('get', 'inst', 'bad');
    expect(get.stderr).to.contain('instances.cloudlet.dev "bad" not found');
  });

  it('describes an instance with its events', async () => {
    // real-world equivalent of the hand-written Event: the ones the scheduler and the instance agent emit for web
    const r = await waitFor('describe to show the Started event of web', async () => {
      const out = await kubectl('describe', 'inst', 'web');
      return /Normal\s+Started\s+/.test(out.stdout) ? out : undefined;
    });
    expect(r.stdout).to.match(/Name:\s+web/);
    expect(r.stdout).to.match(new RegExp(`Normal\\s+Scheduled\\s+.*assigned to member ${member}`));
    expect(r.stdout).to.match(new RegExp(`Normal\\s+Started\\s+.*started the container \\S+ on member ${member}`));
  });

  it('explains instances.spec from the OpenAPI schema', async () => {
    const r = await kubectl('explain', 'instances.spec');
    expect(r.stdout).to.contain('KIND:       Instance');
    expect(r.stdout).to.contain('Desired state of the instance.');
    expect(r.stdout).to.match(/image\s+<string> -required-/);
  });

  it('deletes, waiting until the last finalizer is removed', async () => {
    // the instance agent holds its own finalizer on a running instance; ours is added beside it, not over it
    await waitFor('the instance agent to put its finalizer on ssa', async () =>
      (await instance('ssa')).metadata.finalizers?.includes(INSTANCE_FINALIZER) ? true : undefined,
    );
    await patchFinalizers(k, { kind: 'inst', name: 'ssa' }, (f) => [...f, TEST_FINALIZER]);
    expect((await instance('ssa')).metadata.finalizers).to.have.members([INSTANCE_FINALIZER, TEST_FINALIZER]);
    const deleter = k.spawn(['delete', 'inst', 'ssa', '--timeout=60s']);
    children.push(deleter);
    await waitForOutput(deleter, /instance\.cloudlet\.dev "ssa" deleted/);
    expect((await instance('ssa')).metadata.deletionTimestamp).to.be.a('string');
    // the agent stops the container and releases its finalizer; ours keeps the object, and kubectl waiting
    const held = await waitFor('the instance agent to release its finalizer on ssa', async () => {
      const i = await instance('ssa');
      return i.metadata.finalizers?.includes(INSTANCE_FINALIZER) ? undefined : i;
    });
    expect(held.metadata.finalizers).to.deep.equal([TEST_FINALIZER]);
    expect(held.metadata.deletionTimestamp).to.be.a('string');
    expect(deleter.exitCode).to.equal(null);
    await patchFinalizers(k, { kind: 'inst', name: 'ssa' }, (f) => f.filter((x) => x !== TEST_FINALIZER));
    expect(await waitForExit(deleter)).to.equal(0);
    const gone = await kubectl('get', 'inst', 'ssa');
    expect(gone.stderr).to.contain('instances.cloudlet.dev "ssa" not found');
  });
});
