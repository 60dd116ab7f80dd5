/**
 * EtcdStore is the production Store: the shared object rules (ObjectStore)
 * over a real etcd (EtcdBackend).
 */
import { EtcdBackend, type EtcdBackendOptions } from './etcd-backend.js';
import { ObjectStore } from './object-store.js';

/** EtcdStoreOptions: etcd endpoints, optional TLS, logger, optional metrics and clock. */
export interface EtcdStoreOptions extends EtcdBackendOptions {
  now?: () => Date;
}

/** EtcdStore: ObjectStore over EtcdBackend; compact(revision) discards history (compaction controller, tests). */
export class EtcdStore extends ObjectStore {
  /** etcd is the backend with the raw etcd3 client, for benchmarks and tests only. */
  readonly etcd: EtcdBackend;

  constructor(opts: EtcdStoreOptions) {
    const etcd = new EtcdBackend(opts);
    super({ backend: etcd, now: opts.now });
    this.etcd = etcd;
  }

  /** compact discards etcd history before `revision`; watches from older revisions then fail with GoneError. */
  async compact(revision: string): Promise<void> {
    await this.etcd.compact(Number(revision));
  }
}
