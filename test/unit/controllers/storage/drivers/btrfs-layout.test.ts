import { expect } from 'chai';
import { BtrfsLayout } from '../../../../../controllers/storage/drivers/btrfs-layout.js';
import type { PoolSpec } from '../../../../../controllers/storage/drivers/types.js';

describe('BtrfsLayout', () => {
  const layout = new BtrfsLayout('/data/storage');
  const loop: PoolSpec = { name: 'fast', config: {} };
  const source: PoolSpec = { name: 'fast', source: '/srv/btrfs', config: {} };

  it('places a loop-file pool under the storage directory and a source pool at its source', () => {
    expect(layout.rootOf(loop)).to.equal('/data/storage/fast');
    expect(layout.imageFileOf(loop)).to.equal('/data/storage/fast.img');
    expect(layout.rootOf(source)).to.equal('/srv/btrfs');
  });

  it('names volumes, snapshots, images and root filesystems inside the pool root', () => {
    expect(layout.volumesDir(source)).to.equal('/srv/btrfs/volumes');
    expect(layout.volume(source, 'db')).to.equal('/srv/btrfs/volumes/db');
    expect(layout.snapshotsOf(source, 'db')).to.equal('/srv/btrfs/snapshots/db');
    expect(layout.snapshot(source, { volume: 'db', snapshot: 'nightly' })).to.equal('/srv/btrfs/snapshots/db/nightly');
    expect(layout.imagesDir(source)).to.equal('/srv/btrfs/images');
    expect(layout.rootfsDir(source)).to.equal('/srv/btrfs/rootfs');
  });

  it('rejects a name that is not one safe path component', () => {
    expect(() => layout.volume(loop, '../etc')).to.throw(/not a valid name/);
    expect(() => layout.snapshot(loop, { volume: 'db', snapshot: 'a/b' })).to.throw(/not a valid name/);
    expect(() => layout.rootOf({ name: '.hidden', config: {} })).to.throw(/not a valid name/);
  });
});
