/**
 * bench/storage: storage operations against their raw peers, in one run (issue 5).
 *
 *   1. raw `btrfs subvolume snapshot` of a read-only snapshot vs a Cloudlet
 *      Volume with `source.snapshot` from create to status.phase Ready
 *      (StorageAgent over a real etcd, the same btrfs pool);
 *   2. instance root filesystem provisioning: the btrfs CoW clone
 *      (PoolRootfsProvider: snapshot of the cached image) vs the plain copy
 *      (CopyRootfsProvider: `cp -a --reflink=auto` onto the data dir's ext4),
 *      for the real busybox image and a synthetic distro-sized tree.
 *
 *   3. RBD volume create+attach through the ceph driver (bench/storage/rbd.ts:
 *      ensureVolume + mountVolume with lock, rbd-fuse, loop, mkfs, mount) on a
 *      throwaway Ceph from deploy/ceph/ceph.sh, next to a raw `rbd create`.
 *
 * Prints a table and writes bench/results/storage.json. Usage (as root):
 *   node dist/bench/storage/run.js [--clones 10] [--rootfs 5] [--tree-mb 200] [--rbd 5] [--ceph-dir DIR]
 * (--rbd 0 skips the Ceph row; --ceph-dir reuses a cluster made by ceph.sh up DIR.)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { realClock } from '../../lib/controller/clock.js';
import { SharedInformerFactory } from '../../lib/controller/shared-informer-factory.js';
import { run } from '../../lib/host/exec.js';
import { KindRegistry, projectRoot } from '../../lib/kinds/registry.js';
import type { StoragePool, Volume } from '../../lib/kinds/types.js';
import { silentLogger } from '../../lib/log/logger.js';
import { createMetrics } from '../../lib/metrics/metrics.js';
import { EtcdStore } from '../../lib/store/etcd-store.js';
import type { KubeObject } from '../../lib/store/types.js';
import { EtcdServer } from '../../lib/etcd/server.js';
import { ImageStore } from '../../controllers/instances/images/image-store.js';
import { CopyRootfsProvider } from '../../controllers/instances/images/rootfs.js';
import type { ImageInfo } from '../../controllers/instances/images/types.js';
import { PoolRootfsProvider } from '../../controllers/storage/btrfs-rootfs.js';
import { BtrfsDriver } from '../../controllers/storage/drivers/btrfs.js';
import { StorageAgent } from '../../controllers/storage/storage-agent.js';
import { percentile, printTable, ratio, sleepMs } from '../common.js';
import { benchRbd, type RbdBenchResult } from './rbd.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i] ?? '', process.argv[i + 1] ?? '');
const CLONES = Number(args.get('--clones') ?? 10);
const ROOTFS = Number(args.get('--rootfs') ?? 5);
const TREE_MB = Number(args.get('--tree-mb') ?? 200);
const RBD = Number(args.get('--rbd') ?? 5);
const CEPH_DIR = args.get('--ceph-dir');
const api = 'cloudlet.dev/v1alpha1';

interface Stat {
  n: number;
  p50: number;
  p90: number;
  mean: number;
}
function stat(xs: number[]): Stat {
  return { n: xs.length, p50: percentile(xs, 50), p90: percentile(xs, 90), mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length) };
}
async function timed(op: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await op();
  return performance.now() - t0;
}

/** makeTree writes a distro-like tree: many small files plus a few large ones, `mb` MiB in all. */
async function makeTree(dir: string, mb: number): Promise<void> {
  const small = Buffer.alloc(8 * 1024, 3);
  for (let d = 0; d < 40; d++) {
    await mkdir(join(dir, 'usr', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) await writeFile(join(dir, 'usr', `d${d}`, `f${f}`), small);
  }
  const rest = Math.max(0, mb * 2 ** 20 - 4000 * small.length);
  const big = Buffer.alloc(16 * 2 ** 20, 5);
  for (let i = 0; i * big.length < rest; i++)
    await writeFile(join(dir, `blob${i}`), big.subarray(0, Math.min(big.length, rest - i * big.length)));
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cl-bench-storage-'));
  const etcd = new EtcdServer({ dataDir: join(dataDir, 'etcd'), logger: silentLogger(), stopGraceMs: 5000 });
  const logger = silentLogger();
  const metrics = createMetrics();
  let store: EtcdStore | undefined;
  let informers: SharedInformerFactory | undefined;
  let agent: StorageAgent | undefined;
  const driver = new BtrfsDriver({ dataDir });
  const pool = { name: 'bench', sizeBytes: 4 * 2 ** 30, config: {} };
  try {
    const info = await etcd.start();
    store = new EtcdStore({ endpoints: [info.clientUrl], logger, metrics });
    const kinds = KindRegistry.load();
    const poolKind = kinds.resolve('storagepools');
    const volKind = kinds.resolve('volumes');
    await store.create(kinds.resolve('members'), { apiVersion: api, kind: 'Member', metadata: { name: 'm1' }, spec: {} } as KubeObject);
    informers = new SharedInformerFactory({ store, logger, resyncPeriodMs: 0 });
    const host = { store, kinds, informers, logger, metrics, clock: realClock, memberName: 'm1', dataDir };
    agent = StorageAgent.onHost({
      ...host,
      component: 'bench',
      slowRetryMs: 200,
    });
    const started = agent.start();
    informers.start();
    await started;
    const s = store;
    const until = async (what: string, check: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 6000; i++) {
        if (await check()) return;
        await sleepMs(5);
      }
      throw new Error(`timed out: ${what}`);
    };
    await s.create<StoragePool>(poolKind, {
      apiVersion: api,
      kind: 'StoragePool',
      metadata: { name: 'bench' },
      spec: { driver: 'btrfs', size: '4Gi' },
    });
    await until('pool Ready', async () => (await s.get<StoragePool>(poolKind, 'bench')).status?.phase === 'Ready');
    await s.create<Volume>(volKind, {
      apiVersion: api,
      kind: 'Volume',
      metadata: { name: 'src', namespace: 'default' },
      spec: { pool: 'bench', size: '1Gi', snapshots: ['base'] },
    });
    await until('source snapshot', async () => ((await s.get<Volume>(volKind, 'src', 'default')).status?.snapshots ?? []).includes('base'));
    // Fill the source, then re-take the snapshot so clones carry real data.
    const src = join(driver.rootOf(pool), 'volumes', 'default_src');
    await makeTree(src, 64);
    await driver.deleteSnapshot(pool, { volume: 'default_src', snapshot: 'base' });
    await driver.createSnapshot(pool, { volume: 'default_src', snapshot: 'base' });
    const snapPath = join(driver.rootOf(pool), 'snapshots', 'default_src', 'base');

    const raw: number[] = [];
    for (let i = 0; i < CLONES; i++) {
      const target = join(driver.rootOf(pool), `raw-${i}`);
      raw.push(await timed(() => run(['btrfs', 'subvolume', 'snapshot', snapPath, target])));
      await run(['btrfs', 'subvolume', 'delete', target]);
    }
    const cloudlet: number[] = [];
    for (let i = 0; i < CLONES; i++) {
      const name = `clone-${i}`;
      cloudlet.push(
        await timed(async () => {
          await s.create<Volume>(volKind, {
            apiVersion: api,
            kind: 'Volume',
            metadata: { name, namespace: 'default' },
            spec: { pool: 'bench', size: '1Gi', source: { snapshot: 'src@base' } },
          });
          await until(`${name} Ready`, async () => (await s.get<Volume>(volKind, name, 'default')).status?.phase === 'Ready');
        }),
      );
    }

    const images = new ImageStore({ imagesDir: join(dataDir, 'images') });
    const busybox = await images.ensure('busybox');
    const treeDir = join(dataDir, 'tree-image');
    await makeTree(treeDir, TREE_MB);
    const tree: ImageInfo = { ...busybox, ref: 'synthetic', name: 'synthetic', rootfsPath: treeDir };
    const cow = new PoolRootfsProvider({ driver, pool });
    const copy = new CopyRootfsProvider({ dataDir });
    const rootfsRows: Array<{ image: string; cow: Stat; copy: Stat }> = [];
    for (const image of [busybox, tree]) {
      await cow.ensureRootfs({ containerName: `warm-${image.name}`, image }); // fills the image cache once
      const c: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < ROOTFS; i++) {
        c.push(await timed(() => cow.ensureRootfs({ containerName: `c-${image.name}-${i}`, image })));
        p.push(await timed(() => copy.ensureRootfs({ containerName: `p-${image.name}-${i}`, image })));
      }
      for (let i = 0; i < ROOTFS; i++) await copy.deleteRootfs(`p-${image.name}-${i}`);
      rootfsRows.push({ image: image.name === 'synthetic' ? `synthetic ${TREE_MB} MiB` : `busybox`, cow: stat(c), copy: stat(p) });
    }

    let rbd: RbdBenchResult | undefined;
    if (RBD > 0) rbd = await benchRbd({ n: RBD, sizeMiB: 256, cephDir: CEPH_DIR });

    const rawS = stat(raw);
    const cloS = stat(cloudlet);
    const f = (n: number): string => n.toFixed(1);
    printTable(
      ['operation', 'n', 'p50 ms', 'p90 ms', 'peer', 'peer p50 ms', 'peer p90 ms', 'ratio p50'],
      [
        [
          'Volume clone create→Ready',
          String(cloS.n),
          f(cloS.p50),
          f(cloS.p90),
          'raw btrfs snapshot',
          f(rawS.p50),
          f(rawS.p90),
          `${f(ratio(cloS.p50, rawS.p50))}x`,
        ],
        ...rootfsRows.map((r) => [
          `rootfs CoW (${r.image})`,
          String(r.cow.n),
          f(r.cow.p50),
          f(r.cow.p90),
          'plain copy',
          f(r.copy.p50),
          f(r.copy.p90),
          `${ratio(r.copy.p50, r.cow.p50).toFixed(1)}x faster`,
        ]),
        ...(rbd ? rbdRows(rbd, f) : []),
      ],
    );
    const result = {
      bench: 'storage',
      when: new Date().toISOString(),
      volumeClone: { cloudletCreateToReadyMs: cloS, rawBtrfsSnapshotMs: rawS, ratioP50: ratio(cloS.p50, rawS.p50), sourceMb: 64 },
      rootfs: rootfsRows.map((r) => ({ image: r.image, cowMs: r.cow, copyMs: r.copy, speedupP50: ratio(r.copy.p50, r.cow.p50) })),
      rbd: rbd
        ? {
            sizeMiB: rbd.sizeMiB,
            createAttachMs: stat(rbd.createAttachMs),
            createMs: stat(rbd.createMs),
            attachMs: stat(rbd.attachMs),
            detachMs: stat(rbd.detachMs),
            rawRbdCreateMs: stat(rbd.rawRbdCreateMs),
            ratioP50: ratio(percentile(rbd.createAttachMs, 50), percentile(rbd.rawRbdCreateMs, 50)),
          }
        : undefined,
      notMeasured: rbd ? [] : ['RBD volume create+attach: skipped with --rbd 0'],
    };
    const out = join(projectRoot(), 'bench/results');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'storage.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${join(out, 'storage.json')}`);
  } finally {
    await agent?.stop().catch(() => undefined);
    await informers?.stop().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await etcd.stop().catch(() => undefined);
    await driver.deletePool(pool).catch((err: unknown) => console.error('pool teardown failed', err));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** rbdRows are the table rows of the RBD measurements. */
function rbdRows(r: RbdBenchResult, f: (n: number) => string): string[][] {
  const raw = stat(r.rawRbdCreateMs);
  const row = (label: string, xs: number[]): string[] => {
    const s = stat(xs);
    return [label, String(s.n), f(s.p50), f(s.p90), 'raw rbd create', f(raw.p50), f(raw.p90), `${f(ratio(s.p50, raw.p50))}x`];
  };
  return [
    row(`RBD volume create+attach (${r.sizeMiB} MiB)`, r.createAttachMs),
    row('  of which create', r.createMs),
    row('  of which attach', r.attachMs),
  ];
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
