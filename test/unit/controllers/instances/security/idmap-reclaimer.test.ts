import { expect } from 'chai';
import { Informer } from '../../../../../lib/controller/informer.js';
import { KindRegistry } from '../../../../../lib/kinds/registry.js';
import type { Instance } from '../../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../../lib/log/logger.js';
import { MemoryStore } from '../../../../../lib/store/memory-store.js';
import type { RawEntry } from '../../../../../lib/store/types.js';
import { IdmapAllocator, idmapKey } from '../../../../../controllers/instances/security/idmap-allocator.js';
import { IdmapReclaimer, orphanedClaims } from '../../../../../controllers/instances/security/idmap-reclaimer.js';
import { waitFor } from '../../../../helpers/poll.js';

const entry = (hostId: number, owner: string, revision: string): RawEntry => ({
  key: idmapKey(hostId),
  value: owner,
  revision,
  lease: '0',
});

describe('IdmapReclaimer', () => {
  it('picks the claims whose owner the cache does not hold, only up to the revision the cache has seen', () => {
    const alive = (ns: string, name: string, uid: string): boolean => `${ns}/${name}/${uid}` === 'default/web/u1';
    const claims = [
      entry(1000000, 'default/web/u1', '10'), // alive
      entry(1065536, 'default/gone/u2', '11'), // gone: reclaimed
      entry(1131072, 'default/web/u0', '12'), // an older instance of the same name: reclaimed
      entry(1196608, 'default/new/u3', '30'), // newer than the cache: the instance may not be cached yet
      entry(1262144, 'garbage', '5'), // not an owner text: left alone
    ];
    expect(orphanedClaims(claims, '20', alive).map((c) => c.value)).to.deep.equal(['default/gone/u2', 'default/web/u0']);
  });

  describe('on a store', () => {
    const kinds = KindRegistry.load();
    const instanceKind = kinds.resolve('instances');
    let store: MemoryStore;
    let instances: Informer<Instance>;
    beforeEach(() => {
      store = new MemoryStore();
      instances = new Informer<Instance>({ store, kind: instanceKind, logger: silentLogger(), resyncPeriodMs: 0 });
    });
    afterEach(async () => {
      await instances.stop();
      await store.close();
    });

    const instance = (name: string): Instance =>
      ({
        apiVersion: 'cloudlet.dev/v1alpha1',
        kind: 'Instance',
        metadata: { name, namespace: 'default' },
        spec: { image: 'busybox' },
      }) as Instance;

    it('keeps the range of a live instance and gives back the one of an instance deleted without releasing it', async () => {
      const allocator = new IdmapAllocator({ raw: store.raw });
      const live = await store.create(instanceKind, instance('live'));
      const gone = await store.create(instanceKind, instance('gone'));
      const liveRange = await allocator.allocate({ namespace: 'default', name: 'live', uid: live.metadata.uid ?? '' });
      await allocator.allocate({ namespace: 'default', name: 'gone', uid: gone.metadata.uid ?? '' });
      await store.delete(instanceKind, 'gone', 'default'); // as if its finalizer had been removed by hand
      instances.start();
      await instances.waitForSync();
      const reclaimer = new IdmapReclaimer({ raw: store.raw, instances, logger: silentLogger() });
      await waitFor('the cache to see the delete', async () => {
        await reclaimer.reconcile({ name: 'idmaps' }, { attempt: 0 } as never);
        return (await allocator.holders()).length === 1 ? true : undefined;
      });
      expect(await allocator.holders()).to.deep.equal([{ hostId: liveRange.hostId, owner: `default/live/${live.metadata.uid}` }]);
    });
  });
});
