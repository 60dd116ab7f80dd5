/**
 * Host-reaching fields through the real HTTP API (in process, MemoryStore):
 * every way kubectl and `cloudlet apply` write an object — create, client-side
 * apply's merge patch, server-side apply, replace — answers 422 naming the
 * field, and nothing is written.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import { startApi, type ApiHarness } from './api-harness.js';

const COLL = '/apis/cloudlet.dev/v1alpha1/namespaces/default/instances';

function instance(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default' },
    spec: { image: 'busybox', ...spec },
  };
}

describe('host-reaching fields through the HTTP API', () => {
  let api: ApiHarness;
  let store: MemoryStore;
  before(async () => {
    store = new MemoryStore();
    api = await startApi(store);
  });
  after(async () => {
    await api?.close();
    await store?.close();
  });

  function causes(body: { details?: { causes?: Array<{ field: string }> } }): string[] {
    return (body.details?.causes ?? []).map((c) => c.field);
  }

  it('refuses a volume path that climbs out on create, naming spec.volumes[0].path, and writes nothing', async () => {
    const r = await api.call('POST', COLL, {
      body: instance('climb', { volumes: [{ name: 'data', path: '/../../../../../tmp/escape' }] }),
    });
    expect(r.status).to.equal(422);
    expect(r.body.reason).to.equal('Invalid');
    expect(causes(r.body)).to.deep.equal(['spec.volumes[0].path']);
    expect(r.body.message).to.equal(
      'Instance.cloudlet.dev "climb" is invalid: spec.volumes[0].path: Invalid value: "/../../../../../tmp/escape": must not contain a ".." segment',
    );
    expect((await api.call('GET', `${COLL}/climb`)).status).to.equal(404);
  });

  it('refuses file:///tmp/../etc/shadow with server-side apply, naming spec.image, and writes nothing', async () => {
    const body = JSON.stringify(instance('shadow', { image: 'file:///tmp/../etc/shadow' }));
    const r = await api.call('PATCH', `${COLL}/shadow?fieldManager=cloudlet&force=true`, {
      raw: body,
      contentType: 'application/apply-patch+yaml',
    });
    expect(r.status).to.equal(422);
    expect(causes(r.body)).to.deep.equal(['spec.image']);
    expect((await api.call('GET', `${COLL}/shadow`)).status).to.equal(404);
  });

  it('refuses a merge patch (kubectl apply, client side) that moves a volume under /proc, and keeps the stored object', async () => {
    expect((await api.call('POST', COLL, { body: instance('patched', { volumes: [{ name: 'data', path: '/data' }] }) })).status).to.equal(
      201,
    );
    const r = await api.call('PATCH', `${COLL}/patched`, {
      body: { spec: { volumes: [{ name: 'data', path: '/proc/sys' }] } },
      contentType: 'application/merge-patch+json',
    });
    expect(r.status).to.equal(422);
    expect(causes(r.body)).to.deep.equal(['spec.volumes[0].path']);
    expect((await api.call('GET', `${COLL}/patched`)).body.spec.volumes[0].path).to.equal('/data');
  });

  it('refuses a replace with /dev/urandom as the image', async () => {
    const cur = (await api.call('GET', `${COLL}/patched`)).body;
    const r = await api.call('PUT', `${COLL}/patched`, { body: { ...cur, spec: { ...cur.spec, image: 'file:///dev/urandom' } } });
    expect(r.status).to.equal(422);
    expect(causes(r.body)).to.deep.equal(['spec.image']);
  });

  it('refuses a StoragePool source that is not normalised', async () => {
    const pool = {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'StoragePool',
      metadata: { name: 'src' },
      spec: { driver: 'dir', source: '/srv/pools/../../etc' },
    };
    const r = await api.call('POST', '/apis/cloudlet.dev/v1alpha1/storagepools', { body: pool });
    expect(r.status).to.equal(422);
    expect(causes(r.body)).to.deep.equal(['spec.source']);
  });
});
