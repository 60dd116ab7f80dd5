/**
 * Pure decisions for Volume: names inside a pool, sources, who uses a
 * volume, which member holds it, and which snapshots to make or drop.
 */
import { ValidationError } from '../../lib/errors.js';
import type { Instance, Volume } from '../../lib/kinds/types.js';

/** VOLUME_FINALIZER keeps a Volume until its holder has deleted its data. */
export const VOLUME_FINALIZER = 'storage.cloudlet.dev/volume';

/** volumeKey is a volume's name inside its pool: `<namespace>_<name>` (`_` never appears in either). */
export function volumeKey(namespace: string, name: string): string {
  return `${namespace}_${name}`;
}

/** parseSnapshotSource splits `VOLUME@SNAPSHOT`; anything else throws ValidationError. */
export function parseSnapshotSource(text: string): { volume: string; snapshot: string } {
  const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)@([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(text);
  if (!m?.[1] || !m[3]) throw new ValidationError(`spec.source.snapshot "${text}" must be VOLUME@SNAPSHOT`);
  return { volume: m[1], snapshot: m[3] };
}

/** volumeUsers names (sorted) the instances in the volume's namespace whose spec.volumes mention it. */
export function volumeUsers(vol: Volume, instances: readonly Instance[]): string[] {
  return instances
    .filter((i) => i.metadata.namespace === vol.metadata.namespace && (i.spec?.volumes ?? []).some((v) => v.name === vol.metadata.name))
    .map((i) => i.metadata.name)
    .sort();
}

/**
 * HolderDecision: `claim` when this member should take the volume, `wait`
 * when another should or none can yet (`reason` says why; `missingPool` is
 * set when the volume names a StoragePool that does not exist).
 */
export type HolderDecision = { action: 'mine' } | { action: 'claim' } | { action: 'wait'; reason: string; missingPool?: string };

/**
 * decideHolder picks who holds a volume of a local pool: the recorded holder
 * keeps it; a volume whose pool does not exist waits, naming the pool;
 * otherwise the member where a user instance is placed; otherwise the first
 * member (by name order of the attempt) where the pool is ready — races are
 * settled by the store's compare-and-swap on the status write.
 */
export function decideHolder(opts: {
  me: string;
  holder?: string;
  userMembers: readonly string[];
  poolName: string;
  poolExists: boolean;
  poolReadyHere: boolean;
}): HolderDecision {
  if (opts.holder) return opts.holder === opts.me ? { action: 'mine' } : { action: 'wait', reason: `held by member ${opts.holder}` };
  if (!opts.poolExists) return { action: 'wait', reason: `StoragePool "${opts.poolName}" does not exist`, missingPool: opts.poolName };
  const placed = opts.userMembers.find((m) => m !== '');
  if (placed && placed !== opts.me) return { action: 'wait', reason: `its instance runs on member ${placed}` };
  if (!opts.poolReadyHere) return { action: 'wait', reason: 'the pool is not ready on this member' };
  return { action: 'claim' };
}

/** snapshotPlan says which snapshots to create and which to delete so that exactly `wanted` exist. */
export function snapshotPlan(wanted: readonly string[] | undefined, existing: readonly string[]): { create: string[]; delete: string[] } {
  const want = new Set(wanted ?? []);
  const have = new Set(existing);
  return { create: [...want].filter((s) => !have.has(s)).sort(), delete: [...have].filter((s) => !want.has(s)).sort() };
}

/** restoreKey is the identity of a restore request (`token` or the snapshot name); undefined when none is asked. */
export function restoreKey(vol: Volume): string | undefined {
  const r = vol.spec?.restore;
  if (!r?.snapshot) return undefined;
  return r.token ?? r.snapshot;
}
