/**
 * The daemon entry points used by `cloudlet up` and `cloudlet daemon`. The
 * daemon is assembled in one place (daemon.ts); this file handles the data
 * directory, the process signals and the foreground life cycle.
 */
import { join } from 'node:path';
import { createRootLogger } from '../lib/log/logger.js';
import { errorMessage, ValidationError } from '../lib/errors.js';
import { ensureClusterIdentity } from './cluster.js';
import { Daemon } from './daemon.js';
import { runInit } from './init.js';
import { existsSync, writeFileSync } from 'node:fs';

/** DaemonOptions configure one Cloudlet daemon (one member). */
export interface DaemonOptions {
  /** data directory: etcd data, kubeconfig, tokens, lxcpath, images */
  dataDir: string;
  /** API listen address HOST:PORT (default 127.0.0.1:6443) */
  listen: string;
  /** use an external etcd instead of the embedded one */
  etcdEndpoints?: string[];
  /** path of the etcd binary (default: found on PATH) */
  etcdBinary?: string;
  /** member name (default: the host name) */
  memberName?: string;
  /** instance runtime: lxc (default) or hollow (benchmarks only) */
  runtime?: 'lxc' | 'hollow';
  /** imageDir is the only directory `file://` images are read from (default `<dataDir>/image-files`) */
  imageDir?: string;
}

export { DEFAULT_DATA_DIR } from '../lib/defaults.js';

/** runUp creates a one-member cluster in opts.dataDir on first run (as `cloudlet init`), then runs the daemon until SIGTERM/SIGINT. */
export async function runUp(opts: DaemonOptions): Promise<void> {
  if (existsSync(join(opts.dataDir, 'cluster.json'))) await ensureClusterIdentity(opts.dataDir, opts.memberName);
  else await runInit({ dataDir: opts.dataDir, listen: opts.listen, ...(opts.memberName ? { memberName: opts.memberName } : {}) });
  await runDaemon(opts);
}

/** runDaemon runs the daemon of an initialised data dir until SIGTERM/SIGINT. */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  if (!existsSync(join(opts.dataDir, 'cluster.json'))) {
    throw new ValidationError(`${opts.dataDir} holds no cluster: run \`cloudlet up --data-dir ${opts.dataDir}\` to create one`);
  }
  const logger = createRootLogger();
  // Node's own warnings (deprecations from libraries) go through the logger, so
  // the daemon's stderr stays one JSON object per line off a terminal.
  process.removeAllListeners('warning');
  process.on('warning', (w) => logger.warn('node runtime warning', { warning: w.name, detail: w.message }));
  // daemon.pid lets tools (the lab) signal this process without searching for it by name.
  writeFileSync(join(opts.dataDir, 'daemon.pid'), `${process.pid}\n`);
  const daemon = new Daemon({ ...opts, logger });
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    logger.info('stopping', { signal });
    stopping = daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('stop failed', { error: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await daemon.start();
  } catch (err) {
    logger.error('daemon failed to start', { error: errorMessage(err) });
    await daemon.stop().catch(() => undefined);
    throw err;
  }
  await new Promise<never>(() => undefined);
}
