import { MemoryStore } from '../../../../lib/store/memory-store.js';
import { describeIpamContract } from '../../../contract/ipam-contract.js';

describeIpamContract('MemoryStore', { makeStore: async () => new MemoryStore(), rounds: 20, concurrency: 80 });
