import { expect } from 'chai';
import { RESOURCE_QUOTA_KIND } from '../../../../lib/kinds/builtin.js';
import type { ResourceQuota } from '../../../../lib/kinds/types.js';
import { type Harness, INSTANCE, inst, makeHarness, startQuotas, until, vol, VOLUME } from './harness.js';
import { enqueueQuotaLimits, enqueueQuotasFor } from '../../../../controllers/namespaces/quota-reconciler.js';
import type { RequestQueue } from '../../../../lib/controller/handlers.js';
import type { Informer } from '../../../../lib/controller/informer.js';

describe('QuotaReconciler', () => {
  let h: Harness;
  beforeEach(() => {
    h = makeHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const used = async (): Promise<unknown> => (await h.store.get<ResourceQuota>(RESOURCE_QUOTA_KIND, 'q', 'team')).status?.used;

  it('sets status.hard from spec.hard and recounts an over-counted used from the live objects', async () => {
    await h.store.create(INSTANCE, inst('a', { cpu: 2 }));
    await h.store.create(VOLUME, vol('v', '1Gi'));
    await h.store.create(VOLUME, vol('elsewhere', '5Gi', 'other'));
    const hard = { 'requests.cpu': '8', 'requests.storage': '10Gi', 'count/instances.cloudlet.dev': '5' };
    const q = await h.store.create<ResourceQuota>(RESOURCE_QUOTA_KIND, {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'q', namespace: 'team' },
      spec: { hard },
    });
    // as after a create that was charged and then failed
    await h.store.update(
      RESOURCE_QUOTA_KIND,
      { ...q, status: { hard, used: { 'requests.cpu': '7', 'requests.storage': '9Gi' } } },
      { subresource: 'status' },
    );
    await startQuotas(h);
    const want = { 'count/instances.cloudlet.dev': '1', 'requests.cpu': '2', 'requests.storage': '1Gi' };
    await until('used recounted', async () => JSON.stringify(await used()) === JSON.stringify(want));
    expect((await h.store.get<ResourceQuota>(RESOURCE_QUOTA_KIND, 'q', 'team')).status?.hard).to.deep.equal(hard);
  });

  it('lowers used after deletes, counting what is left', async () => {
    await h.store.create(INSTANCE, inst('a', { memory: '1Gi' }));
    await h.store.create(INSTANCE, inst('b', { memory: '512Mi' }, { finalizers: ['cloudlet.dev/agent'] }));
    await h.store.create<ResourceQuota>(RESOURCE_QUOTA_KIND, {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'q', namespace: 'team' },
      spec: { hard: { 'requests.memory': '4Gi' } },
    });
    await startQuotas(h);
    await until(
      'both counted',
      async () => (await used()) !== undefined && JSON.stringify(await used()) === '{"requests.memory":"1536Mi"}',
    );
    await h.store.delete(INSTANCE, 'a', 'team');
    await until('a released', async () => JSON.stringify(await used()) === '{"requests.memory":"512Mi"}');
    // an object being deleted no longer counts, though its finalizer keeps it stored
    await h.store.delete(INSTANCE, 'b', 'team');
    await until('b released', async () => JSON.stringify(await used()) === '{"requests.memory":"0"}');
    await h.store.create(INSTANCE, inst('c', { memory: '2Gi' }));
    await h.store.create(INSTANCE, inst('d', { memory: '1Gi' }));
    await h.store.delete(INSTANCE, 'd', 'team');
    await until('c counted by the recount after the delete of d', async () => JSON.stringify(await used()) === '{"requests.memory":"2Gi"}');
  });

  it('starts a recount on deletes, shrinking updates and new or changed limits, never on a create or a write of used', () => {
    const added: string[] = [];
    const q = { add: (r: { name: string; namespace?: string }) => added.push(`${r.namespace}/${r.name}`) } as unknown as RequestQueue;
    const quota: ResourceQuota = {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'q', namespace: 'team' },
      spec: { hard: { 'requests.memory': '4Gi' } },
      status: { hard: { 'requests.memory': '4Gi' }, used: { 'requests.memory': '1Gi' } },
    };
    const quotas = { listShared: (f: (x: ResourceQuota) => boolean) => [quota].filter(f) } as unknown as Informer<ResourceQuota>;
    const objects = enqueueQuotasFor(INSTANCE, quotas);
    const limits = enqueueQuotaLimits();
    const a = inst('a', { memory: '1Gi' });
    objects.onAdd(a, q);
    limits.onUpdate(quota, { ...quota, status: { ...quota.status, used: { 'requests.memory': '2Gi' } } }, q);
    expect(added, 'a create and a charge start nothing').to.deep.equal([]);
    objects.onUpdate(a, inst('a', { memory: '512Mi' }), q);
    objects.onDelete(a, q);
    limits.onUpdate(quota, { ...quota, spec: { hard: { 'requests.memory': '8Gi' } } }, q);
    limits.onAdd(quota, q);
    expect(added).to.deep.equal(['team/q', 'team/q', 'team/q', 'team/q']);
  });
});
