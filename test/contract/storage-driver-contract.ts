/**
 * describeStorageDriverContract is the one suite every storage driver
 * passes against its real host tool (dir and btrfs in
 * test/integration/storage/drivers.test.ts, ceph in ceph.test.ts on its
 * throwaway cluster): pools and volumes are idempotent, volumes mount and
 * hold data, images seed volumes, capability flags say which verbs throw
 * NotSupported, and deleting the pool leaves no mount, loop device or
 * directory behind.
 */
import { expect } from 'chai';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PoolSpec, StorageDriver } from '../../controllers/storage/drivers/types.js';
import { loopsUnder, mountsUnder } from '../integration/storage/helpers.js';
import { rejects } from '../helpers/rejects.js';

const MiB = 2 ** 20;

/** StorageDriverHarness is one driver under test: its data dir, a pool spec of its own, and a cleanup that removes whatever is left. */
export interface StorageDriverHarness {
  driver: StorageDriver;
  dataDir: string;
  /** pool: a pool no other test uses (it is deleted at the end) */
  pool: PoolSpec;
  cleanup(): Promise<void>;
}

export function describeStorageDriverContract(name: string, setup: () => Promise<StorageDriverHarness>): void {
  describe(`the ${name} driver contract`, () => {
    let h: StorageDriverHarness;
    let dataDir: string;
    let driver: StorageDriver;
    let pool: PoolSpec;
    before(async () => {
      h = await setup();
      ({ dataDir, driver, pool } = h);
    });
    after(async () => {
      await driver?.deletePool(pool).catch(() => undefined);
      await h?.cleanup();
    });

    it('makes a ready pool with capacity and usage, twice without harm', async () => {
      const first = await driver.ensurePool(pool);
      const second = await driver.ensurePool(pool);
      expect(first.ready).to.equal(true);
      expect(second.ready).to.equal(true);
      expect(second.capacityBytes).to.be.greaterThan(0);
      expect(second.usedBytes).to.be.a('number');
    });

    it('creates, observes, mounts and deletes a volume idempotently', async () => {
      await driver.ensureVolume(pool, { name: 'default_v1', sizeBytes: 32 * MiB });
      const obs = await driver.ensureVolume(pool, { name: 'default_v1', sizeBytes: 32 * MiB });
      expect(obs.exists).to.equal(true);
      expect(await driver.listVolumes(pool)).to.deep.equal(['default_v1']);
      const path = await driver.mountVolume(pool, 'default_v1');
      await writeFile(join(path, 'hello'), 'world');
      expect(await readFile(join(path, 'hello'), 'utf8')).to.equal('world');
      await driver.unmountVolume(pool, 'default_v1');
      await driver.deleteVolume(pool, 'default_v1');
      await driver.deleteVolume(pool, 'default_v1');
      expect((await driver.observeVolume(pool, 'default_v1')).exists).to.equal(false);
    });

    it('creates a volume from an image directory', async () => {
      const image = join(dataDir, 'image');
      await mkdir(join(image, 'etc'), { recursive: true });
      await writeFile(join(image, 'etc', 'hostname'), 'img\n');
      await driver.ensureVolume(pool, {
        name: 'default_img',
        sizeBytes: 32 * MiB,
        source: { kind: 'image', imageName: 'test-image', imagePath: image },
      });
      const path = await driver.mountVolume(pool, 'default_img');
      expect(await readFile(join(path, 'etc', 'hostname'), 'utf8')).to.equal('img\n');
      await driver.deleteVolume(pool, 'default_img');
    });

    it('says by its capability flags which verbs throw NotSupported', async () => {
      await driver.ensureVolume(pool, { name: 'default_caps', sizeBytes: 32 * MiB });
      if (driver.info.snapshots) {
        await driver.createSnapshot(pool, { volume: 'default_caps', snapshot: 's1' });
        expect(await driver.listSnapshots(pool, 'default_caps')).to.deep.equal(['s1']);
      } else {
        const err = await rejects(driver.createSnapshot(pool, { volume: 'default_caps', snapshot: 's1' }));
        expect((err as { code?: string }).code).to.equal('NotSupported');
      }
      await driver.deleteVolume(pool, 'default_caps');
    });

    it('removes the pool completely, twice without harm', async () => {
      await driver.deletePool(pool);
      await driver.deletePool(pool);
      expect(await mountsUnder(dataDir)).to.deep.equal([]);
      expect(await loopsUnder(dataDir)).to.deep.equal([]);
      const left = await readdir(join(dataDir)).catch(() => []);
      expect(left.filter((n) => n === 'storage')).to.deep.equal([]);
    });
  });
}
