import { MemoryStore } from '../../../../lib/store/memory-store.js';
import { describeStoreContract } from '../../../contract/store-contract.js';

describeStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return {
    store,
    compact: (revision) => store.compact(revision),
    expireLease: async (lease) => store.expireLease(lease.id),
    other: async () => store.sibling(),
    close: () => store.close(),
  };
});
