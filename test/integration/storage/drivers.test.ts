/**
 * Storage drivers against the real host: the driver contract
 * (test/contract/storage-driver-contract.ts) on dir and btrfs, then btrfs
 * specifics on a real loop file: quota, snapshots and restore,
 * copy-on-write clones, re-attach after a restart, bad input, and a
 * teardown that leaves no mount, loop device or file.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../lib/host/exec.js';
import { BtrfsDriver } from '../../../controllers/storage/drivers/btrfs.js';
import { DirDriver } from '../../../controllers/storage/drivers/dir.js';
import type { PoolSpec, StorageDriver } from '../../../controllers/storage/drivers/types.js';
import { PoolRootfsProvider } from '../../../controllers/storage/btrfs-rootfs.js';
import { forceCleanup, loopsUnder, mountsUnder, requireBtrfs } from './helpers.js';
import { describeStorageDriverContract, type StorageDriverHarness } from '../../contract/storage-driver-contract.js';
import { rejects } from '../../helpers/rejects.js';

const MiB = 2 ** 20;

/** harness makes a fresh data dir and driver for the contract (btrfs tools are needed by the loop-file pools either way). */
async function harness(name: string, make: (dataDir: string) => StorageDriver): Promise<StorageDriverHarness> {
  await requireBtrfs();
  const dataDir = await mkdtemp(join(tmpdir(), `cloudlet-${name}-`));
  return {
    driver: make(dataDir),
    dataDir,
    pool: { name: 'p1', sizeBytes: 256 * MiB, config: {} },
    cleanup: async () => {
      await forceCleanup(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describeStorageDriverContract('dir', () => harness('dir', (dataDir) => new DirDriver({ dataDir })));
describeStorageDriverContract('btrfs', () => harness('btrfs', (dataDir) => new BtrfsDriver({ dataDir })));

describe('the btrfs driver on a real loop file', () => {
  let dataDir: string;
  let driver: BtrfsDriver;
  const pool: PoolSpec = { name: 'bt', sizeBytes: 256 * MiB, config: {} };
  before(async () => {
    await requireBtrfs();
    dataDir = await mkdtemp(join(tmpdir(), 'cloudlet-btrfs-'));
    driver = new BtrfsDriver({ dataDir });
    await driver.ensurePool(pool);
  });
  after(async () => {
    await driver.deletePool(pool).catch(() => undefined);
    await forceCleanup(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('enforces a volume size: writing past it fails with a quota error', async () => {
    const obs = await driver.ensureVolume(pool, { name: 'default_q', sizeBytes: 16 * MiB });
    expect(obs.sizeBytes).to.equal(16 * MiB);
    const path = await driver.mountVolume(pool, 'default_q');
    await writeFile(join(path, 'small'), Buffer.alloc(4 * MiB, 1));
    const err = await rejects(writeFile(join(path, 'big'), Buffer.alloc(32 * MiB, 1)));
    // Node names errno 122 only on some builds; EDQUOT is 122 on Linux.
    expect((err as NodeJS.ErrnoException).errno).to.equal(-122);
    await run(['sync', '-f', path]);
    const used = await driver.observeVolume(pool, 'default_q');
    expect(used.usedBytes).to.be.greaterThan(4 * MiB - 1);
  });

  it('resizes a volume so a bigger write fits', async () => {
    await driver.ensureVolume(pool, { name: 'default_q', sizeBytes: 64 * MiB });
    const path = await driver.mountVolume(pool, 'default_q');
    await rm(join(path, 'big'), { force: true });
    await writeFile(join(path, 'big'), Buffer.alloc(32 * MiB, 1));
    expect((await driver.observeVolume(pool, 'default_q')).sizeBytes).to.equal(64 * MiB);
  });

  it('snapshots a volume and restores it', async () => {
    await driver.ensureVolume(pool, { name: 'default_s', sizeBytes: 32 * MiB });
    const path = await driver.mountVolume(pool, 'default_s');
    await writeFile(join(path, 'data'), 'version 1');
    await driver.createSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
    await driver.createSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
    await writeFile(join(path, 'data'), 'version 2');
    await writeFile(join(path, 'extra'), 'x');
    await driver.restoreSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
    expect(await readFile(join(path, 'data'), 'utf8')).to.equal('version 1');
    expect(await readdir(path)).to.deep.equal(['data']);
    expect((await driver.observeVolume(pool, 'default_s')).sizeBytes).to.equal(32 * MiB);
    await driver.deleteSnapshot(pool, { volume: 'default_s', snapshot: 'before' });
    expect(await driver.listSnapshots(pool, 'default_s')).to.deep.equal([]);
  });

  it('clones a volume from a snapshot without copying (copy-on-write)', async () => {
    const path = await driver.mountVolume(pool, 'default_s');
    await writeFile(join(path, 'blob'), Buffer.alloc(8 * MiB, 7));
    await driver.createSnapshot(pool, { volume: 'default_s', snapshot: 'base' });
    const before = await driver.observePool(pool);
    await driver.ensureVolume(pool, {
      name: 'default_clone',
      sizeBytes: 32 * MiB,
      source: { kind: 'snapshot', volume: 'default_s', snapshot: 'base' },
    });
    const after = await driver.observePool(pool);
    const clone = await driver.mountVolume(pool, 'default_clone');
    expect((await readFile(join(clone, 'blob'))).equals(Buffer.alloc(8 * MiB, 7))).to.equal(true);
    expect((after.usedBytes ?? 0) - (before.usedBytes ?? 0)).to.be.lessThan(4 * MiB);
  });

  it('gives instances copy-on-write root filesystems from a cached image', async () => {
    const image = join(dataDir, 'img');
    await mkdir(join(image, 'bin'), { recursive: true });
    await writeFile(join(image, 'bin', 'init'), '#!/bin/sh\n');
    const provider = new PoolRootfsProvider({ driver, pool });
    const info = {
      ref: 'busybox',
      name: 'busybox',
      rootfsPath: image,
      distro: 'busybox' as const,
      haltSignal: 'SIGUSR1',
      builtAt: '2026-01-01T00:00:00Z',
    };
    const a = await provider.ensureRootfs({ containerName: 'c-a', image: info });
    const b = await provider.ensureRootfs({ containerName: 'c-b', image: info });
    expect(await provider.ensureRootfs({ containerName: 'c-a', image: info })).to.equal(a);
    await writeFile(join(a, 'bin', 'init'), 'changed');
    expect(await readFile(join(b, 'bin', 'init'), 'utf8')).to.equal('#!/bin/sh\n');
    expect(await provider.list()).to.deep.equal(['c-a', 'c-b']);
    await run(['btrfs', 'subvolume', 'create', join(a, 'nested')]);
    await provider.deleteRootfs('c-a');
    await provider.deleteRootfs('c-a');
    expect(await provider.list()).to.deep.equal(['c-b']);
  });

  it('re-attaches its loop device after a restart with the data intact', async () => {
    const root = driver.rootOf(pool);
    await run(['umount', root]);
    for (const d of await loopsUnder(dataDir)) await run(['losetup', '--detach', d]);
    expect((await driver.observePool(pool)).ready).to.equal(false);
    expect((await driver.ensurePool(pool)).ready).to.equal(true);
    expect(await readFile(join(await driver.mountVolume(pool, 'default_s'), 'data'), 'utf8')).to.equal('version 1');
  });

  it('refuses a pool smaller than mkfs.btrfs can format, leaving nothing behind', async () => {
    const err = await rejects(driver.ensurePool({ name: 'tiny', sizeBytes: 64 * MiB, config: {} }));
    expect((err as { code?: string }).code).to.equal('Invalid');
    expect(await readdir(join(dataDir, 'storage'))).to.not.include('tiny.img');
  });

  it('refuses a missing source path and a source that is not btrfs', async () => {
    const missing = await rejects(driver.ensurePool({ name: 'src', source: join(dataDir, 'nope'), config: {} }));
    expect((missing as { code?: string }).code).to.equal('NotFound');
    const notBtrfs = await rejects(driver.ensurePool({ name: 'src', source: dataDir, config: {} }));
    expect((notBtrfs as Error).message).to.match(/not on a btrfs filesystem/);
  });

  it('uses an existing btrfs path as a pool and cleans only its own subvolumes', async () => {
    const src = join(driver.rootOf(pool), 'outer');
    await mkdir(src);
    const srcPool: PoolSpec = { name: 'src', source: src, config: {} };
    expect((await driver.ensurePool(srcPool)).ready).to.equal(true);
    await driver.ensureVolume(srcPool, { name: 'default_x', sizeBytes: 16 * MiB });
    await writeFile(join(src, 'user-file'), 'keep me');
    await driver.deletePool(srcPool);
    expect(await readdir(src)).to.deep.equal(['user-file']);
  });

  it('tears down to no mount, no loop device and no file', async () => {
    await driver.deletePool(pool);
    expect(await mountsUnder(dataDir)).to.deep.equal([]);
    expect(await loopsUnder(dataDir)).to.deep.equal([]);
    expect(await readdir(join(dataDir, 'storage')).catch(() => [])).to.deep.equal([]);
  });
});
