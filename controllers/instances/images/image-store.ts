/**
 * ImageStore resolves image references into cached root filesystems under
 * `<imagesDir>/<name>/rootfs` (imagesDir is normally `<dataDir>/images`).
 * Each image is built once per member: into a temporary directory that is
 * renamed into place when complete (so a half-built image is never used),
 * one build at a time per image.
 *
 * Builds touch the host as root, so they are bounded (build-limits.ts): a
 * deadline and a size cap, cancellation through a signal, and host commands
 * that die with the daemon (`dieWithParent`); `.build-*` directories left by
 * a daemon that died are removed by `removeStaleBuilds` at start-up.
 * `file://` images are read only from `fileImagesDir`: the real path must be
 * a regular file inside it.
 */
import { randomBytes, createHash } from 'node:crypto';
import { readdir, readlink, realpath, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../../../lib/errors.js';
import { hostRunner, type HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, isStrictlyUnder, pathExists, readFileIfExists, removeTree, writeFileAtomic } from '../../../lib/host/fs.js';
import { hostPathProblem } from '../../../lib/kinds/path-rules.js';
import { ensureMode } from '../../../lib/host/data-dir.js';
import { DEFAULT_BUILD_LIMITS, withBuildLimits, type BuildLimits } from './build-limits.js';
import { withRevert } from '../../../lib/host/revert.js';
import { which } from '../../../lib/host/which.js';
import type { ContainerDistro } from '../runtimes/types.js';
import { buildBusyboxRootfs } from './busybox.js';
import { buildDebianRootfs } from './debootstrap.js';
import { imageRefString, parseImageRef, type ImageRef } from './image-ref.js';
import type { ImageInfo, ImageProgress } from './types.js';

/** ImageStoreOptions configure an ImageStore. */
export interface ImageStoreOptions {
  imagesDir: string;
  /** mirror is the Debian mirror (default http://deb.debian.org/debian) */
  mirror?: string;
  runner?: HostRunner;
  busyboxPath?: string;
  /** fileImagesDir is the only directory `file://` images are read from (the daemon's --image-dir); without it they are refused */
  fileImagesDir?: string;
  /** limits bound every build (default DEFAULT_BUILD_LIMITS) */
  limits?: Partial<BuildLimits>;
}

/** EnsureImageOptions: `onProgress` hears build progress (not called when the image is cached); `signal` cancels the build. */
export interface EnsureImageOptions {
  onProgress?: (p: ImageProgress) => void;
  signal?: AbortSignal;
}

/** BUILD_PREFIX starts the name of every temporary build directory under the images dir. */
export const BUILD_PREFIX = '.build-';

const META = 'image.json';

/** HALT_SIGNALS gives each distro's clean-shutdown signal. */
export const HALT_SIGNALS: Record<ContainerDistro, string> = { busybox: 'SIGUSR1', debian: 'SIGRTMIN+3', generic: 'SIGPWR' };

/** ImageStore builds and caches images (see the file comment). */
export class ImageStore {
  readonly imagesDir: string;
  private readonly runner: HostRunner;
  private readonly building = new Map<string, Promise<ImageInfo>>();

  constructor(private readonly opts: ImageStoreOptions) {
    this.imagesDir = opts.imagesDir;
    this.runner = opts.runner ?? hostRunner;
  }

  /** cacheName is the directory name an image is cached under. */
  async cacheName(ref: ImageRef): Promise<string> {
    if (ref.kind === 'busybox') return 'busybox';
    if (ref.kind === 'debian') return `debian-${ref.suite}`;
    // A tarball's cache entry follows its content's identity: path, size and mtime.
    const real = await this.imageFile(ref.path);
    const s = await stat(real);
    return `file-${createHash('sha256').update(`${real}\0${s.size}\0${s.mtimeMs}`).digest('hex').slice(0, 12)}`;
  }

  /**
   * imageFile checks a `file://` image path on this member and returns its
   * real path: normalised, inside `fileImagesDir` once symlinks are resolved,
   * and a regular file (so never /dev/urandom or a FIFO). ValidationError
   * otherwise; NotFoundError when it does not exist.
   */
  async imageFile(path: string): Promise<string> {
    const problem = hostPathProblem(path);
    if (problem) throw new ValidationError(`image file ${path} ${problem}`);
    const dir = this.opts.fileImagesDir;
    if (!dir) throw new ValidationError(`file:// images are not enabled on this member (no image directory is configured)`);
    const realDir = await realpath(dir).catch(() => undefined);
    if (!realDir) throw new NotFoundError(`the image directory ${dir} does not exist on this member`);
    const real = await realpath(path).catch((err: NodeJS.ErrnoException) => {
      // Outside the directory, a missing file is refused like any other; inside it, it may appear later.
      if (err.code === 'ENOENT' && isStrictlyUnder(path, dir)) throw new NotFoundError(`image file ${path} does not exist`);
      return undefined;
    });
    if (!real || !isStrictlyUnder(real, realDir)) throw new ValidationError(`image file ${path} is not inside the image directory ${dir}`);
    if (!(await stat(real)).isFile()) throw new ValidationError(`image file ${path} is not a regular file`);
    return real;
  }

  /** removeStaleBuilds deletes every `.build-*` directory (at start-up, when no build of this daemon can be running); returns their names. */
  async removeStaleBuilds(): Promise<string[]> {
    if (!(await pathExists(this.imagesDir))) return [];
    const stale = (await readdir(this.imagesDir)).filter((n) => n.startsWith(BUILD_PREFIX));
    for (const name of stale) await removeTree(join(this.imagesDir, name), { root: this.imagesDir });
    return stale;
  }

  /** cached returns the image if it is already built, else undefined. Never builds. */
  async cached(refText: string): Promise<ImageInfo | undefined> {
    const name = await this.cacheName(parseImageRef(refText));
    const meta = await readFileIfExists(join(this.imagesDir, name, META));
    return meta === undefined ? undefined : (JSON.parse(meta) as ImageInfo);
  }

  /**
   * ensure returns the cached image for `refText`, building it first when
   * needed. Concurrent calls for one image share a single build. Throws
   * ValidationError for a bad reference, NotFoundError for a missing tarball
   * or tool, UnavailableError when the Debian mirror cannot be reached.
   */
  async ensure(refText: string, opts: EnsureImageOptions = {}): Promise<ImageInfo> {
    const ref = parseImageRef(refText);
    const name = await this.cacheName(ref);
    const existing = await this.cached(refText);
    if (existing) return existing;
    let build = this.building.get(name);
    if (!build) {
      build = this.build(ref, name, opts).finally(() => this.building.delete(name));
      this.building.set(name, build);
    }
    return build;
  }

  /** remove deletes a cached image; absent is success. Instances cloned from it keep their copies. */
  async remove(refText: string): Promise<void> {
    const name = await this.cacheName(parseImageRef(refText));
    await removeTree(join(this.imagesDir, name), { root: this.imagesDir });
  }

  private async build(ref: ImageRef, name: string, opts: EnsureImageOptions): Promise<ImageInfo> {
    const refText = imageRefString(ref);
    const finalDir = join(this.imagesDir, name);
    const report = (p: Omit<ImageProgress, 'image'>): void => opts.onProgress?.({ image: refText, ...p });
    // Root's alone: cached images are cloned into every new instance (lib/host/data-dir.ts).
    if (!(await pathExists(this.imagesDir))) await ensureMode(this.imagesDir, 0o700);
    const tmp = join(this.imagesDir, `${BUILD_PREFIX}${name}-${randomBytes(4).toString('hex')}`);
    const limits: BuildLimits = { ...DEFAULT_BUILD_LIMITS, ...this.opts.limits };
    return withRevert(async (revert) => {
      await ensureDir(tmp, 0o755);
      revert.add(() => removeTree(tmp, { root: this.imagesDir }));
      const rootfs = join(tmp, 'rootfs');
      report({ phase: 'preparing', message: `building ${refText}` });
      await withBuildLimits(
        { dir: tmp, what: refText, limits, runner: this.runner, ...(opts.signal ? { outer: opts.signal } : {}) },
        async (signal) => {
          if (ref.kind === 'busybox') await buildBusyboxRootfs(rootfs, { runner: this.runner, busyboxPath: this.opts.busyboxPath });
          if (ref.kind === 'debian') {
            await buildDebianRootfs(rootfs, {
              suite: ref.suite,
              mirror: this.opts.mirror,
              runner: this.runner,
              image: refText,
              onProgress: opts.onProgress,
              timeoutMs: limits.timeoutMs,
              signal,
            });
          }
          if (ref.kind === 'file') {
            const file = await this.imageFile(ref.path);
            await ensureDir(rootfs);
            report({ phase: 'extracting', message: `extracting ${ref.path}` });
            await this.runner.run([await which('tar'), '-x', '-f', file, '-C', rootfs, '--numeric-owner'], {
              timeoutMs: limits.timeoutMs,
              signal,
              dieWithParent: true,
            });
          }
        },
      );
      const distro = await detectDistro(rootfs);
      const info: ImageInfo = {
        ref: refText,
        name,
        rootfsPath: join(finalDir, 'rootfs'),
        distro,
        haltSignal: HALT_SIGNALS[distro],
        builtAt: new Date().toISOString(),
      };
      await writeFileAtomic(join(tmp, META), `${JSON.stringify(info, null, 2)}\n`);
      try {
        await rename(tmp, finalDir);
      } catch (err) {
        // Another process finished the same image first: keep theirs, drop ours.
        if (!(await pathExists(join(finalDir, META)))) throw err;
        await removeTree(tmp, { root: this.imagesDir });
        return JSON.parse((await readFileIfExists(join(finalDir, META))) ?? '{}') as ImageInfo;
      }
      report({ phase: 'ready', message: `${refText} is ready` });
      return info;
    });
  }
}

/** detectDistro guesses an extracted rootfs's distro from its files (busybox init, Debian with or without systemd). */
export async function detectDistro(rootfs: string): Promise<ContainerDistro> {
  const init = await readlink(join(rootfs, 'sbin/init')).catch(() => undefined);
  if (init !== undefined && /busybox$/.test(init)) return 'busybox';
  if ((await pathExists(join(rootfs, 'etc/debian_version'))) && init !== undefined && /systemd/.test(init)) return 'debian';
  return 'generic';
}
