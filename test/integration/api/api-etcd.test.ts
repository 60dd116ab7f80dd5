import { EtcdStore } from '../../../lib/store/etcd-store.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { startTestEtcd } from '../../helpers/etcd.js';
import { apiSuite } from './api-suite.js';

apiSuite('EtcdStore on a real etcd', async () => {
  const etcd = await startTestEtcd();
  const store = new EtcdStore({ endpoints: etcd.endpoints, logger: silentLogger() });
  return {
    store,
    compact: (rev) => store.compact(rev),
    stop: async () => {
      await store.close();
      await etcd.stop();
    },
  };
});
