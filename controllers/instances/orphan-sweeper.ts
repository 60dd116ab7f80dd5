/**
 * OrphanSweeper is the instance agent's orphan sweep: once the informer has
 * synced and then every `intervalMs` (default 60 s), containers and root
 * filesystems this runtime owns that no instance assigned here claims are
 * deleted (and the shared volumes they mounted released).
 */
import { repeat, type Clock, type Repeating } from '../../lib/controller/clock.js';
import type { Request } from '../../lib/controller/reconciler.js';
import type { Instance } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { RootfsProvider } from './images/rootfs.js';
import type { InstanceVolumes } from './instance-reconciler.js';
import type { Runtime } from './runtimes/types.js';

/** OrphanSweeperOptions wire the sweep to its agent. */
export interface OrphanSweeperOptions {
  runtime: Runtime;
  rootfs?: RootfsProvider;
  volumes?: InstanceVolumes;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
  /** mine returns requests for this member's instances that pass `pick` */
  mine: (pick?: (i: Instance) => boolean) => Request[];
  containerNameOf: (req: Request) => string;
  /** removeContainer deletes a container, its root filesystem and its volume mounts (the reconciler's) */
  removeContainer: (containerName: string) => Promise<void>;
  /** warn logs and counts a failed sweep */
  warn: (message: string, err: unknown) => void;
}

/** OrphanSweeper deletes what no instance here claims; see the file comment. */
export class OrphanSweeper {
  private timer: Repeating | undefined;

  constructor(private readonly o: OrphanSweeperOptions) {}

  /** start sweeps every interval until stop (the first sweep is the agent's, at start). */
  start(): void {
    this.timer ??= repeat(this.o.clock, this.o.intervalMs ?? 60_000, () => this.sweepSafely());
  }

  /** stop ends the sweeps. */
  stop(): void {
    this.timer?.stop();
  }

  /** sweepSafely sweeps and logs a failure instead of throwing. */
  async sweepSafely(): Promise<void> {
    await this.sweepOrphans().catch((err: unknown) => this.o.warn('orphan sweep failed', err));
  }

  /** sweepOrphans deletes containers, root filesystems and volume mounts here that no instance assigned to this member claims. */
  async sweepOrphans(): Promise<string[]> {
    const claimedNow = (): Set<string> => new Set(this.o.mine().map((r) => this.o.containerNameOf(r)));
    const claimed = claimedNow();
    const names = new Set(await this.o.runtime.list());
    if (this.o.rootfs && !this.o.runtime.info.simulated) for (const n of await this.o.rootfs.list()) names.add(n);
    // A container deleted while its volumes failed to unmount: removing it again retries the release.
    if (this.o.volumes) for (const n of await this.o.volumes.users()) names.add(n);
    const removed: string[] = [];
    for (const name of names) {
      if (claimed.has(name)) continue;
      // Another instance may claim it now (the informer moved on while we listed): check again.
      if (claimedNow().has(name)) continue;
      this.o.logger.info('removing orphaned container', { container: name });
      await this.o.removeContainer(name);
      removed.push(name);
    }
    return removed;
  }
}
