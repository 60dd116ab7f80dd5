/**
 * VolumeMounter turns an Instance's `spec.volumes[]` into the Runtime's bind
 * mounts: each named Volume must be Ready and held by this member (for local
 * pools); its driver makes it visible on the host and the mount binds that
 * path at the instance's path. A volume that is not ready yet is an
 * UnavailableError, so the instance agent retries with backoff.
 */
import type { Informer } from '../../lib/controller/informer.js';
import { UnavailableError } from '../../lib/errors.js';
import type { Instance, StoragePool, Volume } from '../../lib/kinds/types.js';
import type { MountSpec } from '../instances/runtimes/types.js';
import type { StorageDriverRegistry } from './drivers/registry.js';
import { toPoolSpec } from './pool-plan.js';
import { volumeKey } from './volume-plan.js';

/** VolumeMounterOptions wire the mounter for one member. */
export interface VolumeMounterOptions {
  volumes: Informer<Volume>;
  pools: Informer<StoragePool>;
  drivers: StorageDriverRegistry;
  memberName: string;
}

/** VolumeMounter gives instances their volume bind mounts; see the file comment. */
export class VolumeMounter {
  constructor(private readonly o: VolumeMounterOptions) {}

  /** mountsFor returns one MountSpec per `spec.volumes[]` entry, in order; UnavailableError while one is not ready here. */
  async mountsFor(instance: Instance): Promise<MountSpec[]> {
    const ns = instance.metadata.namespace ?? 'default';
    const mounts: MountSpec[] = [];
    for (const want of instance.spec?.volumes ?? []) {
      const vol = this.o.volumes.get({ namespace: ns, name: want.name });
      if (!vol) throw new UnavailableError(`volume ${ns}/${want.name} does not exist`);
      const pool = this.o.pools.get({ name: vol.spec?.pool ?? '' });
      if (!pool) throw new UnavailableError(`pool ${vol.spec?.pool ?? ''} of volume ${ns}/${want.name} does not exist`);
      const driver = this.o.drivers.get(pool.spec?.driver ?? '');
      if (vol.status?.phase !== 'Ready') throw new UnavailableError(`volume ${ns}/${want.name} is not ready (${vol.status?.phase ?? 'Pending'})`);
      if (!driver.info.shared && vol.status.member !== this.o.memberName) {
        throw new UnavailableError(`volume ${ns}/${want.name} is held by member ${vol.status.member ?? 'none'}, not ${this.o.memberName}`);
      }
      const source = await driver.mountVolume(toPoolSpec(pool), volumeKey(ns, want.name));
      const m: MountSpec = { source, path: want.path };
      if (want.readOnly) m.readOnly = true;
      mounts.push(m);
    }
    return mounts;
  }
}
