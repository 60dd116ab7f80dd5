/**
 * ImageStore resolves image references into cached root filesystems under
 * `<imagesDir>/<name>/rootfs` (imagesDir is normally `<dataDir>/images`).
 * Each image is built once per member: into a temporary directory that is
 * renamed into place when complete (so a half-built image is never used),
 * one build at a time per image.
 */
import { randomBytes, createHash } from 'node:crypto';
import { readlink, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../../../lib/errors.js';
import { hostRunner, type HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, pathExists, readFileIfExists, removeTree, writeFileAtomic } from '../../../lib/host/fs.js';
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
}

/** EnsureImageOptions: `onProgress` hears build progress (not called when the image is cached). */
export interface EnsureImageOptions {
  onProgress?: (p: ImageProgress) => void;
}

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
    const s = await stat(ref.path).catch(() => undefined);
    if (!s) throw new NotFoundError(`image tarball ${ref.path} does not exist`);
    return `file-${createHash('sha256').update(`${ref.path}\0${s.size}\0${s.mtimeMs}`).digest('hex').slice(0, 12)}`;
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
    await ensureDir(this.imagesDir);
    const tmp = join(this.imagesDir, `.build-${name}-${randomBytes(4).toString('hex')}`);
    return withRevert(async (revert) => {
      await ensureDir(tmp, 0o755);
      revert.add(() => removeTree(tmp, { root: this.imagesDir }));
      const rootfs = join(tmp, 'rootfs');
      report({ phase: 'preparing', message: `building ${refText}` });
      if (ref.kind === 'busybox') await buildBusyboxRootfs(rootfs, { runner: this.runner, busyboxPath: this.opts.busyboxPath });
      if (ref.kind === 'debian') {
        await buildDebianRootfs(rootfs, { suite: ref.suite, mirror: this.opts.mirror, runner: this.runner, image: refText, onProgress: opts.onProgress });
      }
      if (ref.kind === 'file') {
        await ensureDir(rootfs);
        report({ phase: 'extracting', message: `extracting ${ref.path}` });
        await this.runner.run([await which('tar'), '-x', '-f', ref.path, '-C', rootfs, '--numeric-owner'], { timeoutMs: 30 * 60_000 });
      }
      const distro = await detectDistro(rootfs);
      const info: ImageInfo = { ref: refText, name, rootfsPath: join(finalDir, 'rootfs'), distro, haltSignal: HALT_SIGNALS[distro], builtAt: new Date().toISOString() };
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
