/**
 * startTestEtcd starts a real etcd for integration tests: a fresh temp data
 * dir, free loopback ports, the parent-death signal so a killed test run
 * leaves nothing behind, and a stop() that ends the process and removes the dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdServer } from '../../lib/etcd/server.js';
import { silentLogger, type Logger } from '../../lib/log/logger.js';

/** TestEtcd is a running throwaway etcd. */
export interface TestEtcd {
  endpoints: string[];
  dataDir: string;
  server: EtcdServer;
  stop(): Promise<void>;
}

/** startTestEtcd starts etcd in a temp dir; fails with an install hint if etcd is missing. */
export async function startTestEtcd(opts: { logger?: Logger } = {}): Promise<TestEtcd> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cloudlet-etcd-'));
  const server = new EtcdServer({ dataDir, logger: opts.logger ?? silentLogger(), stopGraceMs: 5000 });
  try {
    const info = await server.start();
    return {
      endpoints: [info.clientUrl],
      dataDir,
      server,
      async stop() {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
