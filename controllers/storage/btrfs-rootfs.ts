/**
 * Root filesystems from storage pools. PoolRootfsProvider gives instances
 * copy-on-write root filesystems from one pool whose driver clones (btrfs):
 * the image is copied once into a read-only cache subvolume
 * (`images/<image>-<build>`), and each instance's rootfs is a writable
 * snapshot of it (`rootfs/<container>`) — instant, sharing every block until
 * the instance writes. StorageRootfsProvider is what the instance agent
 * uses: `spec.rootfs.pool` picks a pool on this member, anything else (or a
 * pool whose driver cannot clone) falls back to the plain provider.
 */
import { createHash } from 'node:crypto';
import { UnavailableError } from '../../lib/errors.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { StoragePool } from '../../lib/kinds/types.js';
import type { ImageInfo } from '../instances/images/types.js';
import type { RootfsProvider, RootfsProviderInfo } from '../instances/images/rootfs.js';
import type { StorageDriverRegistry } from './drivers/registry.js';
import { isRootfsCloner, type PoolSpec, type RootfsCloner } from './drivers/types.js';
import { toPoolSpec } from './pool-plan.js';

/** imageCacheName names an image's cache subvolume: its cache name plus a short hash of its build time, so a rebuilt image gets a new cache. */
export function imageCacheName(image: ImageInfo): string {
  return `${image.name}-${createHash('sha256').update(image.builtAt).digest('hex').slice(0, 8)}`;
}

/** PoolRootfsProvider implements RootfsProvider over one ready pool of a cloning driver; see the file comment. */
export class PoolRootfsProvider implements RootfsProvider {
  readonly info: RootfsProviderInfo = { name: 'pool', cowClone: true };
  private readonly driver: RootfsCloner;
  private readonly pool: PoolSpec;

  constructor(opts: { driver: RootfsCloner; pool: PoolSpec }) {
    this.driver = opts.driver;
    this.pool = opts.pool;
  }

  /** ensureRootfs returns the container's clone, cloning the cached image first when it does not exist. */
  async ensureRootfs(opts: { containerName: string; image: ImageInfo }): Promise<string> {
    return this.driver.cloneImage(this.pool, {
      imageName: imageCacheName(opts.image),
      imagePath: opts.image.rootfsPath,
      name: opts.containerName,
    });
  }

  /** deleteRootfs deletes the container's clone (and anything nested in it); absent is success. */
  async deleteRootfs(containerName: string): Promise<void> {
    await this.driver.deleteClone(this.pool, containerName);
  }

  /** list names the containers with a rootfs in this pool. */
  async list(): Promise<string[]> {
    return this.driver.listClones(this.pool);
  }
}

/** StorageRootfsProvider routes `spec.rootfs.pool` to the pool's clones and everything else to `fallback`; see the file comment. */
export class StorageRootfsProvider implements RootfsProvider {
  readonly info: RootfsProviderInfo;
  constructor(
    private readonly o: { fallback: RootfsProvider; pools: Informer<StoragePool>; drivers: StorageDriverRegistry; memberName: string },
  ) {
    this.info = { name: `storage+${o.fallback.info.name}`, cowClone: o.fallback.info.cowClone };
  }

  /** poolProviders gives a provider for every pool ready on this member whose driver clones. */
  private poolProviders(): PoolRootfsProvider[] {
    const out: PoolRootfsProvider[] = [];
    for (const p of this.o.pools.list((p) => this.readyHere(p))) {
      const driver = this.driverOf(p);
      if (driver) out.push(new PoolRootfsProvider({ driver, pool: toPoolSpec(p) }));
    }
    return out;
  }

  private readyHere(p: StoragePool): boolean {
    return p.status?.members?.some((m) => m.name === this.o.memberName && m.ready === true) ?? false;
  }

  private driverOf(p: StoragePool): RootfsCloner | undefined {
    try {
      const d = this.o.drivers.get(p.spec?.driver ?? '');
      return isRootfsCloner(d) ? d : undefined;
    } catch {
      return undefined;
    }
  }

  /** ensureRootfs clones into `pool` when given (UnavailableError until it is ready here), else uses the fallback. */
  async ensureRootfs(opts: { containerName: string; image: ImageInfo; pool?: string }): Promise<string> {
    if (opts.pool === undefined) return this.o.fallback.ensureRootfs(opts);
    const pool = this.o.pools.get({ name: opts.pool });
    if (!pool || !this.readyHere(pool)) throw new UnavailableError(`storage pool ${opts.pool} is not ready on member ${this.o.memberName}`);
    const driver = this.driverOf(pool);
    if (!driver) return this.o.fallback.ensureRootfs(opts);
    return new PoolRootfsProvider({ driver, pool: toPoolSpec(pool) }).ensureRootfs(opts);
  }

  /** deleteRootfs removes the container's rootfs wherever it is (fallback and every cloning pool here); absent is success. */
  async deleteRootfs(containerName: string): Promise<void> {
    await this.o.fallback.deleteRootfs(containerName);
    for (const p of this.poolProviders()) await p.deleteRootfs(containerName);
  }

  /** list names every container with a rootfs here, in any place. */
  async list(): Promise<string[]> {
    const names = new Set(await this.o.fallback.list());
    for (const p of this.poolProviders()) for (const n of await p.list()) names.add(n);
    return [...names].sort();
  }
}
