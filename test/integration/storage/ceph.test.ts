/**
 * The ceph driver against a real throwaway Ceph (deploy/ceph/ceph.sh up in a
 * temp dir): the driver contract, data written on member A read back on
 * member B, a second read-write mount refused, stale locks broken only for a
 * fenced member, size enforced, snapshots, and NotReady reasons for a wrong
 * key and an unreachable monitor. Two members are two drivers with their own
 * member name and data dir on this machine. The same cluster then carries
 * ceph-instances.ts: real instances moving between two members with their volume.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../lib/host/exec.js';
import { CephDriver } from '../../../controllers/storage/drivers/ceph.js';
import type { PoolSpec } from '../../../controllers/storage/drivers/types.js';
import { type CephCluster, cephDown, cephUp, poolConfig } from './ceph-cluster.js';
import { forceCleanup, loopsUnder, mountsUnder } from './helpers.js';
import { describeInstancesOnCeph } from './ceph-instances.js';
import { describeStorageDriverContract } from '../../contract/storage-driver-contract.js';
import { rejects } from '../../helpers/rejects.js';

const MiB = 2 ** 20;

describe('the ceph driver on a real throwaway Ceph', function () {
  this.timeout(10 * 60_000);
  let cluster: CephCluster | undefined;
  let dirA: string;
  let dirB: string;
  let a: CephDriver;
  let b: CephDriver;
  let pool: PoolSpec;

  before(async function () {
    this.timeout(12 * 60_000);
    dirA = await mkdtemp(join(tmpdir(), 'cloudlet-ceph-a-'));
    dirB = await mkdtemp(join(tmpdir(), 'cloudlet-ceph-b-'));
    cluster = await cephUp();
    pool = { name: 'shared', config: poolConfig(cluster) };
    a = new CephDriver({ dataDir: dirA, memberName: 'member-a' });
    b = new CephDriver({ dataDir: dirB, memberName: 'member-b' });
  });
  after(async function () {
    this.timeout(10 * 60_000);
    for (const [d, dir] of [
      [a, dirA],
      [b, dirB],
    ] as const) {
      if (d) await d.deletePool(pool).catch(() => undefined);
      if (dir) {
        await forceCleanup(dir);
        await rm(dir, { recursive: true, force: true });
      }
    }
    await cephDown(cluster?.dir);
  });

  // The shared contract first, while the cluster's RBD pool is still empty (it lists the pool's images),
  // with a third member's driver on its own data dir and pool name over the same Ceph pool.
  describeStorageDriverContract('ceph', async () => {
    if (!cluster) throw new Error('the throwaway Ceph did not come up');
    const dataDir = await mkdtemp(join(tmpdir(), 'cloudlet-ceph-contract-'));
    return {
      driver: new CephDriver({ dataDir, memberName: 'member-contract' }),
      dataDir,
      pool: { name: 'contract', config: poolConfig(cluster) },
      cleanup: async () => {
        await forceCleanup(dataDir);
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  });

  describe('the driver contract, with two members', () => {
    it('makes a ready pool with capacity and usage, twice without harm', async () => {
      const first = await a.ensurePool(pool);
      const second = await a.ensurePool(pool);
      expect(first.ready, first.message).to.equal(true);
      expect(second.ready).to.equal(true);
      expect(second.capacityBytes).to.be.greaterThan(0);
      expect(second.usedBytes).to.be.a('number');
      expect((await b.ensurePool(pool)).ready).to.equal(true);
    });

    it('creates, observes, mounts and deletes a volume idempotently', async () => {
      await a.ensureVolume(pool, { name: 'default_v1', sizeBytes: 32 * MiB });
      const obs = await a.ensureVolume(pool, { name: 'default_v1', sizeBytes: 32 * MiB });
      expect(obs.exists).to.equal(true);
      expect(obs.sizeBytes).to.equal(32 * MiB);
      expect(await a.listVolumes(pool)).to.deep.equal(['default_v1']);
      const path = await a.mountVolume(pool, 'default_v1');
      expect(await a.mountVolume(pool, 'default_v1')).to.equal(path);
      await writeFile(join(path, 'hello'), 'world');
      expect(await readFile(join(path, 'hello'), 'utf8')).to.equal('world');
      await a.unmountVolume(pool, 'default_v1');
      await a.unmountVolume(pool, 'default_v1');
      await a.deleteVolume(pool, 'default_v1');
      await a.deleteVolume(pool, 'default_v1');
      expect((await a.observeVolume(pool, 'default_v1')).exists).to.equal(false);
    });

    it('creates a volume from an image directory', async () => {
      const image = join(dirA, 'image');
      await mkdir(join(image, 'etc'), { recursive: true });
      await writeFile(join(image, 'etc', 'hostname'), 'img\n');
      await a.ensureVolume(pool, {
        name: 'default_img',
        sizeBytes: 32 * MiB,
        source: { kind: 'image', imageName: 'test-image', imagePath: image },
      });
      const path = await a.mountVolume(pool, 'default_img');
      expect(await readFile(join(path, 'etc', 'hostname'), 'utf8')).to.equal('img\n');
      await a.deleteVolume(pool, 'default_img');
      expect(await a.listVolumes(pool)).to.deep.equal([]);
    });
  });

  describe('two members sharing the pool', () => {
    const blob = randomBytes(3 * MiB);

    it('reads on member B what member A wrote, after A unmounted', async () => {
      await a.ensureVolume(pool, { name: 'default_data', sizeBytes: 64 * MiB });
      const onA = await a.mountVolume(pool, 'default_data');
      await writeFile(join(onA, 'blob'), blob);
      await writeFile(join(onA, 'note'), 'written on A');
      await a.unmountVolume(pool, 'default_data');
      const onB = await b.mountVolume(pool, 'default_data');
      expect(onB.startsWith(dirB)).to.equal(true);
      expect((await readFile(join(onB, 'blob'))).equals(blob)).to.equal(true);
      expect(await readFile(join(onB, 'note'), 'utf8')).to.equal('written on A');
    });

    it('refuses a second read-write mount while another member holds the volume', async () => {
      const err = await rejects(a.mountVolume(pool, 'default_data'));
      expect(err.code).to.equal('Conflict');
      expect(err.message).to.match(/already mounted read-write on member member-b/);
      expect(await mountsUnder(join(dirA, 'storage', 'shared', 'volumes'))).to.deep.equal([]);
      expect((await b.locks(pool, 'default_data')).map((l) => l.id)).to.deep.equal(['cloudlet:member-b']);
    });

    it('refuses to delete or restore a volume mounted on another member', async () => {
      expect((await rejects(a.deleteVolume(pool, 'default_data'))).code).to.equal('Conflict');
      expect((await a.observeVolume(pool, 'default_data')).exists).to.equal(true);
    });

    it('breaks the lock of a member only when told it is fenced', async () => {
      // Member B "dies" with the volume mounted: A may take over once B is known to be fenced.
      const onA = await a.mountVolume(pool, 'default_data', { breakLocksOf: ['member-b'] });
      expect((await readFile(join(onA, 'blob'))).equals(blob)).to.equal(true);
      expect((await a.locks(pool, 'default_data')).map((l) => l.id)).to.deep.equal(['cloudlet:member-a']);
      // B's leftover host mount goes away without touching A's lock.
      await b.unmountVolume(pool, 'default_data');
      expect((await a.locks(pool, 'default_data')).map((l) => l.id)).to.deep.equal(['cloudlet:member-a']);
      await a.unmountVolume(pool, 'default_data');
      expect(await a.locks(pool, 'default_data')).to.deep.equal([]);
    });
  });

  describe('size, resize and snapshots', () => {
    it('enforces the image size: writing past it fails with no space left', async () => {
      await a.ensureVolume(pool, { name: 'default_q', sizeBytes: 16 * MiB });
      const path = await a.mountVolume(pool, 'default_q');
      const err = await rejects(writeFile(join(path, 'big'), Buffer.alloc(24 * MiB, 1)));
      expect(err.code).to.equal('ENOSPC');
      await rm(join(path, 'big'), { force: true });
    });

    it('grows a volume; the filesystem grows at the next mount', async () => {
      await a.ensureVolume(pool, { name: 'default_q', sizeBytes: 64 * MiB });
      expect((await a.observeVolume(pool, 'default_q')).sizeBytes).to.equal(64 * MiB);
      await a.unmountVolume(pool, 'default_q');
      const path = await a.mountVolume(pool, 'default_q');
      await writeFile(join(path, 'big'), Buffer.alloc(24 * MiB, 1));
      expect((await rejects(a.resizeVolume(pool, 'default_q', 16 * MiB))).code).to.equal('Invalid');
      await a.unmountVolume(pool, 'default_q');
    });

    it('snapshots a volume, restores it, and clones a new volume from the snapshot', async () => {
      await a.ensureVolume(pool, { name: 'default_s', sizeBytes: 32 * MiB });
      const path = await a.mountVolume(pool, 'default_s');
      await writeFile(join(path, 'data'), 'version 1');
      await a.createSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
      await a.createSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
      expect(await a.listSnapshots(pool, 'default_s')).to.deep.equal(['before']);
      await writeFile(join(path, 'data'), 'version 2');
      await writeFile(join(path, 'extra'), 'x');
      await a.restoreSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
      expect(await readFile(join(path, 'data'), 'utf8')).to.equal('version 1');
      expect((await readdir(path)).filter((n) => n !== 'lost+found')).to.deep.equal(['data']);
      await a.ensureVolume(pool, {
        name: 'default_c',
        sizeBytes: 32 * MiB,
        source: { kind: 'snapshot', volume: 'default_s', snapshot: 'before' },
      });
      expect(await readFile(join(await b.mountVolume(pool, 'default_c'), 'data'), 'utf8')).to.equal('version 1');
      await b.unmountVolume(pool, 'default_c');
      await a.deleteSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
      await a.deleteSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
      expect(await a.listSnapshots(pool, 'default_s')).to.deep.equal([]);
    });
  });

  describe('bad input', () => {
    it('reports a wrong key as NotReady with the reason', async () => {
      const bad = join(dirA, 'bad.keyring');
      await writeFile(bad, `[client.${cluster?.user}]\n\tkey = AQBvxwRrAAAAABAAxxxxxxxxxxxxxxxxxxxxxxxxxx==\n`);
      const obs = await a.ensurePool({ name: 'badkey', config: { ...pool.config, keyring: bad, timeoutSeconds: '5' } });
      expect(obs.ready).to.equal(false);
      expect(obs.message).to.match(/authentication failed/);
    });

    it('reports an unreachable monitor as NotReady with the reason', async () => {
      const conf = join(dirA, 'nowhere.conf');
      const port = 1; // nothing listens on tcp/1 on loopback
      await writeFile(conf, `[global]\nmon host = v1:127.0.0.1:${port}\nauth client required = cephx\n`);
      const obs = await a.ensurePool({ name: 'nowhere', config: { ...pool.config, conf, timeoutSeconds: '3' } });
      expect(obs.ready).to.equal(false);
      expect(obs.message).to.match(/unreachable|timed out/);
    });

    it('refuses a pool without its cluster config', async () => {
      expect((await rejects(a.ensurePool({ name: 'nothing', config: {} }))).code).to.equal('Invalid');
    });
  });

  // Instances moving with their volume, on this same cluster (it starts once: about a minute).
  describeInstancesOnCeph(() => {
    if (!cluster) throw new Error('the ceph cluster did not come up');
    return cluster;
  });

  describe('teardown', () => {
    it('deletes volumes, then removes the pool on each member leaving no mount, loop device or process', async () => {
      for (const v of await a.listVolumes(pool)) await a.deleteVolume(pool, v);
      expect(await a.listVolumes(pool)).to.deep.equal([]);
      for (const [d, dir] of [
        [a, dirA],
        [b, dirB],
      ] as const) {
        await d.deletePool(pool);
        await d.deletePool(pool);
        expect(await mountsUnder(dir)).to.deep.equal([]);
        expect(await loopsUnder(dir)).to.deep.equal([]);
        expect((await readdir(dir)).filter((n) => n === 'storage')).to.deep.equal([]);
      }
      const fuse = await run(['pgrep', '-f', `rbd-fuse ${dirA}`], { okExitCodes: [0, 1] });
      expect(fuse.stdout.trim()).to.equal('');
    });
  });
});
