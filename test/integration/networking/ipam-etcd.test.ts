import { EtcdStore } from '../../../lib/store/etcd-store.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { describeIpamContract } from '../../contract/ipam-contract.js';
import { startTestEtcd, type TestEtcd } from '../../helpers/etcd.js';

describe('IPAM against a real etcd', function () {
  this.timeout(120_000);
  let etcd: TestEtcd | undefined;
  before(async () => {
    etcd = await startTestEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });
  describeIpamContract('EtcdStore', {
    makeStore: async () => {
      if (!etcd) throw new Error('etcd did not start');
      return new EtcdStore({ endpoints: etcd.endpoints, logger: silentLogger() });
    },
    rounds: 4,
    concurrency: 80,
  });
});
