/**
 * LeaderElector: one active copy of the cluster controllers (DESIGN.md §4)
 * by a key bound to an etcd lease. The leader holds `/cloudlet/leader/<name>`
 * on its lease and renews the lease every ttl/5 with keepAliveOnce. It stops
 * leading by itself before the lease can expire when renewals fail: the
 * deadline is the send time of the last acknowledged keep-alive + ttl −
 * margin, so by the time others see the key vanish, the old leader has
 * already stopped. Candidates watch the key and claim it when it disappears.
 * stop() revokes the lease so another candidate takes over at once.
 */
import { NotFoundError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Lease, Store } from '../store/types.js';
import type { Clock, TimerHandle } from './clock.js';
import { realClock, sleep } from './clock.js';
import { LEADER_PREFIX } from '../store/key-space.js';
import { withTimeout } from './timeout.js';
export { LEADER_PREFIX };

/** LeaderElectorOptions configures an election; store, name, identity, logger and onStartedLeading are required. */
export interface LeaderElectorOptions {
  store: Store;
  /** name of the election; the key is LEADER_PREFIX + name */
  name: string;
  /** identity of this candidate (e.g. the member name), stored as the key's value */
  identity: string;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** ttlSeconds of the lease (default 5) */
  ttlSeconds?: number;
  /** renewIntervalMs between keep-alives (default ttl/5) */
  renewIntervalMs?: number;
  /** marginMs: stop leading this long before the lease could expire (default ttl/5) */
  marginMs?: number;
  /** retryPeriodMs: how often a candidate re-checks the key besides watching it, and waits after errors (default ttl) */
  retryPeriodMs?: number;
  /** onStartedLeading runs when this candidate becomes leader; `signal` aborts when leadership ends */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** onStoppedLeading runs when leadership ends, for any reason */
  onStoppedLeading?(): void | Promise<void>;
}

/** LeaderElector runs one candidate in one election; see the file comment. */
export class LeaderElector {
  readonly key: string;
  private readonly opts: LeaderElectorOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly ttlMs: number;
  private readonly stopSignal = new AbortController();
  private running: Promise<void> | undefined;
  private leading: { end: (reason: string) => Promise<void> } | undefined;
  private observed: string | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.opts = opts;
    this.key = LEADER_PREFIX + opts.name;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ component: 'leader-election', election: opts.name, identity: opts.identity });
    this.ttlMs = (opts.ttlSeconds ?? 5) * 1000;
  }

  /** start campaigns in the background; calling it again does nothing. */
  start(): void {
    this.running ??= this.run();
  }

  /** stop ends the campaign; a leader stops leading and revokes its lease so another takes over at once. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    await this.leading?.end('stopping');
    await this.running;
  }

  /** isLeader tells whether this candidate leads right now. */
  isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** leaderIdentity is the current leader's identity as last seen, or undefined when nobody leads. */
  leaderIdentity(): string | undefined {
    return this.leading ? this.opts.identity : this.observed;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private get retryMs(): number {
    return this.opts.retryPeriodMs ?? this.ttlMs;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const won = await this.campaign();
        if (!won) break;
        await this.lead(won.lease, won.sentAt);
      } catch (err) {
        if (this.stopped) break;
        this.log.warn('leader election failed, retrying', { error: errorMessage(err), retryInMs: this.retryMs });
        this.opts.metrics?.errors.inc({ component: 'leader-election' });
        await sleep(this.clock, this.retryMs, this.stopSignal.signal);
      }
    }
  }

  /** campaign resolves with a lease once this candidate holds the key, or undefined when stopped. */
  private async campaign(): Promise<{ lease: Lease; sentAt: number } | undefined> {
    const raw = this.opts.store.raw;
    while (!this.stopped) {
      const current = await raw.get(this.key);
      if (current) {
        this.observed = current.value;
        await this.waitForKeyGone(current.revision);
        continue;
      }
      this.observed = undefined;
      // the lease cannot expire before ttl counted from when we asked for it
      const sentAt = this.clock.now();
      const lease = await this.opts.store.grantLease(this.ttlMs / 1000);
      let claimed = false;
      try {
        claimed = !this.stopped && (await raw.claim(this.key, this.opts.identity, { lease }));
      } finally {
        if (!claimed) await lease.revoke().catch(() => undefined);
      }
      if (claimed) return { lease, sentAt };
    }
    return undefined;
  }

  /** waitForKeyGone resolves when the key is deleted, at the next re-check, or on stop. */
  private waitForKeyGone(revision: string): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      let sub: { unsubscribe(): void } | undefined;
      const finish = (): void => {
        if (done) return;
        done = true;
        sub?.unsubscribe();
        this.clock.clearTimeout(timer);
        this.stopSignal.signal.removeEventListener('abort', finish);
        resolve();
      };
      const timer = this.clock.setTimeout(finish, this.retryMs);
      this.stopSignal.signal.addEventListener('abort', finish, { once: true });
      sub = this.opts.store.raw.watch(this.key, revision).subscribe({
        next: (ev) => {
          if (ev.key !== this.key) return;
          if (ev.type === 'DELETE') {
            this.observed = undefined;
            finish();
          } else {
            this.observed = ev.value;
          }
        },
        // Not a RawPrefixSource: this is one wait for one key, and the re-check
        // every retryMs (the timer above) already is its resubscribe policy.
        error: (err: unknown) => {
          this.log.warn('leader key watch ended; waiting for the next re-check', { error: errorMessage(err) });
          this.opts.metrics?.errors.inc({ component: 'leader-election' });
        },
      });
      if (done || this.stopped) {
        sub.unsubscribe();
        finish();
      }
    });
  }

  /** lead holds leadership until keep-alives fail past the deadline, the lease is lost, or stop(). */
  private lead(lease: Lease, sentAt: number): Promise<void> {
    return new Promise((resolve) => {
      const abort = new AbortController();
      const renewMs = this.opts.renewIntervalMs ?? this.ttlMs / 5;
      const marginMs = this.opts.marginMs ?? this.ttlMs / 5;
      let ttlMs = lease.ttlSeconds * 1000;
      let lastAckSent = sentAt;
      let inFlight = false;
      let ended: Promise<void> | undefined;
      let renewTimer: TimerHandle | undefined;
      let deadlineTimer: TimerHandle | undefined;

      const end = (reason: string): Promise<void> => {
        ended ??= (async () => {
          if (renewTimer) this.clock.clearTimeout(renewTimer);
          if (deadlineTimer) this.clock.clearTimeout(deadlineTimer);
          this.leading = undefined;
          this.log.info('stopped leading', { reason });
          abort.abort();
          await this.callback('onStoppedLeading', () => this.opts.onStoppedLeading?.());
          // revoking deletes the key at once; after failed keep-alives it may fail or hang too,
          // so wait at most one TTL: by then expiry has removed the key anyway
          await withTimeout(lease.revoke(), {
            ms: ttlMs,
            clock: this.clock,
            message: `no answer to the lease revoke within ${ttlMs} ms`,
          }).catch((err: unknown) => this.log.debug('lease revoke failed', { error: errorMessage(err) }));
          resolve();
        })();
        return ended;
      };
      const armDeadline = (): void => {
        if (deadlineTimer) this.clock.clearTimeout(deadlineTimer);
        const deadline = lastAckSent + ttlMs - marginMs;
        deadlineTimer = this.clock.setTimeout(() => void end('lease keep-alive deadline passed'), deadline - this.clock.now());
      };
      const renew = (): void => {
        renewTimer = this.clock.setTimeout(renew, renewMs);
        if (inFlight || ended) return;
        inFlight = true;
        const sent = this.clock.now();
        lease.keepAliveOnce().then(
          (grantedSeconds) => {
            inFlight = false;
            if (ended) return;
            lastAckSent = Math.max(lastAckSent, sent);
            ttlMs = grantedSeconds * 1000;
            armDeadline();
          },
          (err: unknown) => {
            inFlight = false;
            if (ended) return;
            if (err instanceof NotFoundError) return void end('lease expired');
            this.log.warn('lease keep-alive failed', { error: errorMessage(err) });
            this.opts.metrics?.errors.inc({ component: 'leader-election' });
          },
        );
      };

      if (this.stopped) {
        // stop() came between the claim and here: hand the key back without ever leading
        void lease
          .revoke()
          .catch(() => undefined)
          .then(() => resolve());
        return;
      }
      this.leading = { end };
      this.log.info('started leading');
      armDeadline();
      renewTimer = this.clock.setTimeout(renew, renewMs);
      void this.callback('onStartedLeading', () => this.opts.onStartedLeading(abort.signal));
    });
  }

  private async callback(what: string, fn: () => void | Promise<void> | undefined): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error('leader election callback failed', { callback: what, error: errorMessage(err) });
      this.opts.metrics?.errors.inc({ component: 'leader-election' });
    }
  }
}
