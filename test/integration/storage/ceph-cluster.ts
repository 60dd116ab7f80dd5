/**
 * A throwaway Ceph for the integration tests: `deploy/ceph/ceph.sh up` in a
 * temp dir, `down` (every daemon stopped by PID, the dir removed) after.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../lib/host/exec.js';
import { which } from '../../../lib/host/which.js';
import { projectRoot } from '../../../lib/kinds/registry.js';

// From the project root, so it is found from sources (tsx) and from dist/ alike.
const SCRIPT = join(projectRoot(), 'deploy/ceph/ceph.sh');

/** CephCluster is what `ceph.sh up` printed: the pool config a StoragePool needs. */
export interface CephCluster {
  dir: string;
  conf: string;
  keyring: string;
  adminKeyring: string;
  user: string;
  pool: string;
}

/** requireCeph fails (never skips) with an install hint when a Ceph tool is missing. */
export async function requireCeph(): Promise<void> {
  for (const t of ['ceph-mon', 'ceph-mgr', 'ceph-osd']) await which(t, { package: 'ceph-mon ceph-mgr ceph-osd ceph-common rbd-fuse' });
  await which('rbd', { package: 'ceph-common' });
  await which('rbd-fuse', { package: 'rbd-fuse' });
}

/**
 * cephUp brings a throwaway cluster up in a fresh temp dir (3 OSDs of 2 GiB
 * sparse files). With CLOUDLET_TEST_CEPH_DIR set it reuses (and `up`s) that
 * dir instead and `cephDown` leaves it running — for quick local iterations.
 */
export async function cephUp(): Promise<CephCluster> {
  await requireCeph();
  const dir = process.env.CLOUDLET_TEST_CEPH_DIR ?? (await mkdtemp(join(tmpdir(), 'cloudlet-ceph-')));
  const res = await run([SCRIPT, 'up', dir], {
    timeoutMs: 10 * 60_000,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CEPH_OSD_SIZE: '2G' },
  }).catch(async (err: unknown) => {
    await cephDown(dir);
    throw err;
  });
  const kv = new Map(res.stdout.split('\n').map((l) => l.split('=', 2) as [string, string]));
  return {
    dir,
    conf: kv.get('conf') ?? '',
    keyring: kv.get('keyring') ?? '',
    adminKeyring: kv.get('admin_keyring') ?? '',
    user: kv.get('user') ?? '',
    pool: kv.get('pool') ?? '',
  };
}

/** cephDown stops the cluster's daemons by PID and removes its dir. */
export async function cephDown(dir: string | undefined): Promise<void> {
  if (dir === undefined || dir === process.env.CLOUDLET_TEST_CEPH_DIR) return;
  await run([SCRIPT, 'down', dir], { timeoutMs: 5 * 60_000 }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

/** poolConfig is the StoragePool spec.config for the cluster's cloudlet client. */
export function poolConfig(c: CephCluster): Record<string, string> {
  return { conf: c.conf, keyring: c.keyring, user: c.user, pool: c.pool };
}
