import { expect } from 'chai';
import { poolPhase, selectedMembers, toPoolSpec, withEntry } from '../../../../controllers/storage/pool-plan.js';
import { decideHolder, parseSnapshotSource, snapshotPlan, volumeUsers } from '../../../../controllers/storage/volume-plan.js';
import type { Instance, StoragePool, Volume } from '../../../../lib/kinds/types.js';

const pool = (spec: StoragePool['spec']): StoragePool => ({
  apiVersion: 'cloudlet.dev/v1alpha1',
  kind: 'StoragePool',
  metadata: { name: 'p' },
  spec,
});

describe('storage pool plans', () => {
  const cases: Array<[string, Parameters<typeof poolPhase>[0], string]> = [
    [
      'Ready when every selected member is ready',
      {
        selected: ['a', 'b'],
        entries: [
          { name: 'a', ready: true },
          { name: 'b', ready: true },
        ],
      },
      'Ready',
    ],
    [
      'Degraded when only some are ready',
      {
        selected: ['a', 'b'],
        entries: [
          { name: 'a', ready: true },
          { name: 'b', ready: false, message: 'x' },
        ],
      },
      'Degraded',
    ],
    ['Degraded when a selected member has not reported', { selected: ['a', 'b'], entries: [{ name: 'a', ready: true }] }, 'Degraded'],
    ['NotReady when no member is ready', { selected: ['a'], entries: [{ name: 'a', ready: false, message: 'boom' }] }, 'NotReady'],
    ['Pending when nobody has reported', { selected: ['a'], entries: [] }, 'Pending'],
    ['Deleting while being deleted', { selected: ['a'], entries: [{ name: 'a', ready: true }], deleting: true }, 'Deleting'],
    [
      'Ready ignoring entries of members no longer selected',
      {
        selected: ['a'],
        entries: [
          { name: 'a', ready: true },
          { name: 'z', ready: false },
        ],
      },
      'Ready',
    ],
  ];
  for (const [name, input, want] of cases) it(`is ${name}`, () => expect(poolPhase(input).phase).to.equal(want));

  it('carries the failing member and reason into the NotReady message', () => {
    expect(
      poolPhase({ selected: ['a'], entries: [{ name: 'a', ready: false, message: 'source path /x does not exist' }] }).message,
    ).to.equal('a: source path /x does not exist');
  });

  it('selects spec.members, or every known member when empty', () => {
    expect(selectedMembers(pool({ driver: 'dir', members: ['b'] }), ['a', 'b'])).to.deep.equal(['b']);
    expect(selectedMembers(pool({ driver: 'dir' }), ['b', 'a'])).to.deep.equal(['a', 'b']);
  });

  it('replaces a member entry in place and keeps entries sorted', () => {
    expect(
      withEntry(
        [
          { name: 'b', ready: false },
          { name: 'a', ready: true },
        ],
        { name: 'b', ready: true },
      ),
    ).to.deep.equal([
      { name: 'a', ready: true },
      { name: 'b', ready: true },
    ]);
  });

  it('turns a pool into a driver spec and rejects a relative source and a bad size', () => {
    expect(toPoolSpec(pool({ driver: 'btrfs', size: '1Gi' }))).to.deep.equal({ name: 'p', sizeBytes: 2 ** 30, config: {} });
    expect(() => toPoolSpec(pool({ driver: 'dir', source: 'rel/path' }))).to.throw(/absolute/);
    expect(() => toPoolSpec(pool({ driver: 'btrfs', size: 'lots' }))).to.throw(/quantity/);
  });
});

describe('storage volume plans', () => {
  it('splits VOLUME@SNAPSHOT and rejects anything else', () => {
    expect(parseSnapshotSource('data@monday')).to.deep.equal({ volume: 'data', snapshot: 'monday' });
    expect(() => parseSnapshotSource('data')).to.throw(/VOLUME@SNAPSHOT/);
    expect(() => parseSnapshotSource('a@b@c')).to.throw(/VOLUME@SNAPSHOT/);
  });

  it('creates missing snapshots and deletes unwanted ones', () => {
    expect(snapshotPlan(['b', 'c'], ['a', 'b'])).to.deep.equal({ create: ['c'], delete: ['a'] });
    expect(snapshotPlan(undefined, ['a'])).to.deep.equal({ create: [], delete: ['a'] });
  });

  it('finds the instances of the same namespace that name the volume', () => {
    const vol: Volume = {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Volume',
      metadata: { name: 'data', namespace: 'default' },
      spec: { pool: 'p', size: '1Gi' },
    };
    const inst = (name: string, ns: string, vols: string[]): Instance => ({
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name, namespace: ns },
      spec: { image: 'busybox', volumes: vols.map((v) => ({ name: v, path: `/${v}` })) },
    });
    expect(
      volumeUsers(vol, [inst('web', 'default', ['data']), inst('x', 'other', ['data']), inst('y', 'default', ['logs'])]),
    ).to.deep.equal(['web']);
  });

  const holders: Array<[string, Parameters<typeof decideHolder>[0], string]> = [
    ['keeps its own volume', { me: 'a', holder: 'a', userMembers: [], poolName: 'p', poolExists: true, poolReadyHere: true }, 'mine'],
    [
      'leaves another member’s volume alone',
      { me: 'a', holder: 'b', userMembers: [], poolName: 'p', poolExists: true, poolReadyHere: true },
      'wait',
    ],
    [
      'claims a free volume where the pool is ready',
      { me: 'a', userMembers: [], poolName: 'p', poolExists: true, poolReadyHere: true },
      'claim',
    ],
    [
      'does not claim where the pool is not ready',
      { me: 'a', userMembers: [], poolName: 'p', poolExists: true, poolReadyHere: false },
      'wait',
    ],
    [
      'lets the member running its instance claim it',
      { me: 'a', userMembers: ['b'], poolName: 'p', poolExists: true, poolReadyHere: true },
      'wait',
    ],
    [
      'claims it when its instance runs here',
      { me: 'a', userMembers: ['a'], poolName: 'p', poolExists: true, poolReadyHere: true },
      'claim',
    ],
    [
      'does not claim a volume whose pool does not exist',
      { me: 'a', userMembers: ['a'], poolName: 'p', poolExists: false, poolReadyHere: false },
      'wait',
    ],
    [
      'keeps a held volume whose pool is gone (deletion still runs on its holder)',
      { me: 'a', holder: 'a', userMembers: [], poolName: 'p', poolExists: false, poolReadyHere: false },
      'mine',
    ],
  ];
  for (const [name, input, want] of holders) it(`${name}`, () => expect(decideHolder(input).action).to.equal(want));
  it('names the missing pool when a volume waits for one', () => {
    const d = decideHolder({ me: 'a', userMembers: [], poolName: 'fast', poolExists: false, poolReadyHere: false });
    expect(d).to.deep.equal({ action: 'wait', reason: 'StoragePool "fast" does not exist', missingPool: 'fast' });
  });
});
