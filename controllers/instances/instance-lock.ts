/**
 * Instance locks (DESIGN.md §5). Before an instance with recovery `failover`
 * starts, its member takes the key `/cloudlet/locks/instances/<ns>/<name>`
 * bound to the member's heartbeat lease, with the member and the placement
 * epoch as value. When the member dies or cannot renew its lease, the key
 * vanishes with the lease; by then the member has fenced itself (stopped its
 * copy). So a new member can start the instance only when the old copy is
 * gone. `decideLock` is the pure decision; `InstanceLocks` talks to the store.
 */
import type { Lease, RawEntry, Store } from '../../lib/store/types.js';
import { INSTANCE_LOCK_PREFIX as LOCK_PREFIX } from '../../lib/store/key-space.js';
export { LOCK_PREFIX };

/** lockKey is the lock key of namespace/name. */
export function lockKey(namespace: string, name: string): string {
  return `${LOCK_PREFIX}${namespace}/${name}`;
}

/** LockValue is what a lock key holds. */
export interface LockValue {
  member: string;
  epoch: number;
}

/** encodeLock renders a lock value (stable field order, so values compare as strings). */
export function encodeLock(v: LockValue): string {
  return JSON.stringify({ member: v.member, epoch: v.epoch });
}

/** decodeLock parses a lock value; undefined when it is not one. */
export function decodeLock(text: string): LockValue | undefined {
  try {
    const v = JSON.parse(text) as { member?: unknown; epoch?: unknown };
    return typeof v.member === 'string' && typeof v.epoch === 'number' ? { member: v.member, epoch: v.epoch } : undefined;
  } catch {
    return undefined;
  }
}

/** LockDecision: `claim` the absent key, `held` (already ours), `rebind` (ours by member but another epoch or lease of ours: rewrite it), or `wait` for its holder. */
export type LockDecision = { kind: 'claim' } | { kind: 'held' } | { kind: 'rebind' } | { kind: 'wait'; holder: string; message: string };

/**
 * decideLock decides what to do with the lock key `entry` (undefined =
 * absent) for `want` on this member's lease `leaseId`. A key on another
 * member's lease (or on none) is that holder's until its lease ends: wait.
 * A key on our own lease is ours whatever its value: rebind it to `want`.
 */
export function decideLock(opts: { entry: RawEntry | undefined; want: LockValue; leaseId: string }): LockDecision {
  const { entry, want, leaseId } = opts;
  if (!entry) return { kind: 'claim' };
  const cur = decodeLock(entry.value);
  if (entry.lease === leaseId) return cur && cur.member === want.member && cur.epoch === want.epoch ? { kind: 'held' } : { kind: 'rebind' };
  const holder = cur?.member ?? 'an unknown holder';
  const at = cur ? ` at placement epoch ${cur.epoch}` : '';
  return {
    kind: 'wait',
    holder,
    message: `waiting for the instance lock held by member ${holder}${at}: it is released when that copy stops or that member's lease expires`,
  };
}

/** LockResult: whether the lock is ours now, or who holds it and a sentence for status.message. */
export type LockResult = { ok: true } | { ok: false; holder: string; message: string };

/** InstanceLocks takes, checks and releases instance locks on the store's raw key space. */
export class InstanceLocks {
  private readonly store: Store;
  private readonly member: string;
  private readonly lease: () => Lease | undefined;

  constructor(opts: { store: Store; memberName: string; lease: () => Lease | undefined }) {
    this.store = opts.store;
    this.member = opts.memberName;
    this.lease = opts.lease;
  }

  /** ensure makes the lock of namespace/name ours at `epoch`, bound to the member's current lease; never steals a live holder's. */
  async ensure(namespace: string, name: string, epoch: number): Promise<LockResult> {
    const lease = this.lease();
    if (!lease)
      return {
        ok: false,
        holder: this.member,
        message: `member ${this.member} holds no heartbeat lease right now; the instance lock is taken once it does`,
      };
    const key = lockKey(namespace, name);
    const want: LockValue = { member: this.member, epoch };
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = await this.store.raw.get(key);
      const d = decideLock({ entry, want, leaseId: lease.id });
      if (d.kind === 'held') return { ok: true };
      if (d.kind === 'wait') return { ok: false, holder: d.holder, message: d.message };
      const done =
        d.kind === 'claim'
          ? await this.store.raw.claim(key, encodeLock(want), { lease })
          : await this.store.raw.casPut(key, encodeLock(want), entry?.revision ?? '0', { lease });
      if (done) return { ok: true };
    }
    return { ok: false, holder: 'another member', message: 'the instance lock changed hands while it was being taken; trying again' };
  }

  /** holds re-checks, right before a start, that the lock is ours at `epoch` on the current lease. */
  async holds(namespace: string, name: string, epoch: number): Promise<boolean> {
    const lease = this.lease();
    if (!lease) return false;
    const entry = await this.store.raw.get(lockKey(namespace, name));
    return decideLock({ entry, want: { member: this.member, epoch }, leaseId: lease.id }).kind === 'held';
  }

  /** release deletes the lock of namespace/name if this member holds it (at any epoch); true if removed. */
  async release(namespace: string, name: string): Promise<boolean> {
    const key = lockKey(namespace, name);
    const entry = await this.store.raw.get(key);
    if (!entry || decodeLock(entry.value)?.member !== this.member) return false;
    return this.store.raw.delete(key, { ifValue: entry.value });
  }
}
