import { expect } from 'chai';
import { schedule, loadOf, requestsOf, formatCpu, type ScheduleInput } from '../../../../controllers/instances/scheduler.js';
import type { Instance, Member, MemberPhase, InstanceSpec } from '../../../../lib/kinds/types.js';

function member(
  name: string,
  opts: {
    phase?: MemberPhase;
    cpu?: number;
    memory?: string;
    labels?: Record<string, string>;
    unschedulable?: boolean;
    deleting?: boolean;
  } = {},
): Member {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name, labels: opts.labels, ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { unschedulable: opts.unschedulable ?? false },
    status: { phase: opts.phase ?? 'Ready', capacity: { cpu: opts.cpu ?? 4, memory: opts.memory ?? '8Gi' } },
  };
}

function inst(name: string, spec: Partial<InstanceSpec> = {}, onMember?: string, namespace = 'default'): Instance {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace },
    spec: { image: 'busybox', ...spec },
    status: onMember ? { member: onMember } : {},
  };
}

interface Row {
  title: string;
  input: ScheduleInput;
  member: string | undefined;
  code: string;
  reason?: RegExp;
}

const rows: Row[] = [
  {
    title: 'places an instance on the only Ready member',
    input: { instance: inst('a'), members: [member('m1')], instances: [] },
    member: 'm1',
    code: 'Scheduled',
    reason: /placed on member "m1"/,
  },
  {
    title: 'picks the member with the lowest allocated memory fraction',
    input: {
      instance: inst('a', { memory: '1Gi' }),
      members: [member('m1'), member('m2')],
      instances: [inst('x', { memory: '4Gi' }, 'm1')],
    },
    member: 'm2',
    code: 'Scheduled',
  },
  {
    title: 'breaks a memory tie by cpu fraction',
    input: {
      instance: inst('a'),
      members: [member('m1'), member('m2')],
      instances: [inst('x', { cpu: 3, memory: '1Gi' }, 'm1'), inst('y', { cpu: 1, memory: '1Gi' }, 'm2')],
    },
    member: 'm2',
    code: 'Scheduled',
  },
  {
    title: 'breaks a full tie by name so the choice is deterministic',
    input: { instance: inst('a'), members: [member('m2'), member('m1'), member('m3')], instances: [] },
    member: 'm1',
    code: 'Scheduled',
  },
  {
    title: 'honours placement.member',
    input: { instance: inst('a', { placement: { member: 'm3' } }), members: [member('m1'), member('m2'), member('m3')], instances: [] },
    member: 'm3',
    code: 'Scheduled',
  },
  {
    title: 'stays Pending when placement.member does not exist',
    input: { instance: inst('a', { placement: { member: 'm9' } }), members: [member('m1')], instances: [] },
    member: undefined,
    code: 'MemberNotFound',
    reason: /^member "m9" does not exist$/,
  },
  {
    title: 'stays Pending when placement.member is NotReady',
    input: {
      instance: inst('a', { placement: { member: 'm2' } }),
      members: [member('m1'), member('m2', { phase: 'NotReady' })],
      instances: [],
    },
    member: undefined,
    code: 'MemberUnavailable',
    reason: /^member "m2" is NotReady$/,
  },
  {
    title: 'skips NotReady, unschedulable and deleting members',
    input: {
      instance: inst('a'),
      members: [
        member('m1', { phase: 'NotReady' }),
        member('m2', { unschedulable: true }),
        member('m3', { deleting: true }),
        member('m4', { memory: '1Gi' }),
      ],
      instances: [],
    },
    member: 'm4',
    code: 'Scheduled',
  },
  {
    title: 'explains every member when none is Ready and schedulable',
    input: { instance: inst('a'), members: [member('m1', { phase: 'NotReady' }), member('m2', { unschedulable: true })], instances: [] },
    member: undefined,
    code: 'NoReadyMember',
    reason: /^no member is Ready and schedulable \(m1 is NotReady, m2 is unschedulable\)$/,
  },
  {
    title: 'stays Pending when there are no members at all',
    input: { instance: inst('a'), members: [], instances: [] },
    member: undefined,
    code: 'NoReadyMember',
    reason: /no member/,
  },
  {
    title: 'keeps members whose labels match matchLabels',
    input: {
      instance: inst('a', { placement: { memberSelector: { matchLabels: { zone: 'b' } } } }),
      members: [member('m1', { labels: { zone: 'a' } }), member('m2', { labels: { zone: 'b' } })],
      instances: [],
    },
    member: 'm2',
    code: 'Scheduled',
  },
  {
    title: 'applies matchExpressions (NotIn and Exists)',
    input: {
      instance: inst('a', {
        placement: {
          memberSelector: {
            matchExpressions: [
              { key: 'zone', operator: 'NotIn', values: ['a'] },
              { key: 'ssd', operator: 'Exists' },
            ],
          },
        },
      }),
      members: [
        member('m1', { labels: { zone: 'a', ssd: 'y' } }),
        member('m2', { labels: { zone: 'b' } }),
        member('m3', { labels: { zone: 'c', ssd: 'y' } }),
      ],
      instances: [],
    },
    member: 'm3',
    code: 'Scheduled',
  },
  {
    title: 'stays Pending when no member matches the memberSelector',
    input: {
      instance: inst('a', { placement: { memberSelector: { matchLabels: { gpu: 'yes' } } } }),
      members: [member('m1')],
      instances: [],
    },
    member: undefined,
    code: 'NoMatchingMember',
    reason: /^no member matches the memberSelector$/,
  },
  {
    title: 'says how much memory the roomiest member has when none has enough',
    input: {
      instance: inst('a', { memory: '8Gi' }),
      members: [member('m1', { memory: '4Gi' }), member('m2', { memory: '2Gi' })],
      instances: [inst('x', { memory: '832Mi' }, 'm1')],
    },
    member: undefined,
    code: 'InsufficientResources',
    reason: /^no member has 8Gi of memory free \(largest free: m1 with 3\.2Gi\)$/,
  },
  {
    title: 'says which cpu is missing when memory would fit',
    input: {
      instance: inst('a', { cpu: 16, memory: '1Gi' }),
      members: [member('m1', { cpu: 2 })],
      instances: [inst('x', { cpu: 0.5 }, 'm1')],
    },
    member: undefined,
    code: 'InsufficientResources',
    reason: /^no member has 16 CPUs free \(largest free: m1 with 15\.5\)$/,
  },
  {
    title: 'overcommits cpu limits up to 8 times the cores, but not memory',
    input: {
      instance: inst('a', { cpu: 4, memory: '1Gi' }),
      members: [member('m1', { cpu: 2 })],
      instances: [inst('x', { cpu: 8 }, 'm1'), inst('y', { cpu: 3.5 }, 'm1')],
    },
    member: 'm1',
    code: 'Scheduled',
    reason: /placed on member "m1"/,
  },
  {
    title: 'does not count the instance itself against its member',
    input: { instance: inst('a', { memory: '6Gi' }), members: [member('m1')], instances: [inst('a', { memory: '6Gi' }, 'm1')] },
    member: 'm1',
    code: 'Scheduled',
  },
  {
    title: 'spreads a group over members with fewer of its instances, even if more loaded',
    input: {
      instance: inst('w3', { placement: { spreadGroup: 'web' } }),
      members: [member('m1'), member('m2')],
      instances: [inst('w1', { placement: { spreadGroup: 'web' } }, 'm1'), inst('big', { memory: '6Gi' }, 'm2')],
    },
    member: 'm2',
    code: 'Scheduled',
    reason: /spread group "web" \(0\)/,
  },
  {
    title: 'still places a spread group member when every member already has one',
    input: {
      instance: inst('w3', { placement: { spreadGroup: 'web' } }),
      members: [member('m1'), member('m2')],
      instances: [
        inst('w1', { placement: { spreadGroup: 'web' } }, 'm1'),
        inst('w2', { placement: { spreadGroup: 'web' } }, 'm2'),
        inst('w4', { placement: { spreadGroup: 'web' } }, 'm2'),
      ],
    },
    member: 'm1',
    code: 'Scheduled',
  },
  {
    title: 'counts spread groups per namespace',
    input: {
      instance: inst('w2', { placement: { spreadGroup: 'web' } }, undefined, 'team-a'),
      members: [member('m1'), member('m2')],
      instances: [inst('w1', { placement: { spreadGroup: 'web' } }, 'm1', 'team-b'), inst('filler', { memory: '1Gi' }, 'm1', 'team-b')],
    },
    member: 'm2',
    code: 'Scheduled',
  },
  {
    title: 'says the pinned member lacks memory',
    input: {
      instance: inst('a', { memory: '2Gi', placement: { member: 'm1' } }),
      members: [member('m1', { memory: '1Gi' }), member('m2')],
      instances: [],
    },
    member: undefined,
    code: 'InsufficientResources',
    reason: /^member "m1" does not have 2Gi of memory free \(1Gi free\)$/,
  },
  {
    title: 'treats an unreported capacity as unlimited',
    input: {
      instance: inst('a', { memory: '64Gi', cpu: 32 }),
      members: [{ apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', metadata: { name: 'm1' }, spec: {}, status: { phase: 'Ready' } }],
      instances: [],
    },
    member: 'm1',
    code: 'Scheduled',
  },
];

describe('scheduler', () => {
  for (const row of rows) {
    it(row.title, () => {
      const got = schedule(row.input);
      expect(got.member, got.reason).to.equal(row.member);
      expect(got.code).to.equal(row.code);
      if (row.reason) expect(got.reason).to.match(row.reason);
    });
  }

  it('fills in the CRD defaults for requests', () => {
    expect(requestsOf(inst('a'))).to.deep.equal({ cpu: 1, memoryBytes: 256 * 2 ** 20 });
  });

  it('sums the requests of the instances on a member', () => {
    const load = loadOf(member('m1'), [inst('x', { cpu: 2, memory: '1Gi' }, 'm1'), inst('y', {}, 'm2')]);
    expect(load.used).to.deep.equal({ cpu: 2, memoryBytes: 2 ** 30 });
    expect(load.free.memoryBytes).to.equal(7 * 2 ** 30);
  });

  it('formats cpu counts as words', () => {
    expect(formatCpu(1)).to.equal('1 CPU');
    expect(formatCpu(0.5)).to.equal('0.5 CPU');
    expect(formatCpu(4)).to.equal('4 CPUs');
  });
});
