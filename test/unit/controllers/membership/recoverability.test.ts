import { expect } from 'chai';
import {
  decideRecoverability,
  type RecoverabilityInput,
  type StorageDriverCapabilities,
} from '../../../../controllers/membership/recoverability.js';
import { STORAGE_DRIVER_INFO } from '../../../../controllers/storage/drivers/registry.js';
import type {
  Instance,
  InstanceSpec,
  InstanceStatus,
  Member,
  MemberPhase,
  StoragePool,
  StoragePoolSpec,
  Volume,
} from '../../../../lib/kinds/types.js';

function member(name: string, opts: { phase?: MemberPhase; labels?: Record<string, string> } = {}): Member {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Member',
    metadata: { name, labels: opts.labels },
    spec: {},
    status: { phase: opts.phase ?? 'Ready' },
  };
}

function inst(name: string, spec: Partial<InstanceSpec>, status: InstanceStatus = { member: 'm1' }): Instance {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default' },
    spec: { image: 'busybox', ...spec },
    status,
  };
}

function pool(name: string, driver: string): StoragePool {
  // spec.driver is a closed union in the types; a test driver name proves the decision reads capabilities, not names
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'StoragePool',
    metadata: { name },
    spec: { driver: driver as StoragePoolSpec['driver'] },
  };
}

function volume(name: string, poolName: string): Volume {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Volume',
    metadata: { name, namespace: 'default' },
    spec: { pool: poolName, size: '1Gi' },
  };
}

const pools = [pool('local', 'btrfs'), pool('files', 'dir'), pool('ceph', 'ceph'), pool('san', 'san'), pool('odd', 'nosuch')];
const volumes = [
  volume('ldata', 'local'),
  volume('fdata', 'files'),
  volume('sdata', 'ceph'),
  volume('sandata', 'san'),
  volume('orphan', 'missing'),
  volume('odata', 'odd'),
];
/** drivers: the real capability objects plus a test driver "san" that reports shared */
const drivers: StorageDriverCapabilities = { ...STORAGE_DRIVER_INFO, san: { shared: true } };
const two = [member('m1'), member('m2')];
const three = [member('m1'), member('m2'), member('m3')];
const web = (name: string, on: string): Instance => inst(name, { recovery: 'failover', placement: { spreadGroup: 'web' } }, { member: on });

interface Row {
  title: string;
  instance: Instance;
  members?: Member[];
  instances?: Instance[];
  drivers?: StorageDriverCapabilities;
  recoverable: boolean;
  /** reason: fragments the reason must contain (exact text, not patterns) */
  reason: string[];
  /** notReason: fragments it must not contain */
  notReason?: string[];
}

const rows: Row[] = [
  // recovery policy
  {
    title: 'refuses recovery: restart, which restarts on the same member',
    instance: inst('a', { recovery: 'restart' }),
    recoverable: false,
    reason: ['spec.recovery is restart', 'restarted on the same member'],
  },
  {
    title: 'refuses recovery: none, which leaves the instance stopped',
    instance: inst('a', { recovery: 'none' }),
    recoverable: false,
    reason: ['spec.recovery is none', 'left stopped'],
  },
  {
    title: 'treats a missing spec.recovery as the default restart',
    instance: inst('a', {}),
    recoverable: false,
    reason: ['spec.recovery is restart'],
  },
  // storage
  {
    title: 'accepts an image-only failover instance',
    instance: inst('a', { recovery: 'failover' }),
    recoverable: true,
    reason: ['it mounts no volumes', 'made anew from its image'],
  },
  {
    title: 'names a volume on a local btrfs pool',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'ldata', path: '/d' }] }),
    recoverable: false,
    reason: ['volume "ldata" is on local pool "local" (driver btrfs)'],
  },
  {
    title: 'names a volume on a local dir pool',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'fdata', path: '/d' }] }),
    recoverable: false,
    reason: ['volume "fdata" is on local pool "files" (driver dir)'],
  },
  {
    title: 'accepts a volume on the ceph pool, whose driver reports shared',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'sdata', path: '/d' }] }),
    recoverable: true,
    reason: ['every volume it mounts is on a shared pool ("sdata")'],
  },
  {
    title: 'accepts a volume on any driver that reports shared, whatever its name',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'sandata', path: '/d' }] }),
    recoverable: true,
    reason: ['shared pool ("sandata")'],
  },
  {
    title: 'follows the capability, not the name: a "ceph" driver that reports local blocks',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'sdata', path: '/d' }] }),
    drivers: { ...STORAGE_DRIVER_INFO, ceph: { shared: false } },
    recoverable: false,
    reason: ['volume "sdata" is on local pool "ceph" (driver ceph)'],
  },
  {
    title: 'names only the local volume among shared and local ones',
    instance: inst('a', {
      recovery: 'failover',
      volumes: [
        { name: 'sdata', path: '/s' },
        { name: 'ldata', path: '/l' },
      ],
    }),
    recoverable: false,
    reason: ['volume "ldata" is on local pool "local"'],
    notReason: ['sdata'],
  },
  {
    title: 'names a volume that does not exist',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'nope', path: '/d' }] }),
    recoverable: false,
    reason: ['volume "nope" does not exist'],
  },
  {
    title: 'names a volume whose pool does not exist',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'orphan', path: '/d' }] }),
    recoverable: false,
    reason: ['volume "orphan" is on pool "missing", which does not exist'],
  },
  {
    title: 'names a pool whose driver has no known capabilities',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'odata', path: '/d' }] }),
    recoverable: false,
    reason: ['pool "odd", whose driver "nosuch" is unknown'],
  },
  {
    title: 'never blocks on the rootfs pool: the root filesystem is made anew from the image',
    instance: inst('a', { recovery: 'failover', rootfs: { pool: 'local' } }),
    recoverable: true,
    reason: ['its root filesystem (pool "local") is made anew from its image there'],
  },
  // placement: pin
  {
    title: 'refuses an instance pinned to its own member',
    instance: inst('a', { recovery: 'failover', placement: { member: 'm1' } }),
    recoverable: false,
    reason: ['pinned to member "m1" by spec.placement.member'],
  },
  {
    title: 'refuses a pinned instance that is not scheduled yet',
    instance: inst('a', { recovery: 'failover', placement: { member: 'm2' } }, {}),
    recoverable: false,
    reason: ['pinned to member "m2" by spec.placement.member'],
  },
  {
    title: 'accepts an instance pinned to another member than the one it runs on (failover goes to the pin)',
    instance: inst('a', { recovery: 'failover', placement: { member: 'm2' } }),
    recoverable: true,
    reason: ['another member matches its placement'],
  },
  // placement: selector
  {
    title: 'refuses a selector that only its own member matches',
    instance: inst('a', { recovery: 'failover', placement: { memberSelector: { matchLabels: { disk: 'ssd' } } } }),
    members: [member('m1', { labels: { disk: 'ssd' } }), member('m2'), member('m3', { labels: { disk: 'hdd' } })],
    recoverable: false,
    reason: ['no member other than "m1" matches spec.placement.memberSelector'],
  },
  {
    title: 'accepts a selector that another member matches',
    instance: inst('a', { recovery: 'failover', placement: { memberSelector: { matchLabels: { disk: 'ssd' } } } }),
    members: [member('m1', { labels: { disk: 'ssd' } }), member('m2', { labels: { disk: 'ssd' } })],
    recoverable: true,
    reason: ['another member matches its placement'],
  },
  {
    title: 'refuses an unscheduled instance whose selector matches one member',
    instance: inst(
      'a',
      { recovery: 'failover', placement: { memberSelector: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } } },
      {},
    ),
    members: [member('m1', { labels: { disk: 'ssd' } }), member('m2')],
    recoverable: false,
    reason: ['fewer than two members match spec.placement.memberSelector'],
  },
  // placement: spread (a preference in the scheduler, never a limit)
  {
    title: 'accepts a spread group at capacity and says it would share a member',
    instance: web('a', 'm1'),
    members: three,
    instances: [web('a', 'm1'), web('b', 'm2'), web('c', 'm3')],
    recoverable: true,
    reason: ['spread group "web" already has an instance on every other such member'],
  },
  {
    title: 'says nothing of a spread group with a free member',
    instance: web('a', 'm1'),
    members: three,
    instances: [web('a', 'm1'), web('b', 'm2')],
    recoverable: true,
    reason: ['another member matches its placement'],
    notReason: ['spread group'],
  },
  // members
  {
    title: 'refuses an instance in a one-member cluster',
    instance: inst('a', { recovery: 'failover' }),
    members: [member('m1')],
    recoverable: false,
    reason: ['no member other than "m1" is in the cluster'],
  },
  {
    title: 'refuses an unscheduled instance in a one-member cluster',
    instance: inst('a', { recovery: 'failover' }, {}),
    members: [member('m1')],
    recoverable: false,
    reason: ['the cluster has fewer than two members'],
  },
  {
    title: 'does not count a member that Left',
    instance: inst('a', { recovery: 'failover' }),
    members: [member('m1'), member('m2', { phase: 'Left' })],
    recoverable: false,
    reason: ['no member other than "m1" is in the cluster'],
  },
  {
    title: 'counts a NotReady member: health changes, and a failure then reports NoTarget',
    instance: inst('a', { recovery: 'failover' }),
    members: [member('m1'), member('m2', { phase: 'NotReady' })],
    recoverable: true,
    reason: ['another member can run it'],
  },
  // several constraints
  {
    title: 'names every blocking constraint: a local volume and a pin',
    instance: inst('a', { recovery: 'failover', volumes: [{ name: 'ldata', path: '/d' }], placement: { member: 'm1' } }),
    recoverable: false,
    reason: ['volume "ldata" is on local pool "local" (driver btrfs)', 'pinned to member "m1" by spec.placement.member'],
  },
];

describe('decideRecoverability', () => {
  for (const row of rows) {
    it(row.title, () => {
      const input: RecoverabilityInput = {
        instance: row.instance,
        members: row.members ?? two,
        instances: row.instances ?? [row.instance],
        pools,
        volumes,
        drivers: row.drivers ?? drivers,
      };
      const got = decideRecoverability(input);
      expect(got.recoverable, got.reason).to.equal(row.recoverable);
      for (const part of row.reason) expect(got.reason).to.include(part);
      for (const part of row.notReason ?? []) expect(got.reason).to.not.include(part);
    });
  }
});
