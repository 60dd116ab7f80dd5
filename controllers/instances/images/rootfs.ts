/**
 * Root filesystems of instances. A RootfsProvider turns a cached image into
 * an instance's own root filesystem. Storage drivers will provide
 * copy-on-write clones (btrfs snapshot, ceph clone); CopyRootfsProvider is the
 * plain fallback: `cp -a --reflink=auto`, which is a cheap clone on
 * filesystems that support reflinks and a full copy elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../../lib/errors.js';
import { hostRunner, type HostRunner } from '../../../lib/host/exec.js';
import { ensureMode } from '../../../lib/host/data-dir.js';
import { isDirectory, removeTree } from '../../../lib/host/fs.js';
import { withRevert } from '../../../lib/host/revert.js';
import type { ImageInfo } from './types.js';

/** RootfsProviderInfo is a provider's capability object. */
export interface RootfsProviderInfo {
  name: string;
  /** cowClone: clones share blocks with the image (cheap, fast) */
  cowClone: boolean;
}

/** RootfsProvider makes and removes instance root filesystems; every verb is idempotent. */
export interface RootfsProvider {
  readonly info: RootfsProviderInfo;
  /** ensureRootfs returns the path of the container's rootfs, cloning `image` first when it does not exist yet; `pool` (spec.rootfs.pool) is honoured by storage-backed providers */
  ensureRootfs(opts: { containerName: string; image: ImageInfo; pool?: string }): Promise<string>;
  /** deleteRootfs removes the container's rootfs; absent is success */
  deleteRootfs(containerName: string): Promise<void>;
  /** list names the containers that have a rootfs here (orphan cleanup) */
  list(): Promise<string[]>;
}

/** cloneRootfs copies `source` to `target` (which must not exist) with `cp -a --reflink=auto`. */
export async function cloneRootfs(opts: { source: string; target: string; runner?: HostRunner }): Promise<void> {
  const runner = opts.runner ?? hostRunner;
  await runner.run(['cp', '-a', '--reflink=auto', '--', opts.source, opts.target], { timeoutMs: 30 * 60_000 });
}

/** CopyRootfsProvider keeps root filesystems in `<dataDir>/rootfs/<containerName>`, copied with reflinks when possible. */
export class CopyRootfsProvider implements RootfsProvider {
  readonly info: RootfsProviderInfo = { name: 'copy', cowClone: false };
  /** root is `<dataDir>/rootfs` */
  readonly root: string;
  private readonly runner: HostRunner;

  constructor(opts: { dataDir: string; runner?: HostRunner }) {
    this.root = join(opts.dataDir, 'rootfs');
    this.runner = opts.runner ?? hostRunner;
  }

  private pathOf(containerName: string): string {
    if (containerName === '' || containerName.includes('/') || containerName.startsWith('.')) {
      throw new ValidationError(`"${containerName}" is not a container name`);
    }
    return join(this.root, containerName);
  }

  /** ensureRootfs clones into a temporary directory and renames it into place, so a present rootfs is always complete. */
  async ensureRootfs(opts: { containerName: string; image: ImageInfo }): Promise<string> {
    const target = this.pathOf(opts.containerName);
    if (await isDirectory(target)) return target;
    // Root's alone: a rootfs holds world-writable directories (lib/host/data-dir.ts).
    await ensureMode(this.root, 0o700);
    const tmp = join(this.root, `.clone-${opts.containerName}-${randomBytes(4).toString('hex')}`);
    return withRevert(async (revert) => {
      revert.add(() => removeTree(tmp, { root: this.root }));
      await cloneRootfs({ source: opts.image.rootfsPath, target: tmp, runner: this.runner });
      await rename(tmp, target);
      return target;
    });
  }

  /** deleteRootfs removes `<root>/<containerName>`; absent is success. */
  async deleteRootfs(containerName: string): Promise<void> {
    await removeTree(this.pathOf(containerName), { root: this.root });
  }

  /** list names every rootfs directory (not in-progress clones). */
  async list(): Promise<string[]> {
    if (!(await isDirectory(this.root))) return [];
    return (await readdir(this.root, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }
}
