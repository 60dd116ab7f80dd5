import { expect } from 'chai';
import { planFailover, recoverabilityOf, memberLost, type FailoverAction } from '../../../controllers/membership/failover-plan.js';
import type { Instance, InstanceSpec, InstanceStatus, Member, StoragePool, Volume } from '../../../lib/kinds/types.js';

function member(name: string, phase: 'Ready' | 'NotReady' | 'Left' | 'Evacuating' = 'Ready', extra: Partial<Member['spec']> = {}): Member {
  const lost = phase === 'NotReady';
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name },
    spec: { unschedulable: false, ...extra },
    status: {
      phase,
      capacity: { cpu: 4, memory: '4Gi' },
      conditions: [{ type: 'Ready', status: lost ? 'False' : 'True', reason: lost ? 'HeartbeatLost' : 'HeartbeatCurrent', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' }],
    },
  };
}

function inst(name: string, spec: Partial<InstanceSpec>, status: InstanceStatus): Instance {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', metadata: { name, namespace: 'default' }, spec: { image: 'busybox', cpu: 1, memory: '256Mi', ...spec }, status };
}

const fenced = (member: string, epoch: number): InstanceStatus => ({
  member,
  placementEpoch: epoch,
  phase: 'Unknown',
  conditions: [{ type: 'Ready', status: 'False', reason: 'Fenced', message: 'fenced', lastTransitionTime: '2025-01-01T00:00:00Z' }],
});

const pools: StoragePool[] = [
  { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'StoragePool', metadata: { name: 'local' }, spec: { driver: 'btrfs' }, status: { shared: false } },
  { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'StoragePool', metadata: { name: 'ceph' }, spec: { driver: 'ceph' }, status: { shared: true } },
];
const volumes: Volume[] = [
  { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Volume', metadata: { name: 'ldata', namespace: 'default' }, spec: { pool: 'local', size: '1Gi' } },
  { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Volume', metadata: { name: 'sdata', namespace: 'default' }, spec: { pool: 'ceph', size: '1Gi' } },
];

interface Row {
  title: string;
  members: Member[];
  instances: Instance[];
  /** want: the non-recoverable-status actions, as "kind name detail" strings */
  want: string[];
}

function describeAction(a: FailoverAction): string | undefined {
  if (a.kind === 'move') return `move ${a.name} ${a.from}->${a.to}@${a.epoch} ${a.why}`;
  if (a.kind === 'unknown') return `unknown ${a.name} ${a.reason}`;
  return undefined;
}

const rows: Row[] = [
  { title: 'moves a failover instance off a NotReady member to the Ready one', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['move a m2->m1@2 MemberLost'] },
  { title: 'leaves instances on Ready members alone', members: [member('m1'), member('m2')], instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 3, phase: 'Running' })], want: [] },
  { title: 'bumps the placement epoch by exactly one', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 7, phase: 'Running' })], want: ['move a m2->m1@8 MemberLost'] },
  { title: 'treats a member that no longer exists as lost', members: [member('m1')], instances: [inst('a', { recovery: 'failover' }, { member: 'gone', placementEpoch: 1, phase: 'Running' })], want: ['move a gone->m1@2 MemberLost'] },
  { title: 'treats a Left member as lost', members: [member('m1'), member('m2', 'Left')], instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['move a m2->m1@2 MemberLost'] },
  { title: 'marks a restart instance on a lost member Unknown, waiting for its member', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'restart' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['unknown a WaitingForMember'] },
  { title: 'marks a recovery-none instance on a lost member Unknown', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'none' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['unknown a WaitingForMember'] },
  { title: 'keeps an instance with a local-pool volume on its lost member, Unknown', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover', volumes: [{ name: 'ldata', path: '/data' }] }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['unknown a NotRecoverable'] },
  { title: 'moves an instance whose volumes are all on a shared pool', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover', volumes: [{ name: 'sdata', path: '/data' }] }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['move a m2->m1@2 MemberLost'] },
  { title: 'says NoTarget when no other member is Ready', members: [member('m1', 'NotReady'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['unknown a NoTarget'] },
  { title: 'says NoTarget when the survivors have no room', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover', memory: '8Gi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['unknown a NoTarget'] },
  { title: 'never picks an unschedulable member', members: [member('m1', 'Ready', { unschedulable: true }), member('m2', 'NotReady'), member('m3')], instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['move a m2->m3@2 MemberLost'] },
  { title: 'spreads several moved instances by counting earlier moves', members: [member('m1'), member('m2', 'NotReady'), member('m3')], instances: [inst('a', { recovery: 'failover', memory: '3Gi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' }), inst('b', { recovery: 'failover', memory: '3Gi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['move a m2->m1@2 MemberLost', 'move b m2->m3@2 MemberLost'] },
  { title: 'places an instance its Ready member fenced anew, possibly on the same member', members: [member('m1')], instances: [inst('a', { recovery: 'failover' }, fenced('m1', 4))], want: ['move a m1->m1@5 Fenced'] },
  { title: 'skips instances being deleted', members: [member('m1'), member('m2', 'NotReady')], instances: [{ ...inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' }), metadata: { name: 'a', namespace: 'default', deletionTimestamp: '2025-01-01T00:00:00Z' } }], want: [] },
  { title: 'does not repeat an Unknown it already wrote', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'restart' }, { member: 'm2', placementEpoch: 1, phase: 'Unknown', message: 'member m2 lost its heartbeat; spec.recovery is restart, so the instance waits for m2 to come back' })], want: [] },
  { title: 'ignores unscheduled instances', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover' }, { phase: 'Pending' })], want: [] },
  { title: 'keeps an instance pinned to its lost member Unknown', members: [member('m1'), member('m2', 'NotReady')], instances: [inst('a', { recovery: 'failover', placement: { member: 'm2' } }, { member: 'm2', placementEpoch: 1, phase: 'Running' })], want: ['unknown a NoTarget'] },
];

describe('failover plan', () => {
  for (const row of rows) {
    it(row.title, () => {
      const got = planFailover({ members: row.members, instances: row.instances, pools, volumes }).map(describeAction).filter((s): s is string => s !== undefined);
      expect(got).to.deep.equal(row.want);
    });
  }

  it('sets status.recoverable on every instance that shows a different value', () => {
    const actions = planFailover({ members: [member('m1')], instances: [inst('a', { recovery: 'failover' }, { member: 'm1', phase: 'Running' }), inst('b', { recovery: 'restart' }, { member: 'm1', phase: 'Running' })], pools, volumes });
    const rec = actions.filter((a) => a.kind === 'recoverable');
    expect(rec.map((a) => [a.name, a.kind === 'recoverable' && a.recoverable])).to.deep.equal([
      ['a', true],
      ['b', false],
    ]);
  });

  it('writes nothing for recoverability that is already true to the facts', () => {
    const a = inst('a', { recovery: 'failover' }, { member: 'm1', phase: 'Running' });
    const r = recoverabilityOf(a);
    a.status = { ...a.status, recoverable: r.recoverable, recoverableReason: r.reason };
    expect(planFailover({ members: [member('m1')], instances: [a] })).to.deep.equal([]);
  });
});

describe('recoverability with storage', () => {
  it('names the local volume that keeps an instance from failing over', () => {
    const r = recoverabilityOf(inst('a', { recovery: 'failover', volumes: [{ name: 'ldata', path: '/d' }, { name: 'sdata', path: '/s' }] }, {}), { pools, volumes });
    expect(r.recoverable).to.equal(false);
    expect(r.reason).to.match(/ldata \(pool local is local to one member\)/);
    expect(r.reason).to.not.match(/sdata/);
  });
  it('says a volume that does not exist cannot move', () => {
    expect(recoverabilityOf(inst('a', { recovery: 'failover', volumes: [{ name: 'nope', path: '/d' }] }, {}), { pools, volumes }).reason).to.match(/nope \(volume not found\)/);
  });
  it('calls an image-only failover instance recoverable', () => {
    expect(recoverabilityOf(inst('a', { recovery: 'failover' }, {})).recoverable).to.equal(true);
  });
});

describe('memberLost', () => {
  it('is true for a missing, NotReady or Left member and for an evacuating one whose heartbeat is lost', () => {
    expect(memberLost(undefined)).to.equal(true);
    expect(memberLost(member('m', 'NotReady'))).to.equal(true);
    expect(memberLost(member('m', 'Left'))).to.equal(true);
    const evac = member('m', 'Evacuating');
    evac.status!.conditions = [{ type: 'Ready', status: 'False', reason: 'HeartbeatLost', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' }];
    expect(memberLost(evac)).to.equal(true);
  });
  it('is false for a Ready member and a healthy evacuating one', () => {
    expect(memberLost(member('m'))).to.equal(false);
    expect(memberLost(member('m', 'Evacuating'))).to.equal(false);
  });
});
