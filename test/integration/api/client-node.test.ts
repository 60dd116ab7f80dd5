/**
 * @kubernetes/client-node, unmodified, against the API: the client our own
 * CLI is built on.
 */
import { expect } from 'chai';
import { CustomObjectsApi, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import { TOKEN, startApi, type ApiHarness } from './api-harness.js';
import { eventually } from '../../helpers/poll.js';

describe('@kubernetes/client-node against the API', () => {
  let api: ApiHarness;
  let store: MemoryStore;
  let kc: KubeConfig;

  before(async () => {
    store = new MemoryStore();
    api = await startApi(store);
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: api.base, skipTLSVerify: true }],
      users: [{ name: 'u', token: TOKEN }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'default' }],
      currentContext: 'x',
    });
  });
  after(async () => {
    await api.close();
    await store.close();
  });

  it('creates, reads, lists and patches a custom object', async () => {
    const client = kc.makeApiClient(CustomObjectsApi);
    const base = { group: 'cloudlet.dev', version: 'v1alpha1', namespace: 'default', plural: 'instances' };
    const created = (await client.createNamespacedCustomObject({
      ...base,
      body: { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'busybox' } },
    })) as { metadata: { uid: string } };
    expect(created.metadata.uid).to.be.a('string');
    const got = (await client.getNamespacedCustomObject({ ...base, name: 'web' })) as { spec: { cpu: number } };
    expect(got.spec.cpu).to.equal(1);
    const list = (await client.listNamespacedCustomObject(base)) as { items: unknown[] };
    expect(list.items).to.have.length(1);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const patched = (await client.patchNamespacedCustomObject({ ...base, name: 'web', body: { spec: { cpu: 2 } } }, merge)) as {
      spec: { cpu: number };
    };
    expect(patched.spec.cpu).to.equal(2);
    const json = (await client.patchNamespacedCustomObject({
      ...base,
      name: 'web',
      body: [{ op: 'replace', path: '/spec/cpu', value: 3 }],
    })) as { spec: { cpu: number } };
    expect(json.spec.cpu).to.equal(3);
  });

  async function waitForWatch(): Promise<void> {
    await eventually(
      'the watch to open',
      async () => /cloudlet_api_watches\{resource="instances"\} [1-9]/.test(await (await api.call('GET', '/metrics')).text),
      { timeoutMs: 5_000, everyMs: 50 },
    );
  }

  it('watches with the Watch helper', async () => {
    const events: string[] = [];
    const watch = new Watch(kc);
    const done = new Promise<void>((resolve, reject) => {
      void watch
        .watch(
          '/apis/cloudlet.dev/v1alpha1/namespaces/default/instances',
          { resourceVersion: '0' },
          (type: string, obj: { metadata: { name: string } }) => {
            events.push(`${type} ${obj.metadata.name}`);
            if (events.length === 2) resolve();
          },
          (err: unknown) => (err ? reject(err as Error) : undefined),
        )
        .then((req) => {
          void done.finally(() => req.abort());
        });
    });
    const client = kc.makeApiClient(CustomObjectsApi);
    await waitForWatch();
    await client.createNamespacedCustomObject({
      group: 'cloudlet.dev',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'instances',
      body: { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: { name: 'db' }, spec: { image: 'busybox' } },
    });
    await done;
    expect(events).to.deep.equal(['ADDED web', 'ADDED db']);
  });
});
