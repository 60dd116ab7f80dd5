/**
 * A dir pool on an administrator's directory (`spec.source`) on the real
 * filesystem: Cloudlet deletes only what it recorded making there.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirDriver } from '../../../controllers/storage/drivers/dir.js';
import type { PoolSpec } from '../../../controllers/storage/drivers/types.js';
import { pathExists } from '../../../lib/host/fs.js';

const MiB = 2 ** 20;

describe('the dir driver on a spec.source directory', () => {
  let dataDir: string;
  let source: string;
  let driver: DirDriver;
  let pool: PoolSpec;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cl-dir-src-data-'));
    source = await mkdtemp(join(tmpdir(), 'cl-dir-src-'));
    driver = new DirDriver({ dataDir });
    pool = { name: 'srcpool', source, config: {} };
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(source, { recursive: true, force: true });
  });

  it('keeps the source and the files already in it when the pool is deleted, removing the volumes it made', async () => {
    await writeFile(join(source, 'user-file'), 'keep me');
    expect((await driver.ensurePool(pool)).ready).to.equal(true);
    await driver.ensureVolume(pool, { name: 'default_a', sizeBytes: MiB });
    await writeFile(join(source, 'volumes', 'default_a', 'data'), 'volume data');
    await driver.deletePool(pool);
    expect(await readdir(source)).to.deep.equal(['user-file']);
    expect(await readFile(join(source, 'user-file'), 'utf8')).to.equal('keep me');
  });

  it('keeps a volumes directory that was there before, with everything Cloudlet did not make in it', async () => {
    await mkdir(join(source, 'volumes'));
    await mkdir(join(source, 'volumes', 'mine'));
    await writeFile(join(source, 'volumes', 'mine', 'f'), 'theirs');
    await writeFile(join(source, 'volumes', 'notes.txt'), 'theirs');
    await driver.ensurePool(pool);
    await driver.ensureVolume(pool, { name: 'default_a', sizeBytes: MiB });
    expect(await driver.listVolumes(pool)).to.deep.equal(['default_a']);
    await driver.deletePool(pool);
    expect((await readdir(join(source, 'volumes'))).sort()).to.deep.equal(['mine', 'notes.txt']);
    expect(await readFile(join(source, 'volumes', 'mine', 'f'), 'utf8')).to.equal('theirs');
    expect(await readdir(source)).to.deep.equal(['volumes']);
  });

  it('keeps the volumes directory it made when someone else put a file in it', async () => {
    await driver.ensurePool(pool);
    await writeFile(join(source, 'volumes', 'added-later'), 'theirs');
    await driver.deletePool(pool);
    expect(await readdir(join(source, 'volumes'))).to.deep.equal(['added-later']);
  });

  it("never deletes a directory with a volume's name that it did not make", async () => {
    await mkdir(join(source, 'volumes', 'default_b'), { recursive: true });
    await writeFile(join(source, 'volumes', 'default_b', 'f'), 'theirs');
    await driver.ensurePool(pool);
    await driver.deleteVolume(pool, 'default_b');
    await driver.deletePool(pool);
    expect(await readFile(join(source, 'volumes', 'default_b', 'f'), 'utf8')).to.equal('theirs');
  });

  it('deletes a volume it made and forgets it', async () => {
    await driver.ensurePool(pool);
    await driver.ensureVolume(pool, { name: 'default_c', sizeBytes: MiB });
    await driver.deleteVolume(pool, 'default_c');
    expect(await pathExists(join(source, 'volumes', 'default_c'))).to.equal(false);
    expect(await driver.listVolumes(pool)).to.deep.equal([]);
  });

  it('refuses a volumes entry that is a symlink instead of following it', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'cl-dir-src-elsewhere-'));
    try {
      const { symlink } = await import('node:fs/promises');
      await symlink(elsewhere, join(source, 'volumes'));
      let err: unknown;
      await driver.ensurePool(pool).catch((e: unknown) => (err = e));
      expect((err as { code?: string }).code).to.equal('Invalid');
      await driver.deletePool(pool);
      expect(await pathExists(elsewhere)).to.equal(true);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
