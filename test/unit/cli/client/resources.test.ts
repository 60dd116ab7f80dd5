import { expect } from 'chai';
import { NotFoundError } from '../../../../lib/errors.js';
import type { ApiClient } from '../../../../cli/client/api-client.js';
import { ResourceCatalog, resourcePath, resourceRef } from '../../../../cli/client/resources.js';

const aggregated = {
  kind: 'APIGroupDiscoveryList',
  apiVersion: 'apidiscovery.k8s.io/v2',
  items: [
    {
      metadata: { name: 'cloudlet.dev' },
      versions: [
        {
          version: 'v1alpha1',
          freshness: 'Current',
          resources: [
            {
              resource: 'instances',
              singularResource: 'instance',
              scope: 'Namespaced',
              responseKind: { group: 'cloudlet.dev', version: 'v1alpha1', kind: 'Instance' },
              shortNames: ['inst'],
            },
            { resource: 'instances/status', singularResource: 'instance', scope: 'Namespaced', responseKind: { kind: 'Instance' } },
            { resource: 'members', singularResource: 'member', scope: 'Cluster', responseKind: { kind: 'Member' }, shortNames: ['mbr'] },
            { resource: 'orphans', scope: 'Cluster' },
          ],
        },
      ],
    },
  ],
};

function fakeClient(routes: Record<string, unknown>): ApiClient {
  return {
    request: async ({ path }: { path: string }) => {
      if (!(path in routes)) throw new NotFoundError(`no ${path}`);
      return routes[path];
    },
  } as unknown as ApiClient;
}

describe('ResourceCatalog', () => {
  it('reads aggregated discovery and resolves plural, singular, Kind and short names', async () => {
    const catalog = await ResourceCatalog.discover(
      fakeClient({ '/api': { kind: 'APIGroupDiscoveryList', items: [] }, '/apis': aggregated }),
    );
    expect(catalog.source).to.equal('server');
    for (const word of ['instances', 'instance', 'Instance', 'inst', 'INST', 'instances.cloudlet.dev']) {
      expect(catalog.resolve(word).plural, word).to.equal('instances');
    }
    expect(catalog.resolve('mbr').namespaced).to.equal(false);
    expect(catalog.all().map((r) => r.plural)).to.deep.equal(['instances', 'members']);
  });

  it('reads legacy discovery when /apis is an APIGroupList', async () => {
    const catalog = await ResourceCatalog.discover(
      fakeClient({
        '/apis': { kind: 'APIGroupList', groups: [{ name: 'cloudlet.dev', preferredVersion: { version: 'v1alpha1' } }] },
        '/apis/cloudlet.dev/v1alpha1': {
          resources: [{ name: 'volumes', singularName: 'volume', namespaced: true, kind: 'Volume', shortNames: ['vol'] }],
        },
      }),
    );
    expect(catalog.resolve('vol')).to.include({ plural: 'volumes', apiVersion: 'cloudlet.dev/v1alpha1', namespaced: true });
  });

  it('falls back to the local CRDs when the server cannot be asked', async () => {
    const catalog = await ResourceCatalog.discover(fakeClient({}));
    expect(catalog.source).to.equal('local');
    expect(['inst', 'vol', 'net', 'sp', 'mbr'].map((s) => catalog.resolve(s).kind)).to.deep.equal([
      'Instance',
      'Volume',
      'Network',
      'StoragePool',
      'Member',
    ]);
  });

  it('says the server does not have an unknown resource type', async () => {
    const catalog = await ResourceCatalog.local();
    expect(() => catalog.resolve('foo')).to.throw(NotFoundError, 'the server doesn\'t have a resource type "foo"');
  });

  it("finds a manifest's resource by apiVersion and kind", async () => {
    const catalog = await ResourceCatalog.local();
    expect(catalog.byApiVersionKind('cloudlet.dev/v1alpha1', 'Network')?.plural).to.equal('networks');
    expect(catalog.byApiVersionKind('cloudlet.dev/v1', 'Network')).to.equal(undefined);
  });
});

describe('resourcePath and resourceRef', () => {
  it('builds namespaced, all-namespace, cluster-scoped and core paths', async () => {
    const catalog = await ResourceCatalog.local();
    const inst = catalog.resolve('inst');
    expect(resourcePath(inst, { namespace: 'default', name: 'web' })).to.equal(
      '/apis/cloudlet.dev/v1alpha1/namespaces/default/instances/web',
    );
    expect(resourcePath(inst)).to.equal('/apis/cloudlet.dev/v1alpha1/instances');
    expect(resourcePath(catalog.resolve('net'), { namespace: 'default', name: 'lan' })).to.equal(
      '/apis/cloudlet.dev/v1alpha1/networks/lan',
    );
    expect(resourcePath(catalog.resolve('events'), { namespace: 'default' })).to.equal('/api/v1/namespaces/default/events');
    expect(resourceRef(inst)).to.equal('instance.cloudlet.dev');
    expect(resourceRef(catalog.resolve('ev'))).to.equal('event');
  });
});
