/**
 * HostAgents are the per-member agents that act only on what is assigned to
 * this member (DESIGN.md §4): the instance runtime agent today; local storage
 * and network plumbing as those domains land.
 */
import { IdmapAllocator } from '../controllers/instances/security/idmap-allocator.js';
import type { MemberAgent } from '../controllers/membership/member-agent.js';
import { StorageAgent } from '../controllers/storage/storage-agent.js';
import { join } from 'node:path';
import { secureDataDir } from '../lib/host/data-dir.js';
import { ensureDir } from '../lib/host/fs.js';
import { EventRecorder } from '../lib/controller/events.js';
import type { Instance } from '../lib/kinds/types.js';
import { runtimes } from '../controllers/instances/runtimes/registry.js';
import { ensureLxcfs } from '../controllers/instances/lxcfs.js';
import { ImageStore } from '../controllers/instances/images/image-store.js';
import { CopyRootfsProvider } from '../controllers/instances/images/rootfs.js';
import { InstanceAgent } from '../controllers/instances/instance-agent.js';
import { NetworkHost } from '../controllers/networking/network-host.js';
import { InstanceLocks } from '../controllers/instances/instance-lock.js';
import { FencedInstances } from '../controllers/instances/fenced-instances.js';
import { Fencer } from '../controllers/membership/fencer.js';
import type { ControllerDeps } from '../lib/controller/deps.js';

/** HostAgentsOptions wire the member's host agents. */
export interface HostAgentsOptions extends ControllerDeps {
  dataDir: string;
  lxcpath: string;
  runtime: 'lxc' | 'hollow';
  memberAgent: MemberAgent;
  /** debianMirror for debian/<suite> images (default: $CLOUDLET_DEBIAN_MIRROR, else deb.debian.org) */
  debianMirror?: string;
  /** imageDir is the only directory `file://` images are read from (default `<dataDir>/image-files`) */
  imageDir?: string;
}

/** HostAgents starts and stops this member's agents together. */
export class HostAgents {
  private readonly stops: Array<() => Promise<void>> = [];
  constructor(private readonly o: HostAgentsOptions) {}

  /** start starts every host agent. */
  async start(): Promise<void> {
    const { store, kinds, informers, logger, metrics, clock, memberName, dataDir } = this.o;
    const runtime = runtimes[this.o.runtime]({ dataDir });
    const images = new ImageStore({
      imagesDir: join(dataDir, 'images'),
      mirror: this.o.debianMirror ?? process.env.CLOUDLET_DEBIAN_MIRROR,
      fileImagesDir: this.o.imageDir ?? join(dataDir, 'image-files'),
    });
    // Before any agent creates a directory under the data dir.
    if (!runtime.info.simulated) await this.prepareDataDir(images);
    const storage = this.startStorage();
    const networking = new NetworkHost({ store, kinds, informers, logger, metrics, clock, memberName, dataDir });
    this.stops.push(() => networking.stop());
    networking.start();
    if (!runtime.info.simulated) await ensureLxcfs({ dataDir, logger });
    const fenced = new FencedInstances();
    const instanceKind = kinds.resolve('instances');
    const agent = new InstanceAgent({
      // reconciles mostly wait on etcd round trips and container start-up, not on this CPU
      concurrency: runtime.info.simulated ? 32 : 8,
      store,
      instanceKind,
      instances: informers.forKind<Instance>(instanceKind),
      memberName,
      dataDir,
      runtime,
      images,
      rootfs: storage.rootfsProvider(new CopyRootfsProvider({ dataDir })),
      volumes: storage.volumeMounter(),
      nics: networking.plumber,
      locks: new InstanceLocks({ store, memberName, lease: () => this.o.memberAgent.currentLease() }),
      fenced,
      idmaps: new IdmapAllocator({ raw: store.raw }),
      events: new EventRecorder({ store, logger, metrics, component: 'instance-agent', host: memberName, clock }),
      logger,
      metrics,
      clock,
    });
    this.stops.push(() => agent.stop());
    this.startFencer(agent, fenced);
    // The agent waits for the informers to sync, which happens once the daemon starts them: do not block start-up on it.
    agent.start().catch((err: unknown) => {
      logger.error('the instance agent failed to start', { error: err instanceof Error ? err.message : String(err) });
      metrics.errors.inc({ component: 'instance-agent' });
    });
  }

  /**
   * prepareDataDir sets the data dir permissions (lib/host/data-dir.ts),
   * makes the default image directory, and removes the image build
   * directories a daemon that died left behind (no build of this one runs yet).
   */
  private async prepareDataDir(images: ImageStore): Promise<void> {
    const { dataDir, logger } = this.o;
    const loosened = await secureDataDir(dataDir);
    if (loosened.length > 0)
      logger.warn('tightened data dir permissions so no other local user can reach instance files', { paths: loosened.join(' ') });
    if (!this.o.imageDir) await ensureDir(join(dataDir, 'image-files'), 0o700);
    const stale = await images.removeStaleBuilds();
    if (stale.length > 0) logger.info('removed stale image build directories', { count: stale.length });
  }

  /** startFencer starts the self-fencing watchdog over the member's lease and the instance agent. */
  private startFencer(agent: InstanceAgent, fenced: FencedInstances): void {
    const { store, kinds, logger, metrics, clock, memberName } = this.o;
    const fencer = new Fencer({
      heartbeat: this.o.memberAgent,
      target: { fence: () => agent.fence(), fencedCount: () => fenced.size },
      store,
      memberKind: kinds.resolve('members'),
      memberName,
      events: new EventRecorder({ store, logger, metrics, component: 'fencer', host: memberName, clock }),
      logger,
      clock,
    });
    this.stops.push(async () => fencer.stop());
    fencer.start();
  }

  /** startStorage starts the storage agent (pools and volumes on this member) without blocking on informer sync. */
  private startStorage(): StorageAgent {
    const { store, kinds, informers, logger, metrics, clock, memberName, dataDir } = this.o;
    const storage = StorageAgent.onHost({ store, kinds, informers, logger, metrics, clock, memberName, dataDir });
    this.stops.push(() => storage.stop());
    storage.start().catch((err: unknown) => {
      logger.error('the storage agent failed to start', { error: err instanceof Error ? err.message : String(err) });
      metrics.errors.inc({ component: 'storage-agent' });
    });
    return storage;
  }

  /** stop stops every host agent (containers keep running; a restart adopts them). */
  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop();
  }
}
