import { expect } from 'chai';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import { Controller } from '../../../../lib/controller/controller.js';
import { enqueueMapped, enqueueObject, enqueueOwner } from '../../../../lib/controller/handlers.js';
import { Informer } from '../../../../lib/controller/informer.js';
import type { Request } from '../../../../lib/controller/reconciler.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import type { KubeObject } from '../../../../lib/store/types.js';
import { FakeStore } from './fake-store.js';
import { INSTANCE, MEMBER, instance } from './kinds.js';

function sink() {
  const reqs: Request[] = [];
  return { reqs, q: { add: (r: Request) => reqs.push(r) } };
}

const owned: KubeObject = {
  apiVersion: 'cloudlet.dev/v1alpha1',
  kind: 'Volume',
  metadata: {
    name: 'data',
    namespace: 'default',
    ownerReferences: [
      { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', name: 'web', uid: 'u1', controller: true },
      { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', name: 'db', uid: 'u2' },
      { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', name: 'm1', uid: 'u3' },
    ],
  },
};

describe('event handlers', () => {
  it('enqueueObject enqueues the object itself, namespaced or not', () => {
    const { reqs, q } = sink();
    const h = enqueueObject();
    h.onAdd(owned, q);
    h.onDelete({ apiVersion: 'v', kind: 'Member', metadata: { name: 'm1' } }, q);
    expect(reqs).to.deep.equal([{ namespace: 'default', name: 'data' }, { name: 'm1' }]);
  });

  it('enqueueOwner enqueues the owners of the given kind from ownerReferences', () => {
    const { reqs, q } = sink();
    enqueueOwner('Instance').onAdd(owned, q);
    expect(reqs).to.deep.equal([
      { namespace: 'default', name: 'web' },
      { namespace: 'default', name: 'db' },
    ]);
  });

  it('enqueueOwner can follow only the controller reference, and cluster-scoped owners', () => {
    const a = sink();
    enqueueOwner('Instance', { onlyController: true }).onAdd(owned, a.q);
    expect(a.reqs).to.deep.equal([{ namespace: 'default', name: 'web' }]);
    const b = sink();
    enqueueOwner('Member', { clusterScoped: true }).onDelete(owned, b.q);
    expect(b.reqs).to.deep.equal([{ name: 'm1' }]);
  });

  it('enqueueMapped enqueues what the function returns, for old and new objects on update', () => {
    const { reqs, q } = sink();
    const h = enqueueMapped<KubeObject>((o) => [{ name: `for-${o.metadata.name}` }]);
    h.onUpdate({ ...owned, metadata: { name: 'old' } }, { ...owned, metadata: { name: 'new' } }, q);
    expect(reqs).to.deep.equal([{ name: 'for-new' }, { name: 'for-old' }]);
  });
});

describe('Controller', () => {
  it('reconciles every watched object once the informers have synced, then each change', async () => {
    const clock = new FakeClock();
    const store = new FakeStore(clock);
    await store.create(INSTANCE, instance('web'));
    await store.create(MEMBER, { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', metadata: { name: 'm1' } });
    const instances = new Informer({ store, kind: INSTANCE, logger: silentLogger(), clock, resyncPeriodMs: 0 });
    const members = new Informer({ store, kind: MEMBER, logger: silentLogger(), clock, resyncPeriodMs: 0 });
    const seen: string[] = [];
    const controller = new Controller({
      name: 'instances',
      logger: silentLogger(),
      metrics: createMetrics(),
      clock,
      reconciler: {
        reconcile: async (req) => {
          seen.push(`${req.namespace ?? ''}/${req.name}`);
          return {};
        },
      },
    })
      .watches(instances, enqueueObject())
      .watches(
        members,
        enqueueMapped(() => instances.list().map((i) => ({ namespace: i.metadata.namespace, name: i.metadata.name }))),
      );
    const starting = controller.start();
    await flushPromises();
    expect(seen).to.deep.equal([]);
    instances.start();
    members.start();
    await starting;
    await clock.advanceAsync(0);
    expect(seen).to.deep.equal(['default/web']);
    await store.create(INSTANCE, instance('db'));
    await clock.advanceAsync(0);
    expect(seen).to.deep.equal(['default/web', 'default/db']);
    await controller.stop();
    await instances.stop();
    await members.stop();
  });
});
