import { expect } from 'chai';
import { ensureNamespaces } from '../../../../controllers/namespaces/bootstrap.js';
import { NAMESPACE_KIND } from '../../../../lib/kinds/builtin.js';
import type { Namespace } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import { INSTANCE, inst, kinds, vol, VOLUME } from './harness.js';

describe('ensureNamespaces', () => {
  it('creates default and a Namespace for every namespace holding objects, once', async () => {
    const store = new MemoryStore();
    await store.create(INSTANCE, inst('a'));
    await store.create(VOLUME, vol('v', '1Gi', 'team-b'));
    expect(await ensureNamespaces(store, kinds, silentLogger())).to.deep.equal(['default', 'team', 'team-b']);
    const all = (await store.list<Namespace>(NAMESPACE_KIND)).items;
    expect(all.map((n) => n.metadata.name)).to.deep.equal(['default', 'team', 'team-b']);
    for (const n of all) {
      expect(n.metadata.finalizers).to.deep.equal(['kubernetes']);
      expect(n.spec?.finalizers).to.deep.equal(['kubernetes']);
      expect(n.metadata.labels).to.deep.equal({ 'kubernetes.io/metadata.name': n.metadata.name });
      expect(n.status?.phase).to.equal('Active');
    }
    const revision = await store.currentRevision();
    expect(await ensureNamespaces(store, kinds, silentLogger())).to.deep.equal([]);
    expect(await store.currentRevision()).to.equal(revision);
  });

  it('leaves an existing Namespace as it is, even a terminating one', async () => {
    const store = new MemoryStore();
    await ensureNamespaces(store, kinds, silentLogger());
    await store.delete(NAMESPACE_KIND, 'default', undefined);
    await store.create(INSTANCE, inst('a', {}, { namespace: 'default' }));
    expect(await ensureNamespaces(store, kinds, silentLogger())).to.deep.equal([]);
    expect((await store.get<Namespace>(NAMESPACE_KIND, 'default')).metadata.deletionTimestamp).to.be.a('string');
  });
});
