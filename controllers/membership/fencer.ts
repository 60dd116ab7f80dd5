/**
 * Fencer is each member's self-fencing watchdog (DESIGN.md §5). Every
 * `checkMs` it compares the clock with the member's fence deadline (the send
 * time of the last acknowledged keep-alive + TTL − margin, see fencing.ts):
 * once the deadline has passed — keep-alives are no longer acknowledged, so
 * the lease may be about to expire and another member may soon be told to
 * start our failover instances — it force-stops every local copy of an
 * instance with recovery `failover` (through the instance agent, which
 * remembers them as fenced), before the lease can expire. It keeps doing so
 * on every tick while the deadline stays passed. When the member can write
 * again (keep-alives acknowledged), it reports: Member status.fenced, and an
 * Event on the member and on every instance it fenced, with the time.
 * It clears status.fenced once every fenced instance has been placed anew.
 */
import type { Clock, TimerHandle } from '../../lib/controller/clock.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import { updateStatus } from '../../lib/controller/status.js';
import { withTimeout } from '../../lib/controller/timeout.js';
import { errorMessage } from '../../lib/errors.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Instance, Member } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Store } from '../../lib/store/types.js';

/** FenceTarget is what the Fencer stops: the instance agent's fence() and how many instances stay fenced. */
export interface FenceTarget {
  fence(): Promise<Array<{ instance: Instance; containerName: string; wasRunning: boolean }>>;
  fencedCount(): number;
}

/** FencerOptions wire a Fencer. */
export interface FencerOptions {
  /** heartbeat gives the fence deadline (the MemberAgent); 0 means no lease is held */
  heartbeat: { fenceDeadline(): number };
  target: FenceTarget;
  store: Store;
  memberKind: KindInfo;
  memberName: string;
  events: EventRecorder;
  logger: Logger;
  clock: Clock;
  /** checkMs between deadline checks (default 200) */
  checkMs?: number;
  /** writeTimeoutMs bounds each report write (default 3000) */
  writeTimeoutMs?: number;
}

/** FencerState is what a Fencer has done, for tests and status. */
export interface FencerState {
  /** fencing: the deadline is passed right now */
  fencing: boolean;
  /** fencedAt: when the current or last fencing began (clock ms), if ever */
  fencedAt?: number;
  /** unreported: fenced copies whose Events are not written yet */
  unreported: number;
}

interface Pending {
  instance: Instance;
  containerName: string;
  at: number;
}

/** Fencer fences this member when its lease may expire; see the file comment. */
export class Fencer {
  private timer: TimerHandle | undefined;
  private stopped = true;
  private busy = false;
  private fencing = false;
  private fencedAt: number | undefined;
  private pending: Pending[] = [];
  /** memberFenced: what this Fencer last wrote to Member status.fenced (undefined = not written) */
  private memberFenced: boolean | undefined;

  constructor(private readonly o: FencerOptions) {}

  /** start begins the periodic checks. */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** stop ends the checks (an in-flight check finishes). */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
  }

  /** state reports what the Fencer has done. */
  state(): FencerState {
    return { fencing: this.fencing, ...(this.fencedAt !== undefined ? { fencedAt: this.fencedAt } : {}), unreported: this.pending.length };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.o.checkMs ?? 200);
  }

  /** check runs one pass: fence when past the deadline, else report when there is something to report. */
  async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = this.o.clock.now();
      const deadline = this.o.heartbeat.fenceDeadline();
      if (deadline === 0 || now >= deadline) {
        await this.fenceNow(now);
        return;
      }
      if (this.fencing)
        this.o.logger.info('keep-alives are acknowledged again; fenced instances stay stopped until placed anew', {
          member: this.o.memberName,
        });
      this.fencing = false;
      await this.report();
    } catch (err) {
      this.o.logger.warn('fencer pass failed', { member: this.o.memberName, error: errorMessage(err) });
    } finally {
      this.busy = false;
    }
  }

  private async fenceNow(now: number): Promise<void> {
    if (!this.fencing) {
      this.fencing = true;
      this.fencedAt = now;
      this.o.logger.warn('the heartbeat lease may expire: fencing this member (stopping its failover instances)', {
        member: this.o.memberName,
      });
    }
    const copies = await this.o.target.fence();
    for (const c of copies)
      if (c.wasRunning || !this.pending.some((p) => p.containerName === c.containerName))
        this.pending.push({ instance: c.instance, containerName: c.containerName, at: this.o.clock.now() });
  }

  private async report(): Promise<void> {
    const want = this.o.target.fencedCount() > 0;
    if (this.pending.length === 0 && this.memberFenced === want) return;
    if (this.pending.length === 0 && this.memberFenced === undefined && !want) {
      this.memberFenced = false;
      return;
    }
    await this.withTimeout(this.writeMemberFenced(want));
    this.memberFenced = want;
    const member = await this.withTimeout(this.o.store.get<Member>(this.o.memberKind, this.o.memberName));
    const batch = this.pending.splice(0);
    if (batch.length > 0) {
      const at = new Date(batch[0]?.at ?? this.o.clock.now()).toISOString();
      void this.o.events.warning(
        member,
        'Fenced',
        `member ${this.o.memberName} could not renew its heartbeat lease and fenced itself at ${at}: it stopped ${batch.length} failover instance(s) before its lease could expire`,
      );
    } else if (!want) {
      void this.o.events.normal(member, 'Unfenced', `every instance member ${this.o.memberName} fenced has been placed anew`);
    }
    for (const p of batch) {
      void this.o.events.warning(
        p.instance,
        'Fenced',
        `member ${this.o.memberName} stopped its copy ${p.containerName} at ${new Date(p.at).toISOString()}: it could not renew its heartbeat lease, so another member may be told to run the instance`,
      );
    }
  }

  /** writeMemberFenced sets Member status.fenced; conflicts re-read, and after the last one the next pass tries again. */
  private async writeMemberFenced(fenced: boolean): Promise<void> {
    await updateStatus<Member>(this.o.store, this.o.memberKind, { name: this.o.memberName }, (m) =>
      (m.status?.fenced ?? false) === fenced ? undefined : { ...m.status, fenced },
    );
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    const ms = this.o.writeTimeoutMs ?? 3000;
    return withTimeout(p, { ms, clock: this.o.clock, message: `no answer from the store within ${ms} ms` });
  }
}
