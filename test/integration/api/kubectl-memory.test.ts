/**
 * The real kubectl (v1.32 through the gcloud dispatcher) against the API
 * layer alone: an in-process ApiServer over TLS with a bearer token on a
 * MemoryStore, with no controllers. It covers kubectl's wire compatibility
 * (discovery, OpenAPI, apply, tables, watch, patch, describe, finalizers)
 * fast and deterministically; objects are read and written through the
 * store directly because nothing else would change them. The proof against
 * a real daemon (embedded etcd, controllers, its own kubeconfig) is
 * test/e2e/kubectl.test.ts.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiServer } from '../../../lib/api/server.js';
import { KindRegistry } from '../../../lib/kinds/registry.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import type { KubeObject } from '../../../lib/store/types.js';
import { makeKubectlEnv, waitForExit, waitForOutput, type KubectlEnv } from '../../helpers/kubectl.js';

const TOKEN = 'e2e-token-abcdef0123456789';

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

describe('the real kubectl against the in-process API over a MemoryStore', function () {
  this.timeout(120_000);
  let env: KubectlEnv;
  let store: MemoryStore;
  let server: ApiServer;
  const metrics = createMetrics();
  const children: ChildProcess[] = [];
  const kinds = KindRegistry.load();
  const instances = kinds.resolve('instances');

  function file(name: string, text: string): string {
    const path = join(env.dir, name);
    writeFileSync(path, text);
    return path;
  }
  const kubectl = (...args: string[]) => env.run(args);
  async function waitForWatches(count: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const open = (await metrics.apiWatches.get()).values.find((v) => v.labels.resource === 'instances')?.value ?? 0;
      if (open >= count) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`kubectl did not open ${count} watch(es) on instances`);
  }

  before(async () => {
    env = makeKubectlEnv();
    store = new MemoryStore();
    server = new ApiServer({
      store,
      kinds,
      logger: silentLogger(),
      metrics,
      auth: { tokens: [TOKEN] },
      tls: { key: env.key, cert: env.cert },
    });
    const { port } = await server.listen('127.0.0.1', 0);
    env.writeKubeconfig(port, TOKEN);
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  });

  after(async () => {
    await server?.close();
    await store?.close();
    env?.cleanup();
  });

  it('creates with apply, reports unchanged, then configures a change', async () => {
    const path = file('web.yaml', manifest('web', '  image: busybox\n  cpu: 1\n  memory: 256Mi'));
    const created = await kubectl('apply', '-f', path);
    expect(created.stderr).to.equal('');
    expect(created.stdout.trim()).to.equal('instance.cloudlet.dev/web created');
    expect((await kubectl('apply', '-f', path)).stdout.trim()).to.equal('instance.cloudlet.dev/web unchanged');
    const changed = file('web2.yaml', manifest('web', '  image: busybox\n  cpu: 2\n  memory: 256Mi'));
    expect((await kubectl('apply', '-f', changed)).stdout.trim()).to.equal('instance.cloudlet.dev/web configured');
    const stored = await store.get<KubeObject<{ cpu: number }>>(instances, 'web', 'default');
    expect(stored.spec?.cpu).to.equal(2);
  });

  it('applies server-side twice', async () => {
    const path = file('ssa.yaml', manifest('ssa', '  image: busybox\n  cpu: 3', 'app: ssa'));
    const first = await kubectl('apply', '--server-side', '-f', path);
    expect(first.stdout.trim(), first.stderr).to.equal('instance.cloudlet.dev/ssa serverside-applied');
    const second = await kubectl('apply', '--server-side', '-f', path);
    expect(second.stdout.trim(), second.stderr).to.equal('instance.cloudlet.dev/ssa serverside-applied');
    const stored = await store.get<KubeObject<{ cpu: number; image: string }>>(instances, 'ssa', 'default');
    expect(stored.spec).to.include({ cpu: 3, image: 'busybox' });
  });

  it('gets a table, a wide table, YAML, JSON, by label and across namespaces', async () => {
    const table = await kubectl('get', 'instances');
    expect(table.stdout).to.match(/^NAME\s+MEMBER\s+PHASE\s+ADDRESS\s+AGE\n/);
    expect(table.stdout).to.match(/\nweb\s+/);
    const wide = await kubectl('get', 'inst', '-o', 'wide');
    expect(wide.stdout).to.match(/IMAGE\s+CPU\s+MEMORY\s+RESTARTS\s+PRIVILEGED\s+IDMAP/);
    expect(wide.stdout).to.match(/web\s+.*busybox\s+2\s+256Mi/);
    const yaml = await kubectl('get', 'instance', 'web', '-o', 'yaml');
    expect(yaml.stdout).to.match(/^apiVersion: cloudlet\.dev\/v1alpha1\n/);
    expect(yaml.stdout).to.contain('kind: Instance');
    const json = JSON.parse((await kubectl('get', 'inst', 'web', '-o', 'json')).stdout) as KubeObject;
    expect(json.metadata.name).to.equal('web');
    const byLabel = await kubectl('get', 'inst', '-l', 'app=ssa', '-o', 'name');
    expect(byLabel.stdout.trim()).to.equal('instance.cloudlet.dev/ssa');
    const all = await kubectl('get', 'inst', '-A');
    expect(all.stdout).to.match(/^NAMESPACE\s+NAME/);
    expect(all.stdout).to.match(/\ndefault\s+web\s+/);
  });

  it('sees a change with get -w', async () => {
    const watcher = env.spawn(['get', 'inst', 'web', '-w', '-o', 'custom-columns=NAME:.metadata.name,CPU:.spec.cpu']);
    children.push(watcher);
    await waitForOutput(watcher, /web\s+2\n/);
    // kubectl prints the object from a GET, then watches and drops the first event: change it only once the watch is open
    await waitForWatches(1);
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
    expect((await store.list(instances, { namespace: 'default' })).items.map((i) => i.metadata.name)).to.not.include('bad');
  });

  it('describes an instance with its events', async () => {
    const web = await store.get(instances, 'web', 'default');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await store.create(kinds.resolve('events'), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.started', namespace: 'default' },
      involvedObject: { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', name: 'web', namespace: 'default', uid: web.metadata.uid },
      reason: 'Started',
      message: 'instance started on m1',
      type: 'Normal',
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'cloudlet-agent' },
    });
    const r = await kubectl('describe', 'inst', 'web');
    expect(r.stdout).to.match(/Name:\s+web/);
    expect(r.stdout).to.match(/Normal\s+Started\s+.*instance started on m1/);
  });

  it('explains instances.spec from the OpenAPI schema', async () => {
    const r = await kubectl('explain', 'instances.spec');
    expect(r.stdout).to.contain('KIND:       Instance');
    expect(r.stdout).to.contain('Desired state of the instance.');
    expect(r.stdout).to.match(/image\s+<string> -required-/);
  });

  it('deletes, waiting until the last finalizer is removed', async () => {
    await kubectl('patch', 'inst', 'ssa', '--type=merge', '-p', '{"metadata":{"finalizers":["cloudlet.dev/test"]}}');
    const deleter = env.spawn(['delete', 'inst', 'ssa', '--timeout=60s']);
    children.push(deleter);
    await waitForOutput(deleter, /instance\.cloudlet\.dev "ssa" deleted/);
    const held = await store.get(instances, 'ssa', 'default');
    expect(held.metadata.deletionTimestamp).to.be.a('string');
    expect(deleter.exitCode).to.equal(null);
    const live = await store.get(instances, 'ssa', 'default');
    await store.update(instances, { ...live, metadata: { ...live.metadata, finalizers: [] } });
    expect(await waitForExit(deleter)).to.equal(0);
    const gone = await kubectl('get', 'inst', 'ssa');
    expect(gone.stderr).to.contain('instances.cloudlet.dev "ssa" not found');
  });
});
