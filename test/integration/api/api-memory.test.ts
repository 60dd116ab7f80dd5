import { MemoryStore } from '../../../lib/store/memory-store.js';
import { apiSuite } from './api-suite.js';

apiSuite('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, compact: (rev) => store.compact(rev), stop: () => store.close() };
});
