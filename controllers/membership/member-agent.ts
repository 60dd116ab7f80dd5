/**
 * MemberAgent is the host side of membership: it registers this machine as a
 * Member, keeps its heartbeat (a key bound to an etcd lease) alive, and
 * reports capacity and version in status. It also knows the fencing deadline:
 * the time by which this member must assume its lease may have expired.
 */
import type { Logger } from '../../lib/log/logger.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member, MemberRole } from '../../lib/kinds/types.js';
import type { Lease, Store } from '../../lib/store/types.js';
import type { Clock } from '../../lib/controller/clock.js';
import { updateStatus } from '../../lib/controller/status.js';
import { withTimeout } from '../../lib/controller/timeout.js';
import { isCode, errorMessage } from '../../lib/errors.js';
import { capacityFromFacts, readHostFacts } from './capacity.js';
import { setCondition } from '../../lib/controller/conditions.js';
import { hostHasAppArmor } from '../../lib/host/security.js';
import { fenceDeadline } from './fencing.js';
import { HEARTBEAT_PREFIX } from '../../lib/store/key-space.js';
export { HEARTBEAT_PREFIX };

/** MemberAgentOptions configure a MemberAgent. */
export interface MemberAgentOptions {
  store: Store;
  memberKind: KindInfo;
  name: string;
  address: string;
  roles: MemberRole[];
  dataDir: string;
  version: string;
  logger: Logger;
  clock: Clock;
  /** lease TTL in seconds (default 5) */
  ttlSeconds?: number;
  /** keep-alive period in ms (default 1000) */
  keepAliveMs?: number;
  /** status refresh period in ms (default 10000) */
  statusMs?: number;
}

/** MemberAgent registers the member and keeps its heartbeat; see the file comment. */
export class MemberAgent {
  private readonly o: Required<MemberAgentOptions>;
  private lease: Lease | undefined;
  private lastAckedSendAt = 0;
  private stopped = false;
  /** failing: the last keep-alive failed (the next one goes out sooner) */
  private failing = false;
  private beatTimer: unknown;
  private statusTimer: unknown;
  /** apparmor: the kernel's AppArmor switch, read once (it cannot change while the host runs) */
  private apparmor: boolean | undefined;

  constructor(opts: MemberAgentOptions) {
    this.o = { ttlSeconds: 5, keepAliveMs: 1000, statusMs: 10000, ...opts };
  }

  /** start registers the Member (creating it if absent), takes a lease, writes the heartbeat key and status. */
  async start(): Promise<void> {
    await this.register();
    await this.renewLease();
    await this.writeStatus();
    this.scheduleBeat();
    this.scheduleStatus();
  }

  /** stop ends heartbeats and revokes the lease, so the cluster sees this member gone at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.o.clock.clearTimeout(this.beatTimer as never);
    this.o.clock.clearTimeout(this.statusTimer as never);
    const lease = this.lease;
    this.lease = undefined;
    if (lease)
      await lease
        .revoke()
        .catch((err: unknown) => this.o.logger.warn('could not revoke the heartbeat lease', { error: errorMessage(err) }));
  }

  /** currentLease is the lease heartbeats and fencing locks are bound to, if one is held. */
  currentLease(): Lease | undefined {
    return this.lease;
  }

  /** fenceDeadline is the clock time after which this member's lease may have expired (0 if none held). */
  fenceDeadline(): number {
    return this.lease ? fenceDeadline({ lastAckedSendAt: this.lastAckedSendAt, ttlSeconds: this.o.ttlSeconds }) : 0;
  }

  private async register(): Promise<void> {
    const { store, memberKind, name } = this.o;
    try {
      await store.get<Member>(memberKind, name);
    } catch (err) {
      if (!isCode(err, 'NotFound')) throw err;
      const member: Member = {
        apiVersion: memberKind.apiVersion,
        kind: memberKind.kind,
        metadata: { name, labels: { 'cloudlet.dev/member': name } },
        spec: { address: this.o.address, roles: this.o.roles, unschedulable: false },
      };
      try {
        await store.create(memberKind, member);
        this.o.logger.info('registered member', { member: name });
      } catch (createErr) {
        if (!isCode(createErr, 'AlreadyExists')) throw createErr;
      }
    }
  }

  private async renewLease(): Promise<void> {
    const sentAt = this.o.clock.now();
    if (this.lease) {
      try {
        // An etcd without quorum may not answer at all: give up on this keep-alive and send the next one.
        await this.bounded(this.lease.keepAliveOnce(), this.o.keepAliveMs);
        this.lastAckedSendAt = sentAt;
        return;
      } catch (err) {
        if (!isCode(err, 'NotFound')) throw err;
        this.o.logger.warn('heartbeat lease expired; taking a new one', { member: this.o.name });
        this.lease = undefined;
      }
    }
    const lease = await this.bounded(this.o.store.grantLease(this.o.ttlSeconds), this.o.keepAliveMs * 3);
    await this.bounded(
      this.o.store.raw.put(HEARTBEAT_PREFIX + this.o.name, JSON.stringify({ member: this.o.name, lease: lease.id }), { lease }),
      this.o.keepAliveMs * 3,
    );
    this.lease = lease;
    this.lastAckedSendAt = sentAt;
  }

  /** bounded rejects with a TimeoutError when `p` does not settle within `ms` (the operation may still complete later). */
  private bounded<T>(p: Promise<T>, ms: number): Promise<T> {
    return withTimeout(p, { ms, clock: this.o.clock, message: `no answer from etcd within ${ms} ms` });
  }

  private scheduleBeat(): void {
    if (this.stopped) return;
    this.beatTimer = this.o.clock.setTimeout(
      () => {
        this.renewLease()
          .then(
            () => {
              this.failing = false;
            },
            (err: unknown) => {
              // After a failure (an etcd leader change, say) try again soon: every acknowledged keep-alive moves the fence deadline.
              if (!this.failing) this.o.logger.warn('heartbeat failed', { member: this.o.name, error: errorMessage(err) });
              this.failing = true;
            },
          )
          .finally(() => this.scheduleBeat());
      },
      this.failing ? Math.min(250, this.o.keepAliveMs) : this.o.keepAliveMs,
    );
  }

  private scheduleStatus(): void {
    if (this.stopped) return;
    this.statusTimer = this.o.clock.setTimeout(() => {
      this.writeStatus()
        .catch((err: unknown) => this.o.logger.warn('could not write member status', { member: this.o.name, error: errorMessage(err) }))
        .finally(() => this.scheduleStatus());
    }, this.o.statusMs);
  }

  /** writeStatus reports capacity, version and the heartbeat time (retrying on write conflicts). */
  private async writeStatus(): Promise<void> {
    const facts = await readHostFacts(this.o.dataDir);
    this.apparmor ??= await hostHasAppArmor();
    const lsm = securityModuleCondition(this.apparmor);
    // The membership controller writes phase and conditions too: a conflict recomputes on fresh data.
    await updateStatus<Member>(this.o.store, this.o.memberKind, { name: this.o.name }, (member) => ({
      ...member.status,
      capacity: capacityFromFacts(facts),
      version: this.o.version,
      heartbeat: new Date(this.o.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      phase: member.status?.phase ?? 'Joining',
      conditions: setCondition(member.status?.conditions, lsm, this.o.clock.now()),
    }));
  }
}

/**
 * securityModuleCondition says once, on the Member, whether instances here
 * are confined by an LSM: with AppArmor they get LXC's generated profile;
 * without it they run with no LSM profile, confined by their user namespace,
 * seccomp and cgroups alone (docs/security.md).
 */
export function securityModuleCondition(apparmor: boolean): { type: string; status: 'True' | 'False'; reason: string; message: string } {
  return apparmor
    ? { type: 'SecurityModule', status: 'True', reason: 'AppArmor', message: 'instances are confined by AppArmor (LXC generated profiles)' }
    : {
        type: 'SecurityModule',
        status: 'False',
        reason: 'NoAppArmor',
        message:
          'AppArmor is not available in this kernel: instances run without an LSM profile, confined by their user namespace, seccomp and cgroups',
      };
}
