import { expect } from 'chai';
import {
  EVACUATED_FROM_ANNOTATION,
  MAINTENANCE_ANNOTATION,
  planMaintenance,
  type MaintenanceAction,
} from '../../../../controllers/membership/evacuation.js';
import type { Instance, InstanceSpec, InstanceStatus, Member, MemberPhase } from '../../../../lib/kinds/types.js';

function member(name: string, opts: { phase?: MemberPhase; maintenance?: string; unschedulable?: boolean } = {}): Member {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name, ...(opts.maintenance ? { annotations: { [MAINTENANCE_ANNOTATION]: opts.maintenance } } : {}) },
    spec: { unschedulable: opts.unschedulable ?? false },
    status: { phase: opts.phase ?? 'Ready', capacity: { cpu: 4, memory: '4Gi' } },
  };
}

function inst(name: string, spec: Partial<InstanceSpec>, status: InstanceStatus, from?: string): Instance {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default', ...(from ? { annotations: { [EVACUATED_FROM_ANNOTATION]: from } } : {}) },
    spec: { image: 'busybox', cpu: 1, memory: '256Mi', ...spec },
    status,
  };
}

function show(a: MaintenanceAction): string {
  if (a.kind === 'move') return `move ${a.name} ${a.from}->${a.to}@${a.epoch} ${a.why} from=${String(a.evacuatedFrom)}`;
  if (a.kind === 'memberPhase') return `phase ${a.member} ${a.phase}`;
  return `done ${a.member}`;
}

describe('evacuation and restore plan', () => {
  it('moves failover and restart instances off an evacuating member and remembers where they came from', () => {
    const got = planMaintenance({
      members: [member('m1'), member('m2', { maintenance: 'evacuate', unschedulable: true })],
      instances: [
        inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1 }),
        inst('b', { recovery: 'restart' }, { member: 'm2', placementEpoch: 2 }),
        inst('c', { recovery: 'none' }, { member: 'm2', placementEpoch: 1 }),
      ],
    }).map(show);
    expect(got).to.deep.equal(['move a m2->m1@2 Evacuate from=m2', 'move b m2->m1@3 Evacuate from=m2', 'phase m2 Evacuating']);
  });

  it('calls a member with nothing movable left Evacuated', () => {
    const got = planMaintenance({
      members: [member('m1'), member('m2', { maintenance: 'evacuate', unschedulable: true, phase: 'Evacuating' })],
      instances: [inst('c', { recovery: 'none' }, { member: 'm2' })],
    }).map(show);
    expect(got).to.deep.equal(['phase m2 Evacuated']);
  });

  it('keeps the member Evacuating while an instance has nowhere to go', () => {
    const got = planMaintenance({
      members: [member('m2', { maintenance: 'evacuate', unschedulable: true })],
      instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1 })],
    }).map(show);
    expect(got).to.deep.equal(['phase m2 Evacuating']);
  });

  it('makes a restored member Ready before moving anything back', () => {
    const got = planMaintenance({
      members: [member('m1'), member('m2', { maintenance: 'restore', phase: 'Evacuated' })],
      instances: [inst('a', { recovery: 'failover' }, { member: 'm1', placementEpoch: 2 }, 'm2')],
    }).map(show);
    expect(got).to.deep.equal(['phase m2 Ready']);
  });

  it('moves the evacuated instances back to a Ready restored member and drops their annotation', () => {
    const got = planMaintenance({
      members: [member('m1'), member('m2', { maintenance: 'restore' })],
      instances: [
        inst('a', { recovery: 'failover' }, { member: 'm1', placementEpoch: 2 }, 'm2'),
        inst('z', { recovery: 'failover' }, { member: 'm1', placementEpoch: 1 }),
      ],
    }).map(show);
    expect(got).to.deep.equal(['move a m1->m2@3 Restore from=null']);
  });

  it('finishes the restore once no instance carries the annotation', () => {
    expect(planMaintenance({ members: [member('m2', { maintenance: 'restore' })], instances: [] }).map(show)).to.deep.equal(['done m2']);
  });

  it('does nothing for a lost member, even one being evacuated', () => {
    const lost = member('m2', { maintenance: 'evacuate', phase: 'NotReady' });
    expect(
      planMaintenance({
        members: [member('m1'), lost],
        instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1 })],
      }),
    ).to.deep.equal([]);
  });
});
