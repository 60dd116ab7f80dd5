/**
 * The HTTP API contract, run against every store implementation
 * (MemoryStore and EtcdStore): discovery, auth, CRUD, patches, status,
 * finalizers and watch semantics.
 */
import { expect } from 'chai';
import type { Store } from '../../../lib/store/types.js';
import { startApi, type ApiHarness } from './api-harness.js';

const G = '/apis/cloudlet.dev/v1alpha1';
const AGG =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

function instance(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default', ...meta },
    spec: { image: 'busybox', ...spec },
  };
}

/** apiSuite registers the API contract tests over stores made by `makeStore`. */
export function apiSuite(
  name: string,
  makeStore: () => Promise<{ store: Store; compact?: (rev: string) => Promise<void>; stop: () => Promise<void> }>,
): void {
  describe(`the HTTP API over ${name}`, function () {
    let api: ApiHarness;
    let stop: () => Promise<void>;
    let compact: ((rev: string) => Promise<void>) | undefined;
    let ns: string;
    let n = 0;

    before(async () => {
      const s = await makeStore();
      stop = s.stop;
      compact = s.compact;
      api = await startApi(s.store, { bookmarkIntervalMs: 200 });
    });
    after(async () => {
      await api?.close();
      await stop?.();
    });
    beforeEach(async () => {
      n++;
      ns = `t${n}`;
      const made = await api.call('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
    });
    const inst = (nm: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
      instance(nm, spec, { namespace: ns, ...meta });
    const coll = () => `${G}/namespaces/${ns}/instances`;

    describe('discovery and meta endpoints', () => {
      it('answers /version with minor 32 and a semver gitVersion', async () => {
        const r = await api.call('GET', '/version');
        expect(r.body.major).to.equal('1');
        expect(r.body.minor).to.equal('32');
        expect(r.body.gitVersion).to.match(/^v1\.32\.0(-[0-9A-Za-z.-]+)?$/);
      });

      it('serves aggregated discovery with its content type when asked', async () => {
        const r = await api.call('GET', '/apis?timeout=32s', { accept: AGG });
        expect(r.headers.get('content-type')).to.equal('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
        const group = r.body.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'cloudlet.dev');
        const res = group.versions[0].resources.find((x: { resource: string }) => x.resource === 'instances');
        expect(res.responseKind).to.deep.equal({ group: 'cloudlet.dev', version: 'v1alpha1', kind: 'Instance' });
        expect(res.scope).to.equal('Namespaced');
        expect(res.shortNames).to.deep.equal(['inst']);
        const core = await api.call('GET', '/api', { accept: AGG });
        expect(core.body.items[0].versions[0].resources.map((x: { resource: string }) => x.resource)).to.include('events');
      });

      it('serves legacy discovery otherwise', async () => {
        expect((await api.call('GET', '/apis')).body.kind).to.equal('APIGroupList');
        expect((await api.call('GET', '/api')).body.kind).to.equal('APIVersions');
        const rl = await api.call('GET', G);
        expect(rl.body.kind).to.equal('APIResourceList');
        expect(rl.body.resources.map((x: { name: string }) => x.name)).to.include.members(['instances', 'instances/status', 'members']);
      });

      it('serves OpenAPI v3 with fieldValidation on PATCH, and 404 for v2', async () => {
        const idx = await api.call('GET', '/openapi/v3');
        const url = idx.body.paths['apis/cloudlet.dev/v1alpha1'].serverRelativeURL;
        const doc = await api.call('GET', url);
        const patch = doc.body.paths[`${G}/namespaces/{namespace}/instances/{name}`].patch;
        expect(patch['x-kubernetes-group-version-kind']).to.deep.equal({ group: 'cloudlet.dev', version: 'v1alpha1', kind: 'Instance' });
        expect(patch.parameters.map((p: { name: string }) => p.name)).to.include('fieldValidation');
        expect(Object.keys(patch.requestBody.content)).to.not.include('application/strategic-merge-patch+json');
        expect(doc.body.components.schemas['dev.cloudlet.v1alpha1.Instance']['x-kubernetes-group-version-kind']).to.be.an('array');
        expect((await api.call('GET', '/openapi/v2')).status).to.equal(404);
      });

      it('answers health without a token and everything else only with one', async () => {
        expect((await api.call('GET', '/healthz', { token: null })).status).to.equal(200);
        expect((await api.call('GET', '/readyz', { token: null })).status).to.equal(200);
        const r = await api.call('GET', '/apis', { token: null });
        expect(r.status).to.equal(401);
        expect(r.body.kind).to.equal('Status');
        expect((await api.call('GET', '/apis', { token: 'wrong' })).status).to.equal(401);
        expect((await api.call('GET', '/metrics', { token: null })).status).to.equal(401);
        expect((await api.call('GET', '/metrics')).text).to.contain('cloudlet_api_requests_total');
      });

      it('serves Namespaces as objects and admits objects only into one that exists', async () => {
        const r = await api.call('GET', `/api/v1/namespaces/${ns}`);
        expect(r.body).to.include({ kind: 'Namespace', apiVersion: 'v1' });
        expect(r.body.metadata.finalizers).to.deep.equal(['kubernetes']);
        expect(r.body.metadata.labels).to.deep.equal({ 'kubernetes.io/metadata.name': ns });
        expect((await api.call('GET', '/api/v1/namespaces/default')).status).to.equal(200);
        expect((await api.call('GET', '/api/v1/namespaces/nowhere')).status).to.equal(404);
        const refused = await api.call('POST', `${G}/namespaces/nowhere/instances`, { body: instance('x', {}, { namespace: 'nowhere' }) });
        expect(refused.status).to.equal(404);
        expect(refused.body.message).to.equal('namespaces "nowhere" not found');
        expect((await api.call('DELETE', '/api/v1/namespaces/default')).status).to.equal(403);
      });
    });

    describe('writes', () => {
      it('creates an object with defaults and answers 201', async () => {
        const r = await api.call('POST', `${coll()}?fieldManager=kubectl-client-side-apply&fieldValidation=Strict`, { body: inst('web') });
        expect(r.status).to.equal(201);
        expect(r.body.kind).to.equal('Instance');
        expect(r.body.spec).to.include({ cpu: 1, memory: '256Mi', state: 'Running', recovery: 'restart' });
        expect(r.body.metadata.uid).to.be.a('string');
        expect(r.body.metadata.resourceVersion).to.be.a('string');
        expect(r.body.metadata.managedFields[0].manager).to.equal('kubectl-client-side-apply');
      });

      it('answers 409 AlreadyExists for a second create', async () => {
        await api.call('POST', coll(), { body: inst('web') });
        const r = await api.call('POST', coll(), { body: inst('web') });
        expect(r.status).to.equal(409);
        expect(r.body.reason).to.equal('AlreadyExists');
        expect(r.body.details).to.include({ name: 'web', group: 'cloudlet.dev', kind: 'instances' });
      });

      it('answers 422 Invalid with the field path and writes nothing', async () => {
        const r = await api.call('POST', coll(), { body: inst('web', { memory: '12XB', colour: 'red' }) });
        expect(r.status).to.equal(422);
        expect(r.body.reason).to.equal('Invalid');
        expect(r.body.message).to.match(/^Instance\.cloudlet\.dev "web" is invalid: \[/);
        const fields = r.body.details.causes.map((c: { field: string }) => c.field);
        expect(fields).to.include.members(['spec.memory', 'spec.colour']);
        expect((await api.call('GET', `${coll()}/web`)).status).to.equal(404);
      });

      it('answers 400 for bad JSON, naming the position', async () => {
        const r = await api.call('POST', coll(), { raw: '{"apiVersion": "cloudlet.dev/v1alpha1",,}' });
        expect(r.status).to.equal(400);
        expect(r.body.reason).to.equal('BadRequest');
        expect(r.body.message).to.match(/position|column/);
      });

      it('answers 400 when the body kind does not match the URL', async () => {
        const r = await api.call('POST', coll(), { body: { ...inst('web'), kind: 'Volume' } });
        expect(r.status).to.equal(400);
      });

      it('answers 413 for a body over 3 MiB', async () => {
        const r = await api.call('POST', coll(), { raw: JSON.stringify({ ...inst('web'), pad: 'x'.repeat(3 * 1024 * 1024 + 10) }) });
        expect(r.status).to.equal(413);
      });

      it('writes nothing with dryRun=All', async () => {
        const r = await api.call('POST', `${coll()}?dryRun=All`, { body: inst('web') });
        expect(r.status).to.equal(201);
        expect((await api.call('GET', `${coll()}/web`)).status).to.equal(404);
      });

      it('answers 409 Conflict for a PUT with a stale resourceVersion', async () => {
        const created = (await api.call('POST', coll(), { body: inst('web') })).body;
        const ok = await api.call('PUT', `${coll()}/web`, { body: { ...created, spec: { ...created.spec, cpu: 2 } } });
        expect(ok.status).to.equal(200);
        expect(ok.body.metadata.generation).to.equal(2);
        const stale = await api.call('PUT', `${coll()}/web`, { body: { ...created, spec: { ...created.spec, cpu: 3 } } });
        expect(stale.status).to.equal(409);
        expect(stale.body.reason).to.equal('Conflict');
      });

      it('applies a merge patch where null deletes a field', async () => {
        await api.call('POST', coll(), { body: inst('web', { placement: { member: 'm1' } }, { labels: { app: 'web', tier: 'x' } }) });
        const r = await api.call('PATCH', `${coll()}/web`, {
          body: { metadata: { labels: { tier: null } }, spec: { cpu: 2, placement: null } },
          contentType: 'application/merge-patch+json',
        });
        expect(r.status).to.equal(200);
        expect(r.body.metadata.labels).to.deep.equal({ app: 'web' });
        expect(r.body.spec.cpu).to.equal(2);
        expect(r.body.spec).to.not.have.property('placement');
      });

      it('applies a JSON patch and rejects a failing one with 422', async () => {
        await api.call('POST', coll(), { body: inst('web') });
        const ok = await api.call('PATCH', `${coll()}/web`, {
          body: [{ op: 'replace', path: '/spec/cpu', value: 4 }],
          contentType: 'application/json-patch+json',
        });
        expect(ok.body.spec.cpu).to.equal(4);
        const bad = await api.call('PATCH', `${coll()}/web`, {
          body: [{ op: 'test', path: '/spec/cpu', value: 1 }],
          contentType: 'application/json-patch+json',
        });
        expect(bad.status).to.equal(422);
      });

      it('refuses a strategic merge patch with 415 pointing to --type=merge', async () => {
        await api.call('POST', coll(), { body: inst('web') });
        const r = await api.call('PATCH', `${coll()}/web`, {
          body: { spec: { cpu: 2 } },
          contentType: 'application/strategic-merge-patch+json',
        });
        expect(r.status).to.equal(415);
        expect(r.body.reason).to.equal('UnsupportedMediaType');
        expect(r.body.message).to.contain('--type=merge');
      });

      it('creates with server-side apply, then merges, and reports a field manager conflict', async () => {
        const url = `${coll()}/web?fieldManager=kubectl&fieldValidation=Strict&force=false`;
        const body = JSON.stringify(inst('web', { cpu: 2 }));
        const first = await api.call('PATCH', url, { raw: body, contentType: 'application/apply-patch+yaml' });
        expect(first.status).to.equal(201);
        const again = await api.call('PATCH', url, { raw: body, contentType: 'application/apply-patch+yaml' });
        expect(again.status).to.equal(200);
        // kubectl's follow-up apply of only the annotation must not wipe spec
        const la = {
          apiVersion: 'cloudlet.dev/v1alpha1',
          kind: 'Instance',
          metadata: { name: 'web', namespace: ns, annotations: { note: 'x' } },
        };
        const follow = await api.call('PATCH', `${coll()}/web?fieldManager=kubectl-last-applied`, {
          raw: JSON.stringify(la),
          contentType: 'application/apply-patch+yaml',
        });
        expect(follow.body.spec.cpu).to.equal(2);
        await api.call('PATCH', `${coll()}/web?fieldManager=editor`, {
          body: { spec: { cpu: 3 } },
          contentType: 'application/merge-patch+json',
        });
        const conflict = await api.call('PATCH', url, { raw: body, contentType: 'application/apply-patch+yaml' });
        expect(conflict.status).to.equal(409);
        expect(conflict.body.details.causes[0]).to.include({ reason: 'FieldManagerConflict', field: '.spec.cpu' });
        const forced = await api.call('PATCH', url.replace('force=false', 'force=true'), {
          raw: body,
          contentType: 'application/apply-patch+yaml',
        });
        expect(forced.body.spec.cpu).to.equal(2);
      });

      it('writes status only through /status and spec only through the main resource', async () => {
        const created = (await api.call('POST', coll(), { body: inst('web') })).body;
        const st = await api.call('PUT', `${coll()}/web/status`, {
          body: { ...created, spec: { image: 'debian/bookworm' }, status: { phase: 'Running' } },
        });
        expect(st.status).to.equal(200);
        expect(st.body.status.phase).to.equal('Running');
        expect(st.body.spec.image).to.equal('busybox');
        const main = await api.call('PATCH', `${coll()}/web`, {
          body: { status: { phase: 'Failed' }, spec: { cpu: 2 } },
          contentType: 'application/merge-patch+json',
        });
        expect(main.body.status.phase).to.equal('Running');
        expect(main.body.spec.cpu).to.equal(2);
        const sp = await api.call('PATCH', `${coll()}/web/status`, {
          body: { status: { phase: 'Stopped' } },
          contentType: 'application/merge-patch+json',
        });
        expect(sp.body.status.phase).to.equal('Stopped');
      });

      it('keeps an object with finalizers until the last one is removed', async () => {
        await api.call('POST', coll(), { body: inst('web', {}, { finalizers: ['cloudlet.dev/test'] }) });
        const del = await api.call('DELETE', `${coll()}/web`, { body: { propagationPolicy: 'Background' } });
        expect(del.status).to.equal(200);
        expect(del.body.metadata.deletionTimestamp).to.be.a('string');
        expect((await api.call('GET', `${coll()}/web`)).status).to.equal(200);
        await api.call('PATCH', `${coll()}/web`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
        expect((await api.call('GET', `${coll()}/web`)).status).to.equal(404);
      });

      it('deletes an object without finalizers at once and answers 404 after', async () => {
        await api.call('POST', coll(), { body: inst('web') });
        const del = await api.call('DELETE', `${coll()}/web`);
        expect(del.status).to.equal(200);
        expect(del.body.metadata.name).to.equal('web');
        const again = await api.call('DELETE', `${coll()}/web`);
        expect(again.status).to.equal(404);
        expect(again.body.message).to.equal('instances.cloudlet.dev "web" not found');
      });
    });

    describe('reads', () => {
      it('lists with a label selector, across namespaces, and as a Table', async () => {
        await api.call('POST', coll(), { body: inst('a', {}, { labels: { app: 'x' } }) });
        await api.call('POST', coll(), { body: inst('b', {}, { labels: { app: 'y' } }) });
        const list = await api.call('GET', `${coll()}?labelSelector=app%3Dx&limit=500`);
        expect(list.body.kind).to.equal('InstanceList');
        expect(list.body.metadata.resourceVersion).to.be.a('string');
        expect(list.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).to.deep.equal(['a']);
        const all = await api.call('GET', `${G}/instances`);
        expect(all.body.items.length).to.be.greaterThanOrEqual(2);
        const table = await api.call('GET', coll(), { accept: TABLE });
        expect(table.body.kind).to.equal('Table');
        expect(table.body.columnDefinitions[0].name).to.equal('Name');
        expect(table.body.rows.map((r: { cells: unknown[] }) => r.cells[0])).to.deep.equal(['a', 'b']);
        expect(table.body.rows[0].object.metadata.namespace).to.equal(ns);
        const one = await api.call('GET', `${coll()}/a`, { accept: TABLE });
        expect(one.body.rows).to.have.length(1);
      });

      it('selects events by their involved object', async () => {
        const ev = (name: string, obj: string) => ({
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace: ns },
          involvedObject: { kind: 'Instance', name: obj, uid: `uid-${obj}` },
          reason: 'Started',
          message: 'started',
          type: 'Normal',
        });
        expect((await api.call('POST', `/api/v1/namespaces/${ns}/events`, { body: ev('e1', 'web') })).status).to.equal(201);
        await api.call('POST', `/api/v1/namespaces/${ns}/events`, { body: ev('e2', 'db') });
        const r = await api.call(
          'GET',
          `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3Dweb%2CinvolvedObject.uid%3Duid-web&limit=500`,
        );
        expect(r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).to.deep.equal(['e1']);
      });
    });

    describe('watch', () => {
      it('sends current objects as ADDED first, then changes and the deletion', async () => {
        await api.call('POST', coll(), { body: inst('web') });
        const w = await api.watch(`${coll()}?watch=true&resourceVersion=0`);
        expect(w.status).to.equal(200);
        const first = await w.next();
        expect(first.type).to.equal('ADDED');
        expect(first.object.metadata.name).to.equal('web');
        await api.call('PATCH', `${coll()}/web`, { body: { spec: { cpu: 2 } }, contentType: 'application/merge-patch+json' });
        const mod = await w.next();
        expect(mod.type).to.equal('MODIFIED');
        expect(mod.object.spec.cpu).to.equal(2);
        await api.call('DELETE', `${coll()}/web`);
        const del = await w.next();
        expect(del.type).to.equal('DELETED');
        expect(Number(del.object.metadata.resourceVersion)).to.be.greaterThan(Number(mod.object.metadata.resourceVersion));
        w.close();
      });

      it('sends only later events from a list resourceVersion, filtered by field selector, as Tables', async () => {
        await api.call('POST', coll(), { body: inst('a') });
        const list = await api.call('GET', coll());
        const rv = list.body.metadata.resourceVersion;
        const w = await api.watch(`${coll()}?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Db`, { accept: TABLE });
        await api.call('POST', coll(), { body: inst('c') });
        await api.call('POST', coll(), { body: inst('b') });
        const ev = await w.next();
        expect(ev.type).to.equal('ADDED');
        expect(ev.object.kind).to.equal('Table');
        expect(ev.object.rows[0].cells[0]).to.equal('b');
        w.close();
      });

      it('sends BOOKMARK events only when allowed', async () => {
        const rv = (await api.call('GET', coll())).body.metadata.resourceVersion;
        const w = await api.watch(`${coll()}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
        const ev = await w.next();
        expect(ev.type).to.equal('BOOKMARK');
        expect(ev.object.metadata.resourceVersion).to.be.a('string');
        w.close();
      });

      it('ends the stream when timeoutSeconds passes', async () => {
        const w = await api.watch(`${coll()}?watch=true&timeoutSeconds=1`);
        try {
          await w.next(5000);
          expect.fail('expected the stream to end');
        } catch (err) {
          expect((err as Error).message).to.equal('the watch stream ended');
        }
      });

      it('answers a compacted resourceVersion with an ERROR event carrying 410 Expired', async function () {
        if (!compact) this.skip();
        await api.call('POST', coll(), { body: inst('a') });
        const old = (await api.call('GET', coll())).body.metadata.resourceVersion;
        await api.call('PATCH', `${coll()}/a`, { body: { spec: { cpu: 2 } }, contentType: 'application/merge-patch+json' });
        const now = (await api.call('GET', coll())).body.metadata.resourceVersion;
        await compact?.(now);
        const w = await api.watch(`${coll()}?watch=true&resourceVersion=${Number(old) - 1}`);
        const ev = await w.next();
        expect(ev.type).to.equal('ERROR');
        expect(ev.object).to.include({ kind: 'Status', code: 410, reason: 'Expired' });
        w.close();
      });
    });
  });
}
