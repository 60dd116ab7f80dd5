/**
 * MemoryStore is the Store for unit tests: the same object rules as
 * EtcdStore (ObjectStore) over an in-memory backend, plus test controls for
 * compaction and lease expiry.
 */
import { MemoryBackend } from './memory-backend.js';
import { ObjectStore } from './object-store.js';

/** MemoryStoreOptions: clocks for timestamps and for lease deadlines. */
export interface MemoryStoreOptions {
  now?: () => Date;
  /** leaseClock drives lease deadlines for expireDueLeases (ms); default Date.now */
  leaseClock?: () => number;
}

/** MemoryStore: ObjectStore over MemoryBackend; compact(), expireLease(), expireDueLeases() for tests. */
export class MemoryStore extends ObjectStore {
  private readonly memory: MemoryBackend;

  constructor(opts: MemoryStoreOptions = {}) {
    const memory = new MemoryBackend({ clock: opts.leaseClock });
    super({ backend: memory, now: opts.now });
    this.memory = memory;
  }

  /** sibling is a second store over the same data, as another process would have one (tests of concurrent writers). */
  sibling(): ObjectStore {
    return new ObjectStore({ backend: this.memory });
  }

  /** compact forgets history before `revision`: watches from older revisions fail with GoneError. */
  async compact(revision: string): Promise<void> {
    this.memory.compact(Number(revision));
  }

  /** expireLease ends a lease as if its TTL ran out; its keys vanish in one revision. */
  expireLease(id: string): void {
    this.memory.expireLease(id);
  }

  /** expireDueLeases expires leases whose deadline (from leaseClock) has passed; returns their ids. */
  expireDueLeases(): string[] {
    return this.memory.expireDueLeases();
  }
}
