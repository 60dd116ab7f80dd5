import { expect } from 'chai';
import { classifyImageError, ImageBuilds, progressText } from '../../../../controllers/instances/image-builds.js';
import type { ImageStore } from '../../../../controllers/instances/images/image-store.js';
import type { ImageInfo, ImageProgress } from '../../../../controllers/instances/images/types.js';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import { NotFoundError, TimeoutError, UnavailableError, ValidationError } from '../../../../lib/errors.js';
import { silentLogger } from '../../../../lib/log/logger.js';

const INFO: ImageInfo = {
  ref: 'debian/bookworm',
  name: 'debian-bookworm',
  rootfsPath: '/img/rootfs',
  distro: 'debian',
  haltSignal: 'SIGRTMIN+3',
  builtAt: '2025-01-01T00:00:00Z',
};

/** FakeImages is an ImageStore stand-in whose builds the test finishes by hand. */
class FakeImages {
  built = new Map<string, ImageInfo>();
  builds = 0;
  finish: ((outcome: Error | undefined) => void) | undefined;
  progress: ((p: ImageProgress) => void) | undefined;
  async cached(ref: string): Promise<ImageInfo | undefined> {
    if (ref === 'bad') throw new ValidationError('spec.image: "bad" is not an image');
    return this.built.get(ref);
  }
  signal: AbortSignal | undefined;
  ensure(ref: string, opts: { onProgress?: (p: ImageProgress) => void; signal?: AbortSignal }): Promise<ImageInfo> {
    this.builds++;
    this.progress = opts.onProgress;
    this.signal = opts.signal;
    return new Promise((resolve, reject) => {
      // As the real store: an aborted signal fails the build with its reason.
      opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason));
      this.finish = (err) => {
        if (err) return reject(err);
        this.built.set(ref, INFO);
        resolve(INFO);
      };
    });
  }
}

function setup() {
  const images = new FakeImages();
  const clock = new FakeClock();
  const woken: string[] = [];
  const builds = new ImageBuilds({
    images: images as unknown as ImageStore,
    clock,
    logger: silentLogger(),
    onSettled: (i) => woken.push(i),
  });
  return { images, clock, woken, builds };
}

describe('ImageBuilds', () => {
  it('cancels a build no instance wants any more, and does not count it as a failure', async () => {
    const t = setup();
    await t.builds.resolve('debian/bookworm');
    expect(t.builds.cancelUnwanted((image) => image === 'debian/trixie')).to.deep.equal(['debian/bookworm']);
    expect(t.images.signal?.aborted).to.equal(true);
    expect((t.images.signal?.reason as { code?: string }).code).to.equal('Cancelled');
    await flushPromises();
    expect(t.builds.building()).to.deep.equal([]);
    expect(t.woken).to.deep.equal(['debian/bookworm']);
    // wanted again: a new build starts at once instead of a remembered failure
    expect((await t.builds.resolve('debian/bookworm')).kind).to.equal('building');
    expect(t.images.builds).to.equal(2);
  });

  it('keeps a build that an instance still wants', async () => {
    const t = setup();
    await t.builds.resolve('debian/bookworm');
    expect(t.builds.cancelUnwanted(() => true)).to.deep.equal([]);
    expect(t.images.signal?.aborted).to.equal(false);
    expect(t.builds.building()).to.deep.equal(['debian/bookworm']);
  });

  it('classifies a build over its time limit as retryable and one over its size limit as a bad image', () => {
    expect(classifyImageError('x', new TimeoutError('took longer than 1800 s'))).to.include({
      reason: 'ImageBuildFailed',
      retryable: true,
    });
    expect(classifyImageError('x', new ValidationError('wrote more than 8589934592 bytes'))).to.include({
      reason: 'InvalidImage',
      retryable: false,
    });
  });

  it('starts one background build, reports its progress, and wakes the waiters when it is ready', async () => {
    const t = setup();
    expect((await t.builds.resolve('debian/bookworm')).kind).to.equal('building');
    t.images.progress?.({ image: 'debian/bookworm', phase: 'downloading', message: 'Retrieving libc6', packages: 12 });
    expect(await t.builds.resolve('debian/bookworm')).to.deep.equal({
      kind: 'building',
      progress: 'downloading: Retrieving libc6 (12 packages retrieved)',
    });
    expect(t.images.builds).to.equal(1);
    t.images.finish?.(undefined);
    await flushPromises();
    expect(t.woken).to.deep.equal(['debian/bookworm']);
    expect(await t.builds.resolve('debian/bookworm')).to.deep.equal({ kind: 'ready', info: INFO });
  });

  it('remembers a failed build and retries it only after the retry delay', async () => {
    const t = setup();
    await t.builds.resolve('debian/bookworm');
    t.images.finish?.(new UnavailableError('the Debian mirror is unreachable'));
    await flushPromises();
    const failed = await t.builds.resolve('debian/bookworm');
    expect(failed).to.include({ kind: 'failed', reason: 'ImageBuildFailed', retryable: true });
    expect(t.images.builds).to.equal(1);
    t.clock.advance(61_000);
    expect((await t.builds.resolve('debian/bookworm')).kind).to.equal('building');
    expect(t.images.builds).to.equal(2);
  });

  it('fails an invalid reference for good, without building', async () => {
    const t = setup();
    expect(await t.builds.resolve('bad')).to.include({ kind: 'failed', reason: 'InvalidImage', retryable: false });
    t.clock.advance(10 * 60_000);
    expect(await t.builds.resolve('bad')).to.include({ kind: 'failed', reason: 'InvalidImage' });
    expect(t.images.builds).to.equal(0);
  });
});

describe('classifyImageError and progressText', () => {
  it('calls a missing tarball ImageNotFound and names the image', () => {
    expect(classifyImageError('file:///x.tgz', new NotFoundError('image tarball /x.tgz does not exist'))).to.deep.equal({
      kind: 'failed',
      reason: 'ImageNotFound',
      message: 'image file:///x.tgz: image tarball /x.tgz does not exist',
      retryable: true,
    });
  });
  it('renders a progress report in one line', () => {
    expect(progressText({ image: 'busybox', phase: 'ready', message: 'busybox is ready' })).to.equal('ready: busybox is ready');
  });
});
