/**
 * ImageBuilds lets the instance agent wait for images without blocking a
 * worker: the first instance that needs an image starts its build in the
 * background (one build per image), later reconciles read the latest
 * progress, and when the build ends every waiting instance is woken through
 * `onSettled`. A failed build is remembered: a retryable failure (mirror
 * unreachable, missing tool, a build over its time limit) is tried again
 * after `retryAfterMs`, a bad reference (or an image over the size limit)
 * never. `cancelUnwanted` stops the builds no instance wants any more (the
 * agent calls it on every probe); a cancelled build is not a failure.
 */
import { CancelledError, CloudletError, errorMessage, isCode, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Clock } from '../../lib/controller/clock.js';
import type { Logger } from '../../lib/log/logger.js';
import type { ImageStore } from './images/image-store.js';
import type { ImageInfo, ImageProgress } from './images/types.js';
import { IMAGE_RETRY_MS, type ImageState } from './instance-plan.js';

/** ResolvedImage is an ImageState, with the image itself when ready. */
export type ResolvedImage = ImageState & { info?: ImageInfo };

interface Failure {
  state: Extract<ImageState, { kind: 'failed' }>;
  at: number;
}

/** ImageBuildsOptions wire the tracker; `onSettled(image)` is called when a build finishes or fails. */
export interface ImageBuildsOptions {
  images: ImageStore;
  clock: Clock;
  logger: Logger;
  onSettled: (image: string) => void;
  retryAfterMs?: number;
}

/** progressText renders a build progress report for status.imageProgress. */
export function progressText(p: ImageProgress): string {
  const pkgs = p.packages ? ` (${p.packages} packages retrieved)` : '';
  return `${p.phase}: ${p.message}${pkgs}`.slice(0, 200);
}

/** classifyImageError turns a build or lookup failure into a failed ImageState. */
export function classifyImageError(image: string, err: unknown): Extract<ImageState, { kind: 'failed' }> {
  if (err instanceof ValidationError) return { kind: 'failed', reason: 'InvalidImage', message: errorMessage(err), retryable: false };
  if (err instanceof NotFoundError)
    return { kind: 'failed', reason: 'ImageNotFound', message: `image ${image}: ${errorMessage(err)}`, retryable: true };
  const code = err instanceof CloudletError ? ` (${err.code})` : '';
  return {
    kind: 'failed',
    reason: 'ImageBuildFailed',
    message: `building image ${image} failed${code}: ${errorMessage(err)}`,
    retryable: true,
  };
}

/** ImageBuilds tracks background image builds; see the file comment. */
export class ImageBuilds {
  private readonly running = new Map<string, { progress: string; abort: AbortController }>();
  private readonly failures = new Map<string, Failure>();

  constructor(private readonly o: ImageBuildsOptions) {}

  /** resolve returns the image's state now, starting a background build when it is neither cached nor building. */
  async resolve(image: string): Promise<ResolvedImage> {
    const progress = this.running.get(image)?.progress;
    if (progress !== undefined) return { kind: 'building', progress };
    const failed = this.failures.get(image);
    if (failed && (!failed.state.retryable || this.o.clock.now() - failed.at < (this.o.retryAfterMs ?? IMAGE_RETRY_MS)))
      return failed.state;
    this.failures.delete(image);
    let info: ImageInfo | undefined;
    try {
      info = await this.o.images.cached(image);
    } catch (err) {
      const state = classifyImageError(image, err);
      this.failures.set(image, { state, at: this.o.clock.now() });
      return state;
    }
    if (info) return { kind: 'ready', info };
    this.startBuild(image);
    return { kind: 'building', progress: this.running.get(image)?.progress ?? 'preparing' };
  }

  /** building names the images being built now. */
  building(): string[] {
    return [...this.running.keys()].sort();
  }

  /**
   * cancelUnwanted cancels every running build whose image `wanted` says no
   * instance here needs any more (its commands are killed and its build
   * directory removed); returns the cancelled images.
   */
  cancelUnwanted(wanted: (image: string) => boolean): string[] {
    const out: string[] = [];
    for (const [image, build] of this.running) {
      if (wanted(image) || build.abort.signal.aborted) continue;
      build.abort.abort(new CancelledError(`no instance on this member wants ${image} any more`));
      out.push(image);
    }
    return out;
  }

  /** cachedInfo returns a built image, or undefined (never builds). */
  async cachedInfo(image: string): Promise<ImageInfo | undefined> {
    return this.o.images.cached(image).catch(() => undefined);
  }

  private startBuild(image: string): void {
    const build = { progress: `preparing: building ${image}`, abort: new AbortController() };
    this.running.set(image, build);
    const log = this.o.logger.child({ image });
    log.info('building image');
    const started = this.o.clock.now();
    this.o.images
      .ensure(image, { onProgress: (p) => (build.progress = progressText(p)), signal: build.abort.signal })
      .then(
        () => log.info('image built', { seconds: Math.round((this.o.clock.now() - started) / 1000) }),
        (err: unknown) => {
          if (isCode(err, 'Cancelled')) return log.info('image build cancelled', { reason: errorMessage(err) });
          log.warn('image build failed', { error: errorMessage(err) });
          this.failures.set(image, { state: classifyImageError(image, err), at: this.o.clock.now() });
        },
      )
      .finally(() => {
        this.running.delete(image);
        this.o.onSettled(image);
      });
  }
}
