import { EtcdStore } from '../../../lib/store/etcd-store.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import { describeStoreContract } from '../../contract/store-contract.js';
import { startTestEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { eventually } from '../../helpers/poll.js';

describe('EtcdStore against a real etcd', function () {
  this.timeout(60_000);
  let etcd: TestEtcd | undefined;
  before(async () => {
    etcd = await startTestEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  describeStoreContract('EtcdStore', async () => {
    if (!etcd) throw new Error('etcd did not start');
    const store = new EtcdStore({ endpoints: etcd.endpoints, logger: silentLogger(), metrics: createMetrics() });
    const others: EtcdStore[] = [];
    const endpoints = etcd.endpoints;
    return {
      other: async () => {
        const other = new EtcdStore({ endpoints, logger: silentLogger(), metrics: createMetrics() });
        others.push(other);
        return other;
      },
      store,
      compact: (revision) => store.compact(revision),
      expireLease: async (lease) => {
        // a lease that is not renewed lapses after its TTL (etcd rounds small TTLs up);
        // ask etcd TimeToLive (which does not renew it) until it answers -1: revoked, keys gone
        const expired = async (): Promise<boolean> =>
          Number((await store.etcd.client.leaseClient.leaseTimeToLive({ ID: lease.id })).TTL) === -1;
        await eventually(`lease ${lease.id} to expire`, expired, { timeoutMs: 30_000, everyMs: 250 });
      },
      close: async () => {
        for (const o of others) await o.close();
        await store.close();
      },
    };
  });
});
