/**
 * The RBD row of bench/storage: ceph driver volume create (`ensureVolume`)
 * + attach (`mountVolume`: RBD lock, rbd-fuse, loop device, mkfs on first
 * use, mount) against a throwaway Ceph from deploy/ceph/ceph.sh, next to a
 * raw `rbd create` of the same size as the peer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from '../../lib/host/exec.js';
import { projectRoot } from '../../lib/kinds/registry.js';
import { CephDriver } from '../../controllers/storage/drivers/ceph.js';
import { clientArgs, parseCephConfig } from '../../controllers/storage/ceph/rbd.js';
import type { PoolSpec } from '../../controllers/storage/drivers/types.js';

/** RbdBenchResult holds the timings (ms) of each repetition. */
export interface RbdBenchResult {
  createMs: number[];
  attachMs: number[];
  createAttachMs: number[];
  rawRbdCreateMs: number[];
  detachMs: number[];
  sizeMiB: number;
}

/** benchRbd times `n` create+attach cycles; `cephDir` reuses a running ceph.sh cluster, otherwise one is made and torn down. */
export async function benchRbd(opts: { n: number; sizeMiB: number; cephDir?: string }): Promise<RbdBenchResult> {
  const script = join(projectRoot(), 'deploy/ceph/ceph.sh');
  const cephDir = opts.cephDir ?? (await mkdtemp(join(tmpdir(), 'cl-bench-ceph-')));
  const dataDir = await mkdtemp(join(tmpdir(), 'cl-bench-rbd-'));
  const driver = new CephDriver({ dataDir, memberName: 'bench' });
  let pool: PoolSpec | undefined;
  try {
    const up = await run([script, 'up', cephDir], {
      timeoutMs: 10 * 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CEPH_OSD_SIZE: '2G' },
    });
    const kv = new Map(up.stdout.split('\n').map((l) => l.split('=', 2) as [string, string]));
    pool = {
      name: 'bench-rbd',
      config: { conf: kv.get('conf') ?? '', keyring: kv.get('keyring') ?? '', user: kv.get('user') ?? '', pool: kv.get('pool') ?? '' },
    };
    const obs = await driver.ensurePool(pool);
    if (!obs.ready) throw new Error(`ceph pool not ready: ${obs.message}`);
    const cfg = parseCephConfig(pool.config);
    const res: RbdBenchResult = { createMs: [], attachMs: [], createAttachMs: [], rawRbdCreateMs: [], detachMs: [], sizeMiB: opts.sizeMiB };
    const size = opts.sizeMiB * 2 ** 20;
    for (let i = 0; i < opts.n; i++) {
      const raw = `default_raw${i}`;
      let t0 = performance.now();
      await run([
        'rbd',
        ...clientArgs(cfg),
        '--pool',
        cfg.pool,
        'create',
        '--size',
        `${opts.sizeMiB}M`,
        '--image-feature',
        'layering',
        raw,
      ]);
      res.rawRbdCreateMs.push(performance.now() - t0);
      await run(['rbd', ...clientArgs(cfg), '--pool', cfg.pool, 'rm', '--no-progress', raw]);
      const name = `default_b${i}`;
      t0 = performance.now();
      await driver.ensureVolume(pool, { name, sizeBytes: size });
      const t1 = performance.now();
      await driver.mountVolume(pool, name);
      const t2 = performance.now();
      res.createMs.push(t1 - t0);
      res.attachMs.push(t2 - t1);
      res.createAttachMs.push(t2 - t0);
      const t3 = performance.now();
      await driver.unmountVolume(pool, name);
      res.detachMs.push(performance.now() - t3);
      await driver.deleteVolume(pool, name);
    }
    return res;
  } finally {
    if (pool) await driver.deletePool(pool).catch((err: unknown) => console.error('rbd pool teardown failed', err));
    await rm(dataDir, { recursive: true, force: true });
    if (opts.cephDir === undefined)
      await run([script, 'down', cephDir], { timeoutMs: 5 * 60_000 }).catch((err: unknown) => console.error('ceph down failed', err));
  }
}
