import { expect } from 'chai';
import { planFailover, memberLost, type FailoverAction, type FailoverInput } from '../../../../controllers/membership/failover-plan.js';
import { decideRecoverability } from '../../../../controllers/membership/recoverability.js';
import { STORAGE_DRIVER_INFO } from '../../../../controllers/storage/drivers/registry.js';
import type { Instance, InstanceSpec, InstanceStatus, Member, StoragePool, Volume } from '../../../../lib/kinds/types.js';

function member(
  name: string,
  phase: 'Ready' | 'NotReady' | 'Left' | 'Evacuating' = 'Ready',
  extra: Partial<Member['spec']> = {},
  labels?: Record<string, string>,
): Member {
  const lost = phase === 'NotReady';
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name, labels },
    spec: { unschedulable: false, ...extra },
    status: {
      phase,
      capacity: { cpu: 4, memory: '4Gi' },
      conditions: [
        {
          type: 'Ready',
          status: lost ? 'False' : 'True',
          reason: lost ? 'HeartbeatLost' : 'HeartbeatCurrent',
          message: '',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
    },
  };
}

function inst(name: string, spec: Partial<InstanceSpec>, status: InstanceStatus): Instance {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default' },
    spec: { image: 'busybox', cpu: 1, memory: '256Mi', ...spec },
    status,
  };
}

const fenced = (member: string, epoch: number): InstanceStatus => ({
  member,
  placementEpoch: epoch,
  phase: 'Unknown',
  conditions: [{ type: 'Ready', status: 'False', reason: 'Fenced', message: 'fenced', lastTransitionTime: '2025-01-01T00:00:00Z' }],
});

const pools: StoragePool[] = [
  {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'StoragePool',
    metadata: { name: 'local' },
    spec: { driver: 'btrfs' },
    status: { shared: false },
  },
  {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'StoragePool',
    metadata: { name: 'ceph' },
    spec: { driver: 'ceph' },
    status: { shared: true },
  },
];
const volumes: Volume[] = [
  {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Volume',
    metadata: { name: 'ldata', namespace: 'default' },
    spec: { pool: 'local', size: '1Gi' },
  },
  {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Volume',
    metadata: { name: 'sdata', namespace: 'default' },
    spec: { pool: 'ceph', size: '1Gi' },
  },
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
  {
    title: 'moves a failover instance off a NotReady member to the Ready one',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['move a m2->m1@2 MemberLost'],
  },
  {
    title: 'leaves instances on Ready members alone',
    members: [member('m1'), member('m2')],
    instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 3, phase: 'Running' })],
    want: [],
  },
  {
    title: 'bumps the placement epoch by exactly one',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 7, phase: 'Running' })],
    want: ['move a m2->m1@8 MemberLost'],
  },
  {
    title: 'treats a member that no longer exists as lost',
    members: [member('m1')],
    instances: [inst('a', { recovery: 'failover' }, { member: 'gone', placementEpoch: 1, phase: 'Running' })],
    want: ['move a gone->m1@2 MemberLost'],
  },
  {
    title: 'treats a Left member as lost',
    members: [member('m1'), member('m2', 'Left')],
    instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['move a m2->m1@2 MemberLost'],
  },
  {
    title: 'marks a restart instance on a lost member Unknown, waiting for its member',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'restart' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['unknown a WaitingForMember'],
  },
  {
    title: 'marks a recovery-none instance on a lost member Unknown',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'none' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['unknown a WaitingForMember'],
  },
  {
    title: 'keeps an instance with a local-pool volume on its lost member, Unknown',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [
      inst(
        'a',
        { recovery: 'failover', volumes: [{ name: 'ldata', path: '/data' }] },
        { member: 'm2', placementEpoch: 1, phase: 'Running' },
      ),
    ],
    want: ['unknown a NotRecoverable'],
  },
  {
    title: 'moves an instance whose volumes are all on a shared pool',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [
      inst(
        'a',
        { recovery: 'failover', volumes: [{ name: 'sdata', path: '/data' }] },
        { member: 'm2', placementEpoch: 1, phase: 'Running' },
      ),
    ],
    want: ['move a m2->m1@2 MemberLost'],
  },
  {
    title: 'says NoTarget when no other member is Ready',
    members: [member('m1', 'NotReady'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['unknown a NoTarget'],
  },
  {
    title: 'says NoTarget when the survivors have no room',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'failover', memory: '8Gi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['unknown a NoTarget'],
  },
  {
    title: 'never picks an unschedulable member',
    members: [member('m1', 'Ready', { unschedulable: true }), member('m2', 'NotReady'), member('m3')],
    instances: [inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['move a m2->m3@2 MemberLost'],
  },
  {
    title: 'spreads several moved instances by counting earlier moves',
    members: [member('m1'), member('m2', 'NotReady'), member('m3')],
    instances: [
      inst('a', { recovery: 'failover', memory: '3Gi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' }),
      inst('b', { recovery: 'failover', memory: '3Gi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' }),
    ],
    want: ['move a m2->m1@2 MemberLost', 'move b m2->m3@2 MemberLost'],
  },
  {
    title: 'places an instance its Ready member fenced anew, possibly on the same member',
    members: [member('m1')],
    instances: [inst('a', { recovery: 'failover' }, fenced('m1', 4))],
    want: ['move a m1->m1@5 Fenced'],
  },
  {
    title: 'skips instances being deleted',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [
      {
        ...inst('a', { recovery: 'failover' }, { member: 'm2', placementEpoch: 1, phase: 'Running' }),
        metadata: { name: 'a', namespace: 'default', deletionTimestamp: '2025-01-01T00:00:00Z' },
      },
    ],
    want: [],
  },
  {
    title: 'does not repeat an Unknown it already wrote',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [
      inst(
        'a',
        { recovery: 'restart' },
        {
          member: 'm2',
          placementEpoch: 1,
          phase: 'Unknown',
          message: 'member m2 lost its heartbeat; spec.recovery is restart, so the instance waits for m2 to come back',
        },
      ),
    ],
    want: [],
  },
  {
    title: 'ignores unscheduled instances',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'failover' }, { phase: 'Pending' })],
    want: [],
  },
  {
    title: 'keeps an instance pinned to its lost member Unknown as not recoverable (no other member may run it)',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [inst('a', { recovery: 'failover', placement: { member: 'm2' } }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['unknown a NotRecoverable'],
  },
  {
    title: 'moves an instance pinned to a Ready member off the lost member it ran on, to the pin',
    members: [member('m1'), member('m2', 'NotReady'), member('m3')],
    instances: [inst('a', { recovery: 'failover', placement: { member: 'm3' } }, { member: 'm2', placementEpoch: 1, phase: 'Running' })],
    want: ['move a m2->m3@2 MemberLost'],
  },
  {
    title: 'keeps an instance whose memberSelector only its lost member matches Unknown as not recoverable',
    members: [member('m1'), member('m2', 'NotReady', {}, { disk: 'ssd' })],
    instances: [
      inst(
        'a',
        { recovery: 'failover', placement: { memberSelector: { matchLabels: { disk: 'ssd' } } } },
        { member: 'm2', placementEpoch: 1, phase: 'Running' },
      ),
    ],
    want: ['unknown a NotRecoverable'],
  },
  {
    title: 'moves a spread-group instance even when every survivor already holds one of the group (spread is a preference)',
    members: [member('m1'), member('m2', 'NotReady')],
    instances: [
      inst('a', { recovery: 'failover', placement: { spreadGroup: 'web' } }, { member: 'm2', placementEpoch: 1, phase: 'Running' }),
      inst('b', { recovery: 'failover', placement: { spreadGroup: 'web' } }, { member: 'm1', placementEpoch: 1, phase: 'Running' }),
    ],
    want: ['move a m2->m1@2 MemberLost'],
  },
  {
    title: 'places a fenced instance pinned to its Ready member back on that member',
    members: [member('m1'), member('m2')],
    instances: [inst('a', { recovery: 'failover', placement: { member: 'm1' } }, fenced('m1', 2))],
    want: ['move a m1->m1@3 Fenced'],
  },
  {
    title: 'places a fenced instance with a local volume back on its own Ready member, never on another',
    members: [member('m1'), member('m2')],
    instances: [
      inst('a', { recovery: 'failover', volumes: [{ name: 'ldata', path: '/data' }] }, fenced('m2', 2)),
      inst('z', { recovery: 'failover', memory: '1Gi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' }),
    ],
    want: ['move a m2->m2@3 Fenced'],
  },
  {
    title: 'says NoTarget for a fenced local-volume instance whose own member has no room left',
    members: [member('m1'), member('m2')],
    instances: [
      inst('a', { recovery: 'failover', memory: '1Gi', volumes: [{ name: 'ldata', path: '/data' }] }, fenced('m2', 2)),
      inst('z', { recovery: 'failover', memory: '3584Mi' }, { member: 'm2', placementEpoch: 1, phase: 'Running' }),
    ],
    want: ['unknown a NoTarget'],
  },
];

const drivers = STORAGE_DRIVER_INFO;
const plan = (members: Member[], instances: Instance[]): FailoverAction[] => planFailover({ members, instances, pools, volumes, drivers });

describe('failover plan', () => {
  for (const row of rows) {
    it(row.title, () => {
      const got = plan(row.members, row.instances)
        .map(describeAction)
        .filter((s): s is string => s !== undefined);
      expect(got).to.deep.equal(row.want);
    });
  }

  it('never moves an instance off a lost member while it reports it not recoverable (one decision for both)', () => {
    for (const row of rows) {
      const actions = plan(row.members, row.instances);
      for (const move of actions.filter((a) => a.kind === 'move' && a.why === 'MemberLost')) {
        const inst = row.instances.find((i) => i.metadata.name === move.name);
        const shown = actions.find((a) => a.kind === 'recoverable' && a.name === move.name);
        const recoverable = shown?.kind === 'recoverable' ? shown.recoverable : inst?.status?.recoverable;
        expect(recoverable, `${row.title}: ${move.name}`).to.equal(true);
      }
    }
  });

  it('sets status.recoverable on every instance that shows a different value', () => {
    const actions = plan(
      [member('m1'), member('m2')],
      [
        inst('a', { recovery: 'failover' }, { member: 'm1', phase: 'Running' }),
        inst('b', { recovery: 'restart' }, { member: 'm1', phase: 'Running' }),
      ],
    );
    const rec = actions.filter((a) => a.kind === 'recoverable');
    expect(rec.map((a) => [a.name, a.kind === 'recoverable' && a.recoverable])).to.deep.equal([
      ['a', true],
      ['b', false],
    ]);
  });

  it('writes nothing for recoverability that is already true to the facts', () => {
    const members = [member('m1'), member('m2')];
    const a = inst('a', { recovery: 'failover', volumes: [{ name: 'sdata', path: '/s' }] }, { member: 'm1', phase: 'Running' });
    const input: FailoverInput = { members, instances: [a], pools, volumes, drivers };
    const r = decideRecoverability({ ...input, instance: a });
    a.status = { ...a.status, recoverable: r.recoverable, recoverableReason: r.reason };
    expect(planFailover(input)).to.deep.equal([]);
  });

  it('writes the pin as the reason a pinned failover instance is not recoverable', () => {
    const actions = plan(
      [member('m1'), member('m2')],
      [inst('a', { recovery: 'failover', placement: { member: 'm1' } }, { member: 'm1', phase: 'Running' })],
    );
    expect(actions).to.deep.equal([
      {
        namespace: 'default',
        name: 'a',
        kind: 'recoverable',
        recoverable: false,
        reason: 'pinned to member "m1" by spec.placement.member',
      },
    ]);
  });
});

describe('memberLost', () => {
  it('is true for a missing, NotReady or Left member and for an evacuating one whose heartbeat is lost', () => {
    expect(memberLost(undefined)).to.equal(true);
    expect(memberLost(member('m', 'NotReady'))).to.equal(true);
    expect(memberLost(member('m', 'Left'))).to.equal(true);
    const evac = member('m', 'Evacuating');
    evac.status!.conditions = [
      { type: 'Ready', status: 'False', reason: 'HeartbeatLost', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
    ];
    expect(memberLost(evac)).to.equal(true);
  });
  it('is false for a Ready member and a healthy evacuating one', () => {
    expect(memberLost(member('m'))).to.equal(false);
    expect(memberLost(member('m', 'Evacuating'))).to.equal(false);
  });
});
