/**
 * The API server of bench/api, run as its own process (as a daemon is), so
 * the load generator does not share its CPU. Wired as daemon/daemon.ts
 * serveApi wires it, less TLS, the audit log and the join/access routes: the
 * default RBAC objects are ensured, a CredentialCache follows the issued
 * tokens, and RBAC and admission judge every request. Prints `PORT <n>` on
 * stdout. Usage: node dist/bench/api/server-child.js ETCD_URL TOKEN
 */
import { EtcdStore } from '../../lib/store/etcd-store.js';
import { ApiServer } from '../../lib/api/server.js';
import { CredentialCache } from '../../lib/auth/credentials.js';
import { ensureDefaultRbac } from '../../lib/auth/bootstrap.js';
import { KindRegistry } from '../../lib/kinds/registry.js';
import { silentLogger } from '../../lib/log/logger.js';
import { createMetrics } from '../../lib/metrics/metrics.js';

const [etcdUrl, token] = process.argv.slice(2);
if (!etcdUrl || !token) {
  console.error('usage: server-child.js ETCD_URL TOKEN');
  process.exit(2);
}
const logger = silentLogger();
const metrics = createMetrics();
const store = new EtcdStore({ endpoints: [etcdUrl], logger });
await ensureDefaultRbac(store, logger);
const credentials = new CredentialCache({ raw: store.raw, logger, metrics });
await credentials.start();
const api = new ApiServer({ store, kinds: KindRegistry.load(), logger, metrics, auth: { tokens: [token], credentials } });
const { port } = await api.listen('127.0.0.1', 0);
process.stdout.write(`PORT ${port}\n`);
const stop = (): void => {
  void api
    .close()
    .then(() => credentials.stop())
    .then(() => store.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
