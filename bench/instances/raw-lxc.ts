/**
 * The raw peer: busybox containers made and started with the lxc tools
 * exactly the way the LXC runtime does it, without any control plane —
 * the cached busybox image from the same ImageStore, the rootfs copied with
 * the same `cp -a --reflink=auto` into a temporary name and renamed into
 * place (CopyRootfsProvider), the config from the same renderLxcConfig for
 * this host's cgroup layout with the same include, /etc/hostname written as
 * ensureCreated writes it, then `lxc-start -d` and `lxc-wait -s RUNNING`
 * through the same host runner. Teardown is `lxc-stop -k` and removal.
 * With an `idmap` the container is unprivileged exactly as the runtime makes
 * it (the same rendered id map and `idmap=container` rootfs); the directory
 * modes and the mapped root's ACL are those of a data dir, set once in
 * prepare() (the runtime's per-create check finds them already in place).
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCgroupLayout, type CgroupLayout } from '../../lib/host/cgroup.js';
import { hostRunner } from '../../lib/host/exec.js';
import { ensureDir, pathExists, removeTree, writeFileAtomic } from '../../lib/host/fs.js';
import { secureDataDir } from '../../lib/host/data-dir.js';
import { grantTraversal } from '../../lib/host/security.js';
import { ImageStore } from '../../controllers/instances/images/image-store.js';
import { cloneRootfs } from '../../controllers/instances/images/rootfs.js';
import type { ImageInfo } from '../../controllers/instances/images/types.js';
import { DEFAULT_PROCESS_LIMIT } from '../../controllers/instances/instance-reconciler.js';
import { renderLxcConfig } from '../../controllers/instances/runtimes/lxc-config.js';
import { containerNameFor, hostnameFor } from '../../controllers/instances/runtimes/naming.js';
import type { ContainerSpec } from '../../controllers/instances/runtimes/types.js';

/** RawTiming is one container's create+start time and its parts, in ms. */
export interface RawTiming {
  name: string;
  totalMs: number;
  rootfsMs: number;
  defineMs: number;
  startMs: number;
}

/** RawLxcPeer makes containers under `<dir>/lxc` with rootfs in `<dir>/rootfs`; see the file comment. */
export class RawLxcPeer {
  private readonly lxcPath: string;
  private readonly rootfsRoot: string;
  private readonly made = new Set<string>();
  private layout: CgroupLayout | undefined;
  private image: ImageInfo | undefined;

  constructor(private readonly dir: string) {
    this.lxcPath = join(dir, 'lxc');
    this.rootfsRoot = join(dir, 'rootfs');
  }

  /** prepare builds (or finds) the cached busybox image, detects the cgroup layout and opens the rootfs dir to `mappedUid`; not timed. */
  async prepare(mappedUid?: number): Promise<void> {
    await secureDataDir(this.dir);
    this.image = await new ImageStore({ imagesDir: join(this.dir, 'images') }).ensure('busybox');
    this.layout = await detectCgroupLayout();
    if (mappedUid !== undefined)
      await grantTraversal({ path: join(this.rootfsRoot, 'x'), uid: mappedUid, dataDir: this.dir, runner: hostRunner });
  }

  private lxc(tool: string, name: string, args: string[]): string[] {
    return [tool, '-P', this.lxcPath, '-n', name, ...args];
  }

  /** createAndStart makes container `instance` (same naming as the runtime) and waits for RUNNING; returns its timings. */
  async createAndStart(
    instance: string,
    limits: { cpu: number; memoryBytes: number },
    idmap?: { hostId: number; size: number },
  ): Promise<RawTiming> {
    const image = this.image;
    const layout = this.layout;
    if (!image || !layout) throw new Error('call prepare() first');
    const name = containerNameFor({ dataDir: this.dir, namespace: 'default', name: instance });
    this.made.add(name);
    const t0 = performance.now();
    // Rootfs: clone to a temporary name, rename into place (CopyRootfsProvider.ensureRootfs).
    const rootfsPath = join(this.rootfsRoot, name);
    const tmp = join(this.rootfsRoot, `.clone-${name}`);
    await cloneRootfs({ source: image.rootfsPath, target: tmp });
    await rename(tmp, rootfsPath);
    const t1 = performance.now();
    // Definition: config, spec file, /etc/hostname (LxcRuntime.ensureCreated).
    const spec: ContainerSpec = {
      containerName: name,
      hostname: hostnameFor(instance),
      rootfsPath,
      cpu: limits.cpu,
      memoryBytes: limits.memoryBytes,
      processes: DEFAULT_PROCESS_LIMIT,
      nics: [],
      mounts: [],
      distro: image.distro,
      haltSignal: image.haltSignal,
      ...(idmap ? { idmap } : {}),
    };
    const containerDir = join(this.lxcPath, name);
    const include = (await pathExists('/usr/share/lxc/config/busybox.common.conf'))
      ? '/usr/share/lxc/config/busybox.common.conf'
      : '/usr/share/lxc/config/common.conf';
    await ensureDir(containerDir, 0o750);
    await writeFileAtomic(join(containerDir, 'config'), renderLxcConfig({ spec, containerDir, layout, include }));
    await writeFileAtomic(join(containerDir, 'cloudlet-spec.json'), `${JSON.stringify(spec, null, 2)}\n`);
    await writeFileAtomic(join(rootfsPath, 'etc', 'hostname'), `${spec.hostname}\n`);
    const t2 = performance.now();
    // Start (LxcRuntime.start): lxc-start -d, then lxc-wait RUNNING.
    await hostRunner.run(this.lxc('lxc-start', name, ['-d']), { timeoutMs: 60_000 });
    await hostRunner.run(this.lxc('lxc-wait', name, ['-s', 'RUNNING', '-t', '30']), { timeoutMs: 40_000 });
    const t3 = performance.now();
    return { name, totalMs: t3 - t0, rootfsMs: t1 - t0, defineMs: t2 - t1, startMs: t3 - t2 };
  }

  /** destroyAll force-stops and removes every container made here (rootfs included). Never throws. */
  async destroyAll(): Promise<void> {
    for (const name of this.made) {
      await hostRunner.run(this.lxc('lxc-stop', name, ['-k']), { timeoutMs: 30_000, okExitCodes: [0, 1, 2] }).catch(() => undefined);
      await removeTree(join(this.lxcPath, name), { root: this.lxcPath }).catch(() => undefined);
      await removeTree(join(this.rootfsRoot, name), { root: this.rootfsRoot }).catch(() => undefined);
    }
    this.made.clear();
  }
}
