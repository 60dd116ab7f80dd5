/**
 * StorageAgent wires this member's storage host agents: the pool controller
 * (StoragePool, re-checked when volumes or members change) and the volume
 * controller (Volume, re-checked when its pool or an instance naming it
 * changes). Built and started by the daemon's HostAgents.
 */
import { Controller } from '../../lib/controller/controller.js';
import { EventRecorder } from '../../lib/controller/events.js';
import { enqueueMapped, enqueueObject } from '../../lib/controller/handlers.js';
import { requestFor } from '../../lib/controller/reconciler.js';
import type { Instance, Member, StoragePool, Volume } from '../../lib/kinds/types.js';
import { StorageDriverRegistry } from './drivers/registry.js';
import { PoolReconciler } from './pool-reconciler.js';
import { type ImageSource, VolumeReconciler } from './volume-reconciler.js';
import type { RootfsProvider } from '../instances/images/rootfs.js';
import { StorageRootfsProvider } from './btrfs-rootfs.js';
import { VolumeMounter } from './volume-mounts.js';
import { fileMountRecords } from './mount-records.js';
import type { ControllerDeps } from '../../lib/controller/deps.js';

/** StorageAgentOptions wire the storage agent of one member. */
export interface StorageAgentOptions extends ControllerDeps {
  drivers: StorageDriverRegistry;
  events: EventRecorder;
  images?: ImageSource;
  slowRetryMs?: number;
  resyncMs?: number;
}

/** StorageAgentHostOptions wire the storage agent of the member whose data dir is `dataDir`. */
export interface StorageAgentHostOptions extends Omit<StorageAgentOptions, 'drivers' | 'events'> {
  dataDir: string;
  /** component names the agent as the source of its Events (default `storage-agent`) */
  component?: string;
}

/** StorageAgent owns the pool and volume controllers of this member. */
export class StorageAgent {
  private readonly controllers: Controller[] = [];
  constructor(private readonly o: StorageAgentOptions) {}

  /**
   * StorageAgent.onHost builds the agent with this member's storage drivers
   * over `dataDir` (shared drivers lock in the member's name) and an event
   * recorder reporting from the member.
   */
  static onHost(opts: StorageAgentHostOptions): StorageAgent {
    const { dataDir, component, ...o } = opts;
    const { store, logger, metrics, clock, memberName } = o;
    return new StorageAgent({
      ...o,
      drivers: new StorageDriverRegistry({ dataDir, memberName }),
      events: new EventRecorder({ store, logger, metrics, component: component ?? 'storage-agent', host: memberName, clock }),
    });
  }

  /** start builds and starts both controllers (they begin once their informers have synced). */
  async start(): Promise<void> {
    const { store, kinds, informers, logger, metrics, clock, memberName, drivers, events } = this.o;
    const poolKind = kinds.resolve('storagepools');
    const volumeKind = kinds.resolve('volumes');
    const pools = informers.forKind<StoragePool>(poolKind);
    const volumes = informers.forKind<Volume>(volumeKind);
    const members = informers.forKind<Member>(kinds.resolve('members'));
    const instances = informers.forKind<Instance>(kinds.resolve('instances'));
    const timing = { slowRetryMs: this.o.slowRetryMs, resyncMs: this.o.resyncMs };
    const poolController = new Controller({
      name: 'storage-pools',
      reconciler: new PoolReconciler({ store, poolKind, pools, volumes, members, drivers, events, clock, memberName, ...timing }),
      logger,
      metrics,
      clock,
      timeoutMs: 10 * 60_000,
    })
      .watches(pools, enqueueObject<StoragePool>())
      .watches(
        volumes,
        enqueueMapped<Volume>((v) => (v.spec?.pool ? [{ name: v.spec.pool }] : [])),
      )
      .watches(
        members,
        enqueueMapped<Member>(() => pools.list().map(requestFor)),
      );
    const volumeController = new Controller({
      name: 'storage-volumes',
      reconciler: new VolumeReconciler({
        store,
        volumeKind,
        volumes,
        pools,
        instances,
        drivers,
        events,
        clock,
        memberName,
        images: this.o.images,
        ...timing,
      }),
      logger,
      metrics,
      clock,
      concurrency: 2,
      timeoutMs: 30 * 60_000,
    })
      .watches(volumes, enqueueObject<Volume>())
      .watches(
        pools,
        enqueueMapped<StoragePool>((p) => volumes.list((v) => v.spec?.pool === p.metadata.name).map(requestFor)),
      )
      .watches(
        instances,
        enqueueMapped<Instance>((i) =>
          (i.spec?.volumes ?? []).map((v) => ({ namespace: i.metadata.namespace ?? 'default', name: v.name })),
        ),
      );
    this.controllers.push(poolController, volumeController);
    await Promise.all(this.controllers.map((c) => c.start()));
  }

  /** rootfsProvider wraps `fallback` so instances with spec.rootfs.pool get CoW clones from this member's pools. */
  rootfsProvider(fallback: RootfsProvider): StorageRootfsProvider {
    const { kinds, informers, drivers, memberName } = this.o;
    return new StorageRootfsProvider({
      fallback,
      pools: informers.forKind<StoragePool>(kinds.resolve('storagepools')),
      drivers,
      memberName,
    });
  }

  /**
   * volumeMounter gives instances their spec.volumes bind mounts from this
   * member's volumes and releases shared ones (records under
   * `<dataDir>/volume-mounts/`); it breaks locks only of members the Member
   * informer shows lost.
   */
  volumeMounter(): VolumeMounter {
    const { kinds, informers, drivers, memberName, events } = this.o;
    return new VolumeMounter({
      volumes: informers.forKind<Volume>(kinds.resolve('volumes')),
      pools: informers.forKind<StoragePool>(kinds.resolve('storagepools')),
      members: informers.forKind<Member>(kinds.resolve('members')),
      drivers,
      memberName,
      records: fileMountRecords(drivers.dataDir),
      events,
    });
  }

  /** stop stops both controllers; host state (mounts, volumes) stays as it is. */
  async stop(): Promise<void> {
    await Promise.all(this.controllers.splice(0).map((c) => c.stop()));
  }
}
