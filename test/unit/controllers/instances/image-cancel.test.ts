import { expect } from 'chai';
import type { ImageStore } from '../../../../controllers/instances/images/image-store.js';
import type { RootfsProvider } from '../../../../controllers/instances/images/rootfs.js';
import type { ImageInfo } from '../../../../controllers/instances/images/types.js';
import { InstanceAgent } from '../../../../controllers/instances/instance-agent.js';
import { HollowRuntime } from '../../../../controllers/instances/runtimes/hollow.js';
import { containerNamePrefix } from '../../../../controllers/instances/runtimes/naming.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Instance } from '../../../../lib/kinds/types.js';
import { type Harness, INSTANCE, instanceObj, makeHarness } from './harness.js';

const DATA_DIR = '/var/lib/cloudlet-unit-test';

/** NeverEndingImages builds forever, until its signal is aborted (as the real store's commands are killed). */
class NeverEndingImages {
  signals = new Map<string, AbortSignal>();
  async cached(): Promise<ImageInfo | undefined> {
    return undefined;
  }
  ensure(ref: string, opts: { signal?: AbortSignal }): Promise<ImageInfo> {
    if (opts.signal) this.signals.set(ref, opts.signal);
    return new Promise((_resolve, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason)));
  }
}

const NO_ROOTFS: RootfsProvider = {
  info: { name: 'none', cowClone: false },
  ensureRootfs: async () => {
    throw new Error('no image is ever ready in this test');
  },
  deleteRootfs: async () => undefined,
  list: async () => [],
};

describe('InstanceAgent and image builds', () => {
  let h: Harness;
  let agent: InstanceAgent;
  let images: NeverEndingImages;

  beforeEach(async () => {
    h = makeHarness();
    images = new NeverEndingImages();
    const runtime = new HollowRuntime({ prefix: containerNamePrefix(DATA_DIR), now: () => new Date(h.clock.now()) });
    // A runtime that needs images (the hollow one simulates and never builds any).
    Object.defineProperty(runtime, 'info', { value: { ...runtime.info, simulated: false } });
    agent = new InstanceAgent({
      store: h.store,
      instanceKind: INSTANCE,
      instances: h.informers.forKind<Instance>(INSTANCE),
      memberName: 'm1',
      dataDir: DATA_DIR,
      runtime,
      images: images as unknown as ImageStore,
      rootfs: NO_ROOTFS,
      events: new EventRecorder({
        store: h.store,
        logger: h.logger,
        metrics: h.metrics,
        component: 'instance-agent',
        host: 'm1',
        clock: h.clock,
      }),
      logger: h.logger,
      metrics: h.metrics,
      clock: h.clock,
    });
    h.informers.start();
    await agent.start();
  });
  afterEach(async () => {
    await agent.stop();
    await h.informers.stop();
  });

  async function assign(name: string, image: string): Promise<void> {
    const created = await h.store.create<Instance>(INSTANCE, instanceObj(name, { image }));
    await h.store.update<Instance>(
      INSTANCE,
      { ...created, status: { phase: 'Scheduled', member: 'm1', placementEpoch: 1, observedGeneration: 1 } },
      { subresource: 'status' },
    );
  }

  it('cancels the image build of an instance deleted while it waited for it', async () => {
    await assign('web', 'debian/bookworm');
    await h.until('the build starts', () => images.signals.has('debian/bookworm'));
    await h.store.delete(INSTANCE, 'web', 'default');
    await h.until('the build is cancelled', () => images.signals.get('debian/bookworm')?.aborted === true, { stepMs: 500 });
    expect((images.signals.get('debian/bookworm')?.reason as { code?: string }).code).to.equal('Cancelled');
    await h.until('the instance is gone', async () => (await h.store.list<Instance>(INSTANCE)).items.length === 0, { stepMs: 500 });
  });

  it('keeps building an image that another instance here still waits for', async () => {
    await assign('a', 'debian/trixie');
    await assign('b', 'debian/trixie');
    await h.until('the build starts', () => images.signals.has('debian/trixie'));
    await h.store.delete(INSTANCE, 'a', 'default');
    await h.until('a is gone', async () => (await h.store.list<Instance>(INSTANCE)).items.length === 1, { stepMs: 500 });
    await h.clock.advanceAsync(10_000);
    expect(agent.cancelUnwantedBuilds()).to.deep.equal([]);
    expect(images.signals.get('debian/trixie')?.aborted).to.equal(false);
  });
});
