/**
 * The failover controller's decisions as pure functions (DESIGN.md §5).
 * From every Member, Instance, StoragePool and Volume, `planFailover` says:
 * - which instances with recovery `failover` move, and where: those on a
 *   member that lost its heartbeat (NotReady, Left or gone) and those a Ready
 *   member fenced; the target comes from the scheduler, the placement epoch
 *   goes up by one;
 * - which stay, phase Unknown, and why: not recoverable (`decideRecoverability`:
 *   a local-pool volume, a pin, a selector no other member matches), no
 *   member can take them, or recovery restart/none (they wait for their
 *   member);
 * - what status.recoverable and status.recoverableReason every instance
 *   should show, truthfully, before any failure (the same decision that
 *   gates the moves, so the status never promises a move the plan refuses).
 * Nothing here touches the store or the clock.
 */
import { getCondition } from '../../lib/controller/conditions.js';
import type { Instance, Member, StoragePool, Volume } from '../../lib/kinds/types.js';
import { schedule } from '../instances/scheduler.js';
import { decideRecoverability, type StorageDriverCapabilities } from './recoverability.js';

/** FailoverInput is the cluster as the informers see it, and the storage drivers' capabilities. */
export interface FailoverInput {
  members: Member[];
  instances: Instance[];
  pools: StoragePool[];
  volumes: Volume[];
  drivers: StorageDriverCapabilities;
}

/** InstanceRef names an instance. */
export interface InstanceRef {
  namespace: string;
  name: string;
}

/** MoveWhy says why an instance moves. */
export type MoveWhy = 'MemberLost' | 'Fenced' | 'Evacuate' | 'Restore';

/** FailoverAction is one thing the controller writes. */
export type FailoverAction =
  | (InstanceRef & { kind: 'move'; from: string; to: string; epoch: number; why: MoveWhy; message: string })
  | (InstanceRef & { kind: 'unknown'; member: string; reason: 'NotRecoverable' | 'NoTarget' | 'WaitingForMember'; message: string })
  | (InstanceRef & { kind: 'recoverable'; recoverable: boolean; reason: string });

/** memberLost tells whether a member has lost its heartbeat (or is gone): its instances must be recovered elsewhere. */
export function memberLost(member: Member | undefined): boolean {
  if (!member) return true;
  const phase = member.status?.phase;
  if (phase === 'NotReady' || phase === 'Left') return true;
  const ready = getCondition(member.status?.conditions, 'Ready');
  return ready?.status === 'False' && ready.reason === 'HeartbeatLost';
}

/** isFencedInstance tells whether the instance's member fenced it (Ready=False, reason Fenced). */
export function isFencedInstance(instance: Instance): boolean {
  return instance.status?.phase === 'Unknown' && getCondition(instance.status?.conditions, 'Ready')?.reason === 'Fenced';
}

function refOf(i: Instance): InstanceRef {
  return { namespace: i.metadata.namespace ?? 'default', name: i.metadata.name };
}

/** withPlacement returns a copy of the instance assigned to `member` at `epoch`, for the working list. */
export function withPlacement(i: Instance, member: string, epoch: number): Instance {
  return { ...i, status: { ...i.status, member, placementEpoch: epoch } };
}

/** replaceIn swaps `next` for the instance of the same name in `list`. */
export function replaceIn(list: Instance[], next: Instance): Instance[] {
  return list.map((i) =>
    i.metadata.name === next.metadata.name && (i.metadata.namespace ?? '') === (next.metadata.namespace ?? '') ? next : i,
  );
}

/** planFailover computes the actions; see the file comment. Moves are counted against their targets as they are planned. */
export function planFailover(input: FailoverInput): FailoverAction[] {
  const actions: FailoverAction[] = [];
  const byName = new Map(input.members.map((m) => [m.metadata.name, m] as const));
  let working = [...input.instances];
  const sorted = [...input.instances].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  for (const inst of sorted) {
    if (inst.metadata.deletionTimestamp) continue;
    const ref = refOf(inst);
    const rec = decideRecoverability({
      instance: inst,
      members: input.members,
      instances: input.instances,
      pools: input.pools,
      volumes: input.volumes,
      drivers: input.drivers,
    });
    if (inst.status?.recoverable !== rec.recoverable || inst.status?.recoverableReason !== rec.reason)
      actions.push({ ...ref, kind: 'recoverable', recoverable: rec.recoverable, reason: rec.reason });
    const from = inst.status?.member;
    if (!from) continue;
    const member = byName.get(from);
    const lost = memberLost(member);
    const fenced = !lost && isFencedInstance(inst);
    if (!lost && !fenced) continue;
    const recovery = inst.spec?.recovery ?? 'restart';
    const unknown = (reason: 'NotRecoverable' | 'NoTarget' | 'WaitingForMember', message: string): void => {
      if (inst.status?.phase !== 'Unknown' || inst.status.message !== message)
        actions.push({ ...ref, kind: 'unknown', member: from, reason, message });
    };
    if (recovery !== 'failover') {
      if (lost)
        unknown(
          'WaitingForMember',
          `member ${from} lost its heartbeat; spec.recovery is ${recovery}, so the instance waits for ${from} to come back`,
        );
      continue;
    }
    if (lost && !rec.recoverable) {
      unknown('NotRecoverable', `member ${from} lost its heartbeat and the instance cannot fail over: ${rec.reason}`);
      continue;
    }
    // A lost member is never a target (it is not Ready). A fenced instance may
    // go back to its own Ready member, whose storage and placement it already
    // satisfies; to another member only when it is recoverable.
    const candidates = input.members.filter((m) => (lost ? m.metadata.name !== from : rec.recoverable || m.metadata.name === from));
    const result = schedule({ instance: inst, members: candidates, instances: working });
    if (result.member === undefined) {
      unknown(
        'NoTarget',
        `member ${from} ${lost ? 'lost its heartbeat' : 'fenced the instance'}; no member can take it yet: ${result.reason}`,
      );
      continue;
    }
    const epoch = (inst.status?.placementEpoch ?? 0) + 1;
    const why: MoveWhy = lost ? 'MemberLost' : 'Fenced';
    const cause = lost ? `member ${from} lost its heartbeat` : `member ${from} fenced it`;
    actions.push({
      ...ref,
      kind: 'move',
      from,
      to: result.member,
      epoch,
      why,
      message: `${cause}: rescheduled to ${result.member} at placement epoch ${epoch}`,
    });
    working = replaceIn(working, withPlacement(inst, result.member, epoch));
  }
  return actions;
}
