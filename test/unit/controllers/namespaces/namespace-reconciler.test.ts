import { expect } from 'chai';
import { describeRemaining, NamespaceReconciler } from '../../../../controllers/namespaces/namespace-reconciler.js';
import { newNamespace } from '../../../../lib/kinds/namespaces.js';
import { realClock } from '../../../../lib/controller/clock.js';
import { isCode } from '../../../../lib/errors.js';
import { NAMESPACE_KIND, RESOURCE_QUOTA_KIND } from '../../../../lib/kinds/builtin.js';
import type { Namespace } from '../../../../lib/kinds/types.js';
import { type Harness, INSTANCE, inst, kinds, makeHarness, startNamespaces, until, vol, VOLUME } from './harness.js';

describe('NamespaceReconciler', () => {
  let h: Harness;
  beforeEach(() => {
    h = makeHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const ns = (name = 'team'): Promise<Namespace> => h.store.get<Namespace>(NAMESPACE_KIND, name);
  const gone = async (kind: typeof INSTANCE, name: string, namespace?: string): Promise<boolean> => {
    try {
      await h.store.get(kind, name, namespace);
      return false;
    } catch (err) {
      if (isCode(err, 'NotFound')) return true;
      throw err;
    }
  };

  it('gives a Namespace without a phase phase Active', async () => {
    await h.store.create(NAMESPACE_KIND, newNamespace('team'));
    await startNamespaces(h);
    await until('phase Active', async () => (await ns()).status?.phase === 'Active');
  });

  it('deletes the content of a deleted Namespace, Terminating until it is empty, then releases it', async () => {
    await h.store.create(NAMESPACE_KIND, newNamespace('team'));
    await h.store.create(NAMESPACE_KIND, newNamespace('other'));
    await h.store.create(INSTANCE, inst('a', {}, { finalizers: ['cloudlet.dev/agent'] }));
    await h.store.create(INSTANCE, inst('b', {}, { finalizers: ['cloudlet.dev/agent'] }));
    await h.store.create(VOLUME, vol('v', '1Gi'));
    await h.store.create(VOLUME, vol('kept', '1Gi', 'other'));
    await h.store.create(RESOURCE_QUOTA_KIND, {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'q', namespace: 'team' },
      spec: { hard: { cpu: '1' } },
    });
    await startNamespaces(h);
    await h.store.delete(NAMESPACE_KIND, 'team', undefined);

    await until('Terminating with what is left', async () => {
      const cond = (await ns()).status?.conditions?.find((c) => c.type === 'NamespaceContentRemaining');
      return cond?.message === 'Some resources are remaining: 2 instances' && (await ns()).status?.phase === 'Terminating';
    });
    expect(await gone(VOLUME, 'v', 'team')).to.equal(true);
    expect(await gone(RESOURCE_QUOTA_KIND, 'q', 'team')).to.equal(true);
    expect((await h.store.get(INSTANCE, 'a', 'team')).metadata.deletionTimestamp).to.be.a('string');
    expect((await ns()).metadata.finalizers).to.deep.equal(['kubernetes']);

    // the instance agent finishes one instance: the namespace still waits for the other
    const a = await h.store.get(INSTANCE, 'a', 'team');
    await h.store.update(INSTANCE, { ...a, metadata: { ...a.metadata, finalizers: [] } });
    await until(
      'one instance left',
      async () => (await ns()).status?.conditions?.[0]?.message === 'Some resources are remaining: 1 instance',
    );
    expect(await gone(NAMESPACE_KIND, 'team')).to.equal(false);

    const b = await h.store.get(INSTANCE, 'b', 'team');
    await h.store.update(INSTANCE, { ...b, metadata: { ...b.metadata, finalizers: [] } });
    await until('the namespace deleted', () => gone(NAMESPACE_KIND, 'team'));
    expect(await gone(VOLUME, 'kept', 'other')).to.equal(false);
    expect(await gone(NAMESPACE_KIND, 'other')).to.equal(false);
  });

  it('describes what is left by kind, singular for one', () => {
    expect(
      describeRemaining([
        { kind: INSTANCE, count: 3 },
        { kind: VOLUME, count: 1 },
        { kind: RESOURCE_QUOTA_KIND, count: 0 },
      ]),
    ).to.equal('3 instances, 1 volume');
  });

  it('leaves a Namespace alone when it is not in the cache', async () => {
    const r = new NamespaceReconciler({
      store: h.store,
      kinds,
      namespaces: h.informers.forKind<Namespace>(NAMESPACE_KIND),
      clock: realClock,
    });
    expect(await r.reconcile({ name: 'nope' }, {} as never)).to.deep.equal({});
  });
});
