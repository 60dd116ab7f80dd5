/**
 * Evacuation and restore as pure decisions. `cloudlet member evacuate NAME`
 * marks the Member unschedulable with the annotation
 * `cloudlet.dev/maintenance: evacuate`; `cloudlet member restore NAME` makes
 * it schedulable with `cloudlet.dev/maintenance: restore`. From those,
 * `planMaintenance` says:
 * - evacuate: move every instance with recovery failover or restart off the
 *   member (the scheduler picks the target, the epoch goes up), remembering
 *   the origin in the instance annotation `cloudlet.dev/evacuated-from`; the
 *   member is Evacuating while any remain, then Evacuated;
 * - restore: the member becomes Ready (it takes instances again), then the
 *   instances evacuated from it move back (if it has room) and lose the
 *   annotation; once none remain the member's maintenance annotation goes.
 */
import type { Instance, Member, MemberPhase } from '../../lib/kinds/types.js';
import { schedule } from '../instances/scheduler.js';
import { memberLost, replaceIn, withPlacement, type InstanceRef } from './failover-plan.js';

/** MAINTENANCE_ANNOTATION on a Member asks for `evacuate` or `restore`. */
export const MAINTENANCE_ANNOTATION = 'cloudlet.dev/maintenance';
/** EVACUATED_FROM_ANNOTATION on an Instance names the member it was evacuated from. */
export const EVACUATED_FROM_ANNOTATION = 'cloudlet.dev/evacuated-from';

/** MaintenanceAction is one write the controller makes for evacuate/restore. */
export type MaintenanceAction =
  | (InstanceRef & {
      kind: 'move';
      from: string;
      to: string;
      epoch: number;
      why: 'Evacuate' | 'Restore';
      message: string;
      evacuatedFrom: string | null;
    })
  | { kind: 'memberPhase'; member: string; phase: MemberPhase; message: string }
  | { kind: 'memberDone'; member: string };

function movable(i: Instance): boolean {
  const r = i.spec?.recovery ?? 'restart';
  return !i.metadata.deletionTimestamp && (r === 'failover' || r === 'restart');
}

function ref(i: Instance): InstanceRef {
  return { namespace: i.metadata.namespace ?? 'default', name: i.metadata.name };
}

/** planMaintenance computes evacuate/restore actions; see the file comment. */
export function planMaintenance(input: { members: Member[]; instances: Instance[] }): MaintenanceAction[] {
  const out: MaintenanceAction[] = [];
  let working = [...input.instances];
  for (const m of [...input.members].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const name = m.metadata.name;
    const want = m.metadata.annotations?.[MAINTENANCE_ANNOTATION];
    if (memberLost(m)) continue;
    if (want === 'evacuate') {
      const here = working.filter((i) => i.status?.member === name && movable(i));
      let left = 0;
      for (const inst of here) {
        const result = schedule({ instance: inst, members: input.members, instances: working });
        if (result.member === undefined || result.member === name) {
          left++;
          continue;
        }
        const epoch = (inst.status?.placementEpoch ?? 0) + 1;
        out.push({
          ...ref(inst),
          kind: 'move',
          from: name,
          to: result.member,
          epoch,
          why: 'Evacuate',
          evacuatedFrom: name,
          message: `evacuating member ${name}: moved to ${result.member} at placement epoch ${epoch}`,
        });
        working = replaceIn(working, withPlacement(inst, result.member, epoch));
      }
      const phase: MemberPhase = here.length === 0 ? 'Evacuated' : 'Evacuating';
      const message =
        here.length === 0
          ? `evacuated: no instance with recovery failover or restart is left on ${name}`
          : `evacuating: moving ${here.length - left} instance(s) off ${name}${left > 0 ? `; ${left} have no other member to go to yet` : ''}`;
      if (m.status?.phase !== phase || m.status.message !== message) out.push({ kind: 'memberPhase', member: name, phase, message });
      continue;
    }
    if (want !== 'restore') continue;
    if (m.status?.phase === 'Evacuating' || m.status?.phase === 'Evacuated') {
      out.push({ kind: 'memberPhase', member: name, phase: 'Ready', message: `restored: ${name} takes instances again` });
      continue;
    }
    if (m.status?.phase !== 'Ready' || m.spec?.unschedulable) continue;
    const away = working.filter((i) => i.metadata.annotations?.[EVACUATED_FROM_ANNOTATION] === name && !i.metadata.deletionTimestamp);
    for (const inst of away) {
      const from = inst.status?.member ?? '';
      if (from === name) {
        out.push({
          ...ref(inst),
          kind: 'move',
          from,
          to: name,
          epoch: inst.status?.placementEpoch ?? 0,
          why: 'Restore',
          evacuatedFrom: null,
          message: `already back on ${name}`,
        });
        continue;
      }
      const pinned: Instance = {
        ...inst,
        spec: { ...inst.spec, image: inst.spec?.image ?? '', placement: { ...inst.spec?.placement, member: name } },
      };
      const result = schedule({ instance: pinned, members: input.members, instances: working });
      if (result.member !== name) continue; // no room back home yet: it stays where it is, annotated
      const epoch = (inst.status?.placementEpoch ?? 0) + 1;
      out.push({
        ...ref(inst),
        kind: 'move',
        from,
        to: name,
        epoch,
        why: 'Restore',
        evacuatedFrom: null,
        message: `restoring member ${name}: moved back from ${from} at placement epoch ${epoch}`,
      });
      working = replaceIn(working, withPlacement(inst, name, epoch));
    }
    if (away.length === 0) out.push({ kind: 'memberDone', member: name });
  }
  return out;
}
