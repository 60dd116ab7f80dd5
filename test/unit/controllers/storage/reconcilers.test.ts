import { expect } from 'chai';
import type { Instance, StoragePool, Volume } from '../../../../lib/kinds/types.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { poolFinalizer } from '../../../../controllers/storage/pool-plan.js';
import { VOLUME_FINALIZER } from '../../../../controllers/storage/volume-plan.js';
import { flushPromises } from '../../../../lib/controller/clock.js';
import { ctx, makeHarness, waitFor } from './harness.js';

type H = Awaited<ReturnType<typeof makeHarness>>;
const api = 'cloudlet.dev/v1alpha1';

async function pool(h: H, spec: StoragePool['spec'] = { driver: 'btrfs', size: '1Gi' }): Promise<StoragePool> {
  const p = await h.store.create<StoragePool>(h.k.pool, { apiVersion: api, kind: 'StoragePool', metadata: { name: 'local' }, spec });
  await waitFor(() => h.pools.get({ name: 'local' }) !== undefined);
  return p;
}
async function synced(h: H): Promise<void> {
  const pairs = [
    [h.k.pool, h.pools],
    [h.k.volume, h.volumes],
    [h.k.instance, h.instances],
  ] as const;
  const want = await Promise.all(
    pairs.map(async ([kind]) =>
      (await h.store.list(kind)).items
        .map((o) => o.metadata.resourceVersion)
        .sort()
        .join(),
    ),
  );
  await waitFor(
    () =>
      pairs.every(
        ([, inf], i) =>
          inf
            .list()
            .map((o) => o.metadata.resourceVersion)
            .sort()
            .join() === want[i],
      ),
    'informers',
  );
}
async function readyPool(h: H): Promise<void> {
  await pool(h);
  await h.poolR.reconcile({ name: 'local' }, ctx);
  await synced(h);
}
async function volume(h: H, spec: Partial<Volume['spec']> = {}): Promise<void> {
  await h.store.create<Volume>(h.k.volume, {
    apiVersion: api,
    kind: 'Volume',
    metadata: { name: 'data', namespace: 'default' },
    spec: { pool: 'local', size: '1Gi', ...spec },
  });
  await synced(h);
}
async function getVol(h: H): Promise<Volume> {
  return h.store.get<Volume>(h.k.volume, 'data', 'default');
}

describe('PoolReconciler (fake driver, memory store)', () => {
  let h: H;
  beforeEach(async () => (h = await makeHarness()));
  afterEach(async () => h.stop());

  it('makes the pool on this member, reports its entry and marks it Ready with a finalizer', async () => {
    await pool(h);
    const res = await h.poolR.reconcile({ name: 'local' }, ctx);
    const p = await h.store.get<StoragePool>(h.k.pool, 'local');
    expect(p.status?.phase).to.equal('Ready');
    expect(p.status?.members).to.deep.equal([{ name: 'm1', ready: true, message: 'ok', capacity: '1Gi', used: '1Mi' }]);
    expect(p.metadata.finalizers).to.include(poolFinalizer('m1'));
    expect(res.requeueAfter).to.equal(60_000);
  });

  it('reports a bad pool NotReady with the reason and retries slowly instead of throwing', async () => {
    h.driver.failPool = 'source path /nope does not exist';
    await pool(h);
    const res = await h.poolR.reconcile({ name: 'local' }, ctx);
    const p = await h.store.get<StoragePool>(h.k.pool, 'local');
    expect(p.status?.phase).to.equal('NotReady');
    expect(p.status?.message).to.contain('source path /nope does not exist');
    expect(res.requeueAfter).to.equal(30_000);
  });

  it('reports an unknown driver NotReady', async () => {
    await pool(h, { driver: 'ceph' });
    await h.poolR.reconcile({ name: 'local' }, ctx);
    expect((await h.store.get<StoragePool>(h.k.pool, 'local')).status?.message).to.match(/ceph.*not available/);
  });

  it('refuses deletion while volumes exist, then tears down and lets the pool go', async () => {
    await readyPool(h);
    await volume(h);
    await h.store.delete(h.k.pool, 'local', undefined);
    await synced(h);
    const res = await h.poolR.reconcile({ name: 'local' }, ctx);
    const p = await h.store.get<StoragePool>(h.k.pool, 'local');
    expect(res.requeueAfter).to.equal(30_000);
    expect(p.status?.conditions?.find((c) => c.type === 'DeletionBlocked')?.message).to.contain('default/data');
    expect(h.driver.calls).to.not.include('deletePool local');
    await h.store.delete(h.k.volume, 'data', 'default');
    await synced(h);
    await h.poolR.reconcile({ name: 'local' }, ctx);
    expect(h.driver.calls).to.include('deletePool local');
    const gone = await h.store.get<StoragePool>(h.k.pool, 'local').catch((e: unknown) => e);
    expect((gone as { code?: string }).code).to.equal('NotFound');
  });

  it('tears down its part when the member is dropped from spec.members', async () => {
    await readyPool(h);
    const p = await h.store.get<StoragePool>(h.k.pool, 'local');
    await h.store.update(h.k.pool, { ...p, spec: { ...p.spec, driver: 'btrfs', members: ['m2'] } });
    await synced(h);
    await h.poolR.reconcile({ name: 'local' }, ctx);
    const after = await h.store.get<StoragePool>(h.k.pool, 'local');
    expect(after.metadata.finalizers ?? []).to.not.include(poolFinalizer('m1'));
    expect(after.status?.members ?? []).to.deep.equal([]);
  });
});

describe('VolumeReconciler (fake driver, memory store)', () => {
  let h: H;
  beforeEach(async () => (h = await makeHarness()));
  afterEach(async () => h.stop());

  it('waits (Pending) while the pool is not ready here', async () => {
    await pool(h);
    await volume(h);
    const res = await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    expect(res.requeueAfter).to.equal(30_000);
    expect((await getVol(h)).status?.phase).to.equal('Pending');
  });

  it('names a pool that does not exist in its status, its Ready condition and one Warning Event', async () => {
    await h.store.create<Volume>(h.k.volume, {
      apiVersion: api,
      kind: 'Volume',
      metadata: { name: 'data', namespace: 'default' },
      spec: { pool: 'fast', size: '1Gi' },
    });
    await synced(h);
    const res = await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    expect(res.requeueAfter).to.equal(30_000);
    const vol = await getVol(h);
    expect(vol.status?.phase).to.equal('Pending');
    expect(vol.status?.message).to.equal('StoragePool "fast" does not exist');
    expect(vol.status?.conditions?.find((c) => c.type === 'Ready')).to.include({
      status: 'False',
      reason: 'PoolNotFound',
      message: 'StoragePool "fast" does not exist',
    });
    // A second pass changes nothing and records no second Event.
    await synced(h);
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    expect((await getVol(h)).metadata.resourceVersion).to.equal(vol.metadata.resourceVersion);
    // Events are recorded in the background: let the recorder's writes land.
    await flushPromises(20);
    const events = (
      await h.store.list<KubeObject & { reason?: string; message?: string }>(h.kinds.resolve('events'), { namespace: 'default' })
    ).items.filter((e) => e.reason === 'PoolNotFound');
    expect(events.map((e) => e.message)).to.deep.equal(['StoragePool "fast" does not exist; the volume waits until it is created']);
  });

  it('stops naming a missing pool once the pool exists', async () => {
    await h.store.create<Volume>(h.k.volume, {
      apiVersion: api,
      kind: 'Volume',
      metadata: { name: 'data', namespace: 'default' },
      spec: { pool: 'local', size: '1Gi' },
    });
    await synced(h);
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    await pool(h);
    await synced(h);
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    const vol = await getVol(h);
    expect(vol.status?.message).to.equal('waiting for a member: the pool is not ready on this member');
    expect(vol.status?.conditions?.find((c) => c.reason === 'PoolNotFound')).to.equal(undefined);
  });

  it('claims the volume, creates it and reports Ready with member, used bytes and snapshots', async () => {
    await readyPool(h);
    await volume(h, { snapshots: ['s1'] });
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    const v = await getVol(h);
    expect(v.status?.phase).to.equal('Ready');
    expect(v.status?.member).to.equal('m1');
    expect(v.status?.used).to.equal('4Ki');
    expect(v.status?.snapshots).to.deep.equal(['s1']);
    expect(v.metadata.finalizers).to.include(VOLUME_FINALIZER);
    expect(h.driver.volumes.get('default_data')?.size).to.equal(2 ** 30);
  });

  it('restores once per token and not while an instance uses the volume', async () => {
    await readyPool(h);
    await volume(h, { snapshots: ['s1'] });
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    let v = await getVol(h);
    await h.store.update(h.k.volume, { ...v, spec: { ...v.spec, pool: 'local', size: '1Gi', restore: { snapshot: 's1' } } });
    await synced(h);
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    await synced(h);
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    expect(h.driver.calls.filter((c) => c.startsWith('restore'))).to.deep.equal(['restore default_data@s1']);
    v = await getVol(h);
    expect(v.status?.restored).to.equal('s1');
  });

  it('keeps a volume an instance uses: finalizer stays and InUse names the instance', async () => {
    await readyPool(h);
    await volume(h);
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    await h.store.create<Instance>(h.k.instance, {
      apiVersion: api,
      kind: 'Instance',
      metadata: { name: 'web', namespace: 'default' },
      spec: { image: 'busybox', volumes: [{ name: 'data', path: '/data' }] },
    } as Instance & KubeObject);
    await h.store.delete(h.k.volume, 'data', 'default');
    await synced(h);
    const res = await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    const v = await getVol(h);
    expect(res.requeueAfter).to.equal(30_000);
    expect(v.status?.conditions?.find((c) => c.type === 'InUse')?.message).to.contain('default/web');
    expect(h.driver.calls).to.not.include('deleteVolume default_data');
    await h.store.delete(h.k.instance, 'web', 'default');
    await synced(h);
    await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx);
    expect(h.driver.calls).to.include('deleteVolume default_data');
    expect(((await getVol(h).catch((e: unknown) => e)) as { code?: string }).code).to.equal('NotFound');
  });

  it('leaves a volume held by another member alone', async () => {
    await readyPool(h);
    await volume(h);
    const v = await getVol(h);
    await h.store.update(h.k.volume, { ...v, status: { member: 'm2', phase: 'Ready' } }, { subresource: 'status' });
    await synced(h);
    expect(await h.volR.reconcile({ namespace: 'default', name: 'data' }, ctx)).to.deep.equal({});
    expect(h.driver.volumes.size).to.equal(0);
  });
});
