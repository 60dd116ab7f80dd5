/**
 * BtrfsRootfsProvider gives instances copy-on-write root filesystems from a
 * btrfs pool: the image is copied once into a read-only cache subvolume
 * (`images/<image>-<build>`), and each instance's rootfs is a writable
 * snapshot of it (`rootfs/<container>`) — instant, sharing every block until
 * the instance writes.
 */
import { createHash } from 'node:crypto';
import type { ImageInfo } from '../instances/images/types.js';
import type { RootfsProvider, RootfsProviderInfo } from '../instances/images/rootfs.js';
import type { BtrfsDriver } from './drivers/btrfs.js';
import type { PoolSpec } from './drivers/types.js';

/** imageCacheName names an image's cache subvolume: its cache name plus a short hash of its build time, so a rebuilt image gets a new cache. */
export function imageCacheName(image: ImageInfo): string {
  return `${image.name}-${createHash('sha256').update(image.builtAt).digest('hex').slice(0, 8)}`;
}

/** BtrfsRootfsProvider implements RootfsProvider over one ready btrfs pool; see the file comment. */
export class BtrfsRootfsProvider implements RootfsProvider {
  readonly info: RootfsProviderInfo = { name: 'btrfs', cowClone: true };
  private readonly driver: BtrfsDriver;
  private readonly pool: PoolSpec;

  constructor(opts: { driver: BtrfsDriver; pool: PoolSpec }) {
    this.driver = opts.driver;
    this.pool = opts.pool;
  }

  /** ensureRootfs returns `rootfs/<containerName>`, snapshotting the cached image first when it does not exist. */
  async ensureRootfs(opts: { containerName: string; image: ImageInfo }): Promise<string> {
    return this.driver.cloneImage(this.pool, { imageName: imageCacheName(opts.image), imagePath: opts.image.rootfsPath, name: opts.containerName });
  }

  /** deleteRootfs deletes the container's subvolume (and any nested in it); absent is success. */
  async deleteRootfs(containerName: string): Promise<void> {
    await this.driver.deleteClone(this.pool, containerName);
  }

  /** list names the containers with a rootfs in this pool. */
  async list(): Promise<string[]> {
    return this.driver.listClones(this.pool);
  }
}
