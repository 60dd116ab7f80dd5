/**
 * Shared set-up for the real-LXC integration tests: a private data dir per
 * suite (its own lxcpath), preflight checks that fail with install hints, and
 * cleanup of every container and rootfs the suite made, even on failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { LxcRuntime } from '../../../controllers/instances/runtimes/lxc.js';
import { containerNameFor, hostnameFor } from '../../../controllers/instances/runtimes/naming.js';
import type { ContainerSpec, Observation } from '../../../controllers/instances/runtimes/types.js';
import { CopyRootfsProvider } from '../../../controllers/instances/images/rootfs.js';
import type { ImageInfo } from '../../../controllers/instances/images/types.js';
import { run } from '../../../lib/host/exec.js';
import { which } from '../../../lib/host/which.js';
import { eventually } from '../../helpers/poll.js';

/** preflight fails (never skips) when the host cannot run LXC containers. */
export async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the LXC integration tests need root (privileged containers): run them as root');
  for (const tool of ['lxc-start', 'lxc-stop', 'lxc-info', 'lxc-attach', 'lxc-cgroup', 'lxc-wait']) await which(tool);
  await which('/bin/busybox', { package: 'busybox-static' });
}

/** LxcLab is one suite's private LXC world. */
export interface LxcLab {
  dataDir: string;
  runtime: LxcRuntime;
  rootfs: CopyRootfsProvider;
  /** spec makes a ContainerSpec for instance default/<name> from `image` (cloning its rootfs) */
  spec(name: string, image: ImageInfo, extra?: Partial<ContainerSpec>): Promise<ContainerSpec>;
  cleanup(): Promise<void>;
}

/** makeLab creates a data dir under /tmp and a runtime using it. */
export async function makeLab(prefix = 'cl-lxc-it-'): Promise<LxcLab> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const runtime = new LxcRuntime({ dataDir, defaultStopTimeoutSeconds: 10 });
  const rootfs = new CopyRootfsProvider({ dataDir });
  const made = new Set<string>();
  return {
    dataDir,
    runtime,
    rootfs,
    async spec(name, image, extra = {}) {
      const containerName = containerNameFor({ dataDir, namespace: 'default', name });
      made.add(containerName);
      const rootfsPath = await rootfs.ensureRootfs({ containerName, image });
      return {
        containerName,
        hostname: hostnameFor(name),
        rootfsPath,
        nics: [],
        mounts: [],
        distro: image.distro,
        haltSignal: image.haltSignal,
        ...extra,
      };
    },
    async cleanup() {
      // Kill by name under our own lxcpath first, whatever state the test left behind.
      for (const name of new Set([...made, ...(await runtime.list())])) {
        await run(['lxc-stop', '-P', runtime.lxcPath, '-n', name, '-k'], { okExitCodes: [0, 1, 2], timeoutMs: 30_000 }).catch(
          () => undefined,
        );
        await runtime.delete(name);
        await rootfs.deleteRootfs(name);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** capture returns a writable stream and a function reading what was written to it. */
export function capture(): { stream: Writable; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** waitForState polls the container until it is in `state` or `timeoutMs` passes; resolves with the last observation (the caller asserts on it). */
export async function waitForState(
  runtime: LxcRuntime,
  name: string,
  state: Observation['state'],
  timeoutMs = 30_000,
): Promise<Observation> {
  let obs = await runtime.observe(name);
  await eventually(`${name} ${state}`, async () => (obs = await runtime.observe(name)).state === state, { timeoutMs, everyMs: 200 }).catch(
    () => undefined,
  );
  return obs;
}
