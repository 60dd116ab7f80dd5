/**
 * VolumeMounter turns an Instance's `spec.volumes[]` into the Runtime's bind
 * mounts: each named Volume must be Ready and held by this member (for local
 * pools); its driver makes it visible on the host and the mount binds that
 * path at the instance's path. A volume that is not ready yet is an
 * UnavailableError, so the instance agent retries with backoff.
 *
 * Shared-pool volumes (ceph) are mounted read-write by one member at a time,
 * so the mounter also gives them back: it records which container mounted
 * which shared volume (mount-records.ts) and `release(container)` unmounts
 * the container's volumes that no other local container uses — the instance
 * agent calls it when it deletes a container (deleted, stale copy, moved
 * away) and when an instance is Stopped. A volume still locked by a lost
 * member (lock-break.ts) is taken over: the driver cuts that member off and
 * breaks its lock, and a Warning Event `VolumeLockBroken` on the Volume says so.
 */
import type { EventRecorder } from '../../lib/controller/events.js';
import type { Informer } from '../../lib/controller/informer.js';
import { UnavailableError } from '../../lib/errors.js';
import type { Instance, Member, StoragePool, Volume } from '../../lib/kinds/types.js';
import type { MountSpec } from '../instances/runtimes/types.js';
import type { StorageDriverRegistry } from './drivers/registry.js';
import type { BrokenLock, MountOptions, StorageDriver } from './drivers/types.js';
import { decideLockBreak } from './lock-break.js';
import { mergeVolumes, type MountedVolume, type MountRecords, volumesToRelease } from './mount-records.js';
import { toPoolSpec } from './pool-plan.js';
import { volumeKey } from './volume-plan.js';

/** VolumeMounterOptions wire the mounter for one member. */
export interface VolumeMounterOptions {
  volumes: Informer<Volume>;
  pools: Informer<StoragePool>;
  /** members tell which lock holders are lost (their locks may be broken) */
  members: Informer<Member>;
  drivers: StorageDriverRegistry;
  memberName: string;
  /** records remember the shared volumes each local container mounted */
  records: MountRecords;
  /** events records VolumeLockBroken on the Volume */
  events?: EventRecorder;
}

interface Resolved {
  want: { name: string; path: string; readOnly?: boolean };
  vol: Volume;
  pool: StoragePool;
  driver: StorageDriver;
  key: string;
}

/** VolumeMounter gives instances their volume bind mounts and releases them; see the file comment. */
export class VolumeMounter {
  /** tails serialises mounts and releases of one volume (one chain per pool/volume) */
  private readonly tails = new Map<string, Promise<unknown>>();
  constructor(private readonly o: VolumeMounterOptions) {}

  /**
   * mountsFor returns one MountSpec per `spec.volumes[]` entry, in order, for
   * the container `containerName`; UnavailableError while one is not ready
   * here, ConflictError while a shared volume is mounted by a member that is not lost.
   */
  async mountsFor(instance: Instance, containerName: string): Promise<MountSpec[]> {
    const resolved = (instance.spec?.volumes ?? []).map((want) => this.resolve(instance, want));
    const shared = resolved.filter((r) => r.driver.info.shared).map((r): MountedVolume => ({ pool: r.pool.metadata.name, volume: r.key }));
    // Recorded before mounting, so a mount cut short is released too.
    if (shared.length > 0) await this.o.records.write(containerName, mergeVolumes(await this.o.records.read(containerName), shared));
    const mounts: MountSpec[] = [];
    for (const r of resolved) {
      const source = await this.serial(r.pool.metadata.name, r.key, () =>
        r.driver.mountVolume(toPoolSpec(r.pool), r.key, this.mountOptions(r)),
      );
      const m: MountSpec = { source, path: r.want.path };
      if (r.want.readOnly) m.readOnly = true;
      mounts.push(m);
    }
    return mounts;
  }

  /**
   * release unmounts the shared volumes `containerName` mounted that no other
   * local container uses, and forgets its record; nothing recorded is
   * success. Volumes that fail to unmount stay recorded and the first error is thrown.
   */
  async release(containerName: string): Promise<void> {
    const mine = await this.o.records.read(containerName);
    if (mine.length === 0) return this.o.records.remove(containerName);
    const failed: MountedVolume[] = [];
    let first: unknown;
    for (const v of mine) {
      try {
        await this.serial(v.pool, v.volume, async () => {
          if (volumesToRelease(containerName, await this.o.records.all()).some((x) => x.pool === v.pool && x.volume === v.volume))
            await this.unmount(v);
        });
      } catch (err) {
        failed.push(v);
        first ??= err;
      }
    }
    await this.o.records.write(containerName, failed);
    if (first !== undefined) throw first;
  }

  /** users names the local containers with shared volumes recorded as mounted (the instance agent's orphan sweep looks at them too). */
  async users(): Promise<string[]> {
    return [...(await this.o.records.all()).keys()].sort();
  }

  private async unmount(v: MountedVolume): Promise<void> {
    // Right after a daemon start the instance agent removes stale copies before this cache may have filled.
    await this.o.pools.waitForSync(AbortSignal.timeout(60_000));
    if (!this.o.pools.hasSynced()) throw new UnavailableError(`cannot unmount volume ${v.volume}: the pool cache has not synced yet`);
    const pool = this.o.pools.get({ name: v.pool });
    // A deleted pool was torn down on this member (deletePool unmounts its volumes): nothing is left to unmount.
    if (!pool) return;
    await this.o.drivers.get(pool.spec?.driver ?? '').unmountVolume(toPoolSpec(pool), v.volume);
  }

  private resolve(instance: Instance, want: Resolved['want']): Resolved {
    const ns = instance.metadata.namespace ?? 'default';
    const vol = this.o.volumes.get({ namespace: ns, name: want.name });
    if (!vol) throw new UnavailableError(`volume ${ns}/${want.name} does not exist`);
    const pool = this.o.pools.get({ name: vol.spec?.pool ?? '' });
    if (!pool) throw new UnavailableError(`pool ${vol.spec?.pool ?? ''} of volume ${ns}/${want.name} does not exist`);
    const driver = this.o.drivers.get(pool.spec?.driver ?? '');
    if (vol.status?.phase !== 'Ready')
      throw new UnavailableError(`volume ${ns}/${want.name} is not ready (${vol.status?.phase ?? 'Pending'})`);
    if (!driver.info.shared && vol.status.member !== this.o.memberName) {
      throw new UnavailableError(`volume ${ns}/${want.name} is held by member ${vol.status.member ?? 'none'}, not ${this.o.memberName}`);
    }
    return { want, vol, pool, driver, key: volumeKey(ns, want.name) };
  }

  private mountOptions(r: Resolved): MountOptions {
    if (!r.driver.info.shared) return {};
    const decide = (holder: string) => decideLockBreak(holder, { self: this.o.memberName, members: this.o.members.list() });
    return {
      mayBreakLockOf: (holder) => decide(holder).allowed,
      onLockBroken: (b: BrokenLock) => {
        const cut =
          b.blocklisted.length > 0 ? `its clients ${b.blocklisted.join(', ')} are blocklisted` : 'it had no client left on the volume';
        void this.o.events?.warning(
          r.vol,
          'VolumeLockBroken',
          `member ${this.o.memberName} broke the lock ${b.lock} of member ${b.member} on volume ${r.key} to mount it (${decide(b.member).reason}); ${cut}, so a stale mount there cannot write`,
        );
      },
    };
  }

  /** serial runs `fn` after every earlier mount or release of the same volume on this member. */
  private async serial<T>(pool: string, volume: string, fn: () => Promise<T>): Promise<T> {
    const key = `${pool}/${volume}`;
    const prev = this.tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
