/**
 * CrashProber is the instance agent's crash prober: every `intervalMs`
 * (default 2 s) it checks each Running instance's container cheaply — its
 * init process on the host is still the one seen last (a /proc read), or
 * for simulated runtimes the runtime's in-memory state — and queues the
 * instance when it is not, so a container stopped behind Cloudlet's back is
 * noticed within seconds. The same tick cancels image builds no instance
 * here wants any more and counts the privileged instances.
 */
import { repeat, type Clock, type Repeating } from '../../lib/controller/clock.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { Request } from '../../lib/controller/reconciler.js';
import { processStartTime } from '../../lib/host/proc.js';
import type { Instance } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { ImageBuilds } from './image-builds.js';
import type { Observation, Runtime } from './runtimes/types.js';

/** CrashProberOptions wire the prober to its agent. */
export interface CrashProberOptions {
  memberName: string;
  runtime: Runtime;
  instances: Informer<Instance>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  intervalMs?: number;
  /** builds is the agent's image builds tracker, when the runtime needs images */
  builds?: ImageBuilds;
  /** mine returns requests for this member's instances that pass `pick` */
  mine: (pick?: (i: Instance) => boolean) => Request[];
  containerNameOf: (req: Request) => string;
  /** requeue queues an instance for a reconcile */
  requeue: (req: Request) => void;
  /** warn logs and counts a failed probe */
  warn: (message: string, err: unknown) => void;
}

interface Seen {
  pid?: number;
  initStartedAt?: string;
}

/** CrashProber probes running containers; see the file comment. */
export class CrashProber {
  private readonly seen = new Map<string, Seen>();
  private probing = false;
  private timer: Repeating | undefined;

  constructor(private readonly o: CrashProberOptions) {}

  /** remember keeps the init process of a running container from an observation (and forgets a container not running). */
  remember(name: string, obs: Observation): void {
    if (obs.state === 'RUNNING') this.seen.set(name, { pid: obs.pid, initStartedAt: obs.initStartedAt });
    else this.seen.delete(name);
  }

  /** forget drops a deleted container. */
  forget(name: string): void {
    this.seen.delete(name);
  }

  /** start probes every interval until stop. */
  start(): void {
    this.timer ??= repeat(this.o.clock, this.o.intervalMs ?? 2000, () =>
      this.probe().catch((err: unknown) => this.o.warn('crash probe failed', err)),
    );
  }

  /** stop ends the probing. */
  stop(): void {
    this.timer?.stop();
  }

  /**
   * probe queues every Running instance whose container is no longer the one
   * last seen running, and cancels image builds no instance here wants any
   * more (instances deleted or moved while their image was being built).
   */
  async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      this.cancelUnwantedBuilds();
      this.o.metrics.privilegedInstances.set({ member: this.o.memberName }, this.o.mine((i) => i.status?.privileged === true).length);
      for (const req of this.o.mine((i) => i.status?.phase === 'Running' && !i.metadata.deletionTimestamp)) {
        if (!(await this.stillRunning(this.o.containerNameOf(req)))) this.o.requeue(req);
      }
    } finally {
      this.probing = false;
    }
  }

  /** cancelUnwantedBuilds stops the builds of images no live instance assigned here names; returns them. */
  cancelUnwantedBuilds(): string[] {
    const builds = this.o.builds;
    if (!builds || builds.building().length === 0) return [];
    const wanted = new Set(this.o.mine((i) => !i.metadata.deletionTimestamp).map((r) => this.o.instances.get(r)?.spec?.image));
    const cancelled = builds.cancelUnwanted((image) => wanted.has(image));
    for (const image of cancelled) this.o.logger.info('cancelled an image build no instance wants', { image });
    return cancelled;
  }

  private async stillRunning(name: string): Promise<boolean> {
    if (this.o.runtime.info.simulated) {
      const obs = await this.o.runtime.observe(name);
      const last = this.seen.get(name);
      return obs.state === 'RUNNING' && last !== undefined && obs.pid === last.pid && obs.initStartedAt === last.initStartedAt;
    }
    const last = this.seen.get(name);
    if (last?.pid === undefined || last.initStartedAt === undefined) return false;
    // The same init process (pid and start time) means the container has not stopped or restarted.
    const started = await processStartTime(last.pid);
    return started?.toISOString() === last.initStartedAt;
  }
}
