import { expect } from 'chai';
import { realClock } from '../../../../lib/controller/clock.js';
import { EventRecorder, type CoreEvent } from '../../../../lib/controller/events.js';
import { SharedInformerFactory } from '../../../../lib/controller/shared-informer-factory.js';
import { ConflictError, HostCommandError } from '../../../../lib/errors.js';
import { EVENT_KIND, KindRegistry } from '../../../../lib/kinds/registry.js';
import type { Instance, Member, MemberStatus, StoragePool, Volume } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import { MemoryStore } from '../../../../lib/store/memory-store.js';
import { STORAGE_DRIVER_INFO, StorageDriverRegistry } from '../../../../controllers/storage/drivers/registry.js';
import type { MountOptions, PoolSpec, StorageDriverInfo } from '../../../../controllers/storage/drivers/types.js';
import { memoryMountRecords, mergeVolumes, type MountRecords, volumesToRelease } from '../../../../controllers/storage/mount-records.js';
import { VolumeMounter } from '../../../../controllers/storage/volume-mounts.js';
import { FakeDriver, waitFor } from './harness.js';
import { eventually } from '../../../helpers/poll.js';

const api = 'cloudlet.dev/v1alpha1';

/** SharedFakeDriver is a shared driver whose volumes carry one holder each, like RBD locks. */
class SharedFakeDriver extends FakeDriver {
  override readonly info: StorageDriverInfo = { ...STORAGE_DRIVER_INFO.ceph };
  holders = new Map<string, string>();
  mounted = new Set<string>();
  failUnmount: string | undefined;
  constructor(private readonly me: string) {
    super();
  }
  override async mountVolume(_p: PoolSpec, name: string, opts: MountOptions = {}): Promise<string> {
    this.calls.push(`mount ${name}`);
    const holder = this.holders.get(name);
    if (holder !== undefined && holder !== this.me) {
      if (!opts.mayBreakLockOf?.(holder))
        throw new ConflictError(`volume ${name} is already mounted read-write on member ${holder}; a second read-write mount is refused`);
      opts.onLockBroken?.({ member: holder, lock: `cloudlet:${holder}`, blocklisted: ['10.0.0.2:0/42'] });
    }
    this.holders.set(name, this.me);
    this.mounted.add(name);
    return `/shared/${name}`;
  }
  override async unmountVolume(_p: PoolSpec, name: string): Promise<void> {
    this.calls.push(`unmount ${name}`);
    if (this.failUnmount === name)
      throw new HostCommandError({ command: ['umount', name], exitCode: 32, signal: null, stderr: 'target is busy' });
    this.mounted.delete(name);
    if (this.holders.get(name) === this.me) this.holders.delete(name);
  }
}

describe('mount records (pure)', () => {
  const v = (volume: string, pool = 'shared') => ({ pool, volume });
  it('merges without forgetting or repeating a volume', () => {
    expect(mergeVolumes([v('a')], [v('b'), v('a')])).to.deep.equal([v('a'), v('b')]);
    expect(mergeVolumes([], [v('a', 'p1'), v('a', 'p2')])).to.deep.equal([v('a', 'p1'), v('a', 'p2')]);
  });
  const rows: Array<{ title: string; all: Array<[string, Array<{ pool: string; volume: string }>]>; release: string[] }> = [
    { title: 'releases every volume of a container no other container uses', all: [['c1', [v('a'), v('b')]]], release: ['a', 'b'] },
    {
      title: 'keeps a volume another container still uses',
      all: [
        ['c1', [v('a'), v('b')]],
        ['c2', [v('b')]],
      ],
      release: ['a'],
    },
    {
      title: 'tells volumes of the same name in different pools apart',
      all: [
        ['c1', [v('a', 'p1')]],
        ['c2', [v('a', 'p2')]],
      ],
      release: ['a'],
    },
    { title: 'releases nothing for a container without a record', all: [['c2', [v('a')]]], release: [] },
  ];
  for (const row of rows) {
    it(row.title, () => {
      expect(volumesToRelease('c1', new Map(row.all)).map((x) => x.volume)).to.deep.equal(row.release);
    });
  }
});

describe('VolumeMounter (fake shared driver, memory store)', () => {
  const kinds = KindRegistry.load();
  const k = { pool: kinds.resolve('storagepools'), volume: kinds.resolve('volumes'), member: kinds.resolve('members') };
  let store: MemoryStore;
  let informers: SharedInformerFactory;
  let driver: SharedFakeDriver;
  let local: FakeDriver;
  let records: MountRecords;
  let mounter: VolumeMounter;

  async function member(name: string, status: MemberStatus): Promise<void> {
    const m = await store.create<Member>(k.member, { apiVersion: api, kind: 'Member', metadata: { name }, spec: {} });
    await store.update<Member>(k.member, { ...m, status }, { subresource: 'status' });
  }
  async function volume(name: string, pool: string): Promise<void> {
    const v = await store.create<Volume>(k.volume, {
      apiVersion: api,
      kind: 'Volume',
      metadata: { name, namespace: 'default' },
      spec: { pool, size: '16Mi' },
    });
    await store.update<Volume>(k.volume, { ...v, status: { phase: 'Ready', member: 'a' } }, { subresource: 'status' });
  }
  function inst(name: string, volumes: string[]): Instance {
    return {
      apiVersion: api,
      kind: 'Instance',
      metadata: { name, namespace: 'default' },
      spec: { image: 'busybox', volumes: volumes.map((v) => ({ name: v, path: `/${v}` })) },
    };
  }

  beforeEach(async () => {
    store = new MemoryStore();
    const logger = silentLogger();
    const metrics = createMetrics();
    informers = new SharedInformerFactory({ store, logger, resyncPeriodMs: 0 });
    driver = new SharedFakeDriver('a');
    local = new FakeDriver();
    records = memoryMountRecords();
    mounter = new VolumeMounter({
      volumes: informers.forKind<Volume>(k.volume),
      pools: informers.forKind<StoragePool>(k.pool),
      members: informers.forKind<Member>(k.member),
      drivers: new StorageDriverRegistry({ dataDir: '/nonexistent' }, { ceph: () => driver, btrfs: () => local }),
      memberName: 'a',
      records,
      events: new EventRecorder({ store, logger, metrics, component: 'storage-agent', host: 'a', clock: realClock }),
    });
    await member('a', { phase: 'Ready' });
    await member('b', { phase: 'Ready' });
    await store.create<StoragePool>(k.pool, {
      apiVersion: api,
      kind: 'StoragePool',
      metadata: { name: 'shared' },
      spec: { driver: 'ceph' },
    });
    await store.create<StoragePool>(k.pool, {
      apiVersion: api,
      kind: 'StoragePool',
      metadata: { name: 'local' },
      spec: { driver: 'btrfs' },
    });
    for (const [v, p] of [
      ['data', 'shared'],
      ['logs', 'shared'],
      ['scratch', 'local'],
    ] as const)
      await volume(v, p);
    informers.start();
    await informers.waitForSync();
    const vols = informers.forKind<Volume>(k.volume);
    await waitFor(() => vols.list().filter((v) => v.status?.phase === 'Ready').length === 3, 'volumes in the cache');
  });
  afterEach(async () => {
    await informers.stop();
  });

  it('records the shared volumes a container mounts and unmounts them when it is released', async () => {
    const mounts = await mounter.mountsFor(inst('web', ['data', 'scratch']), 'c-web');
    expect(mounts.map((m) => m.source)).to.deep.equal(['/shared/default_data', '/fake/default_scratch']);
    expect(await records.read('c-web')).to.deep.equal([{ pool: 'shared', volume: 'default_data' }]);
    expect(await mounter.users()).to.deep.equal(['c-web']);
    await mounter.release('c-web');
    expect(driver.calls).to.include('unmount default_data');
    expect(driver.mounted.size).to.equal(0);
    expect(await mounter.users()).to.deep.equal([]);
  });

  it('keeps a volume mounted while another local container uses it', async () => {
    await mounter.mountsFor(inst('web', ['data', 'logs']), 'c-web');
    await mounter.mountsFor(inst('job', ['data']), 'c-job');
    await mounter.release('c-web');
    expect([...driver.mounted]).to.deep.equal(['default_data']);
    await mounter.release('c-job');
    expect(driver.mounted.size).to.equal(0);
  });

  it('does nothing for a container that mounted no shared volume', async () => {
    await mounter.mountsFor(inst('web', ['scratch']), 'c-web');
    await mounter.release('c-web');
    await mounter.release('c-never');
    expect(driver.calls.filter((c) => c.startsWith('unmount'))).to.deep.equal([]);
  });

  it('keeps a volume that failed to unmount recorded, so a later release tries again', async () => {
    await mounter.mountsFor(inst('web', ['data', 'logs']), 'c-web');
    driver.failUnmount = 'default_data';
    const err = await mounter.release('c-web').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/target is busy/);
    expect(await records.read('c-web')).to.deep.equal([{ pool: 'shared', volume: 'default_data' }]);
    expect(driver.mounted.has('default_logs')).to.equal(false);
    driver.failUnmount = undefined;
    await mounter.release('c-web');
    expect(driver.mounted.size).to.equal(0);
    expect(await mounter.users()).to.deep.equal([]);
  });

  it('refuses a volume mounted by a Ready member with Conflict, and still records it for release', async () => {
    driver.holders.set('default_data', 'b');
    const err = await mounter.mountsFor(inst('web', ['data']), 'c-web').then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).to.equal('Conflict');
    expect(driver.holders.get('default_data')).to.equal('b');
    expect(await mounter.users()).to.deep.equal(['c-web']);
  });

  it('takes over a volume from a NotReady member and says so in a Warning Event on the Volume', async () => {
    const b = await store.get<Member>(k.member, 'b');
    await store.update<Member>(k.member, { ...b, status: { phase: 'NotReady' } }, { subresource: 'status' });
    const members = informers.forKind<Member>(k.member);
    await waitFor(() => members.get({ name: 'b' })?.status?.phase === 'NotReady', 'member b NotReady in the cache');
    driver.holders.set('default_data', 'b');
    await mounter.mountsFor(inst('web', ['data']), 'c-web');
    expect(driver.holders.get('default_data')).to.equal('a');
    let events: CoreEvent[] = [];
    await eventually(
      'a VolumeLockBroken event',
      async () => (events = (await store.list<CoreEvent>(EVENT_KIND)).items.filter((e) => e.reason === 'VolumeLockBroken')).length > 0,
      {
        timeoutMs: 1_000,
        everyMs: 10,
      },
    ).catch(() => undefined);
    expect(events).to.have.length(1);
    expect(events[0]?.type).to.equal('Warning');
    expect(events[0]?.involvedObject.name).to.equal('data');
    expect(events[0]?.message).to.match(/broke the lock cloudlet:b of member b .*member b is NotReady.*10\.0\.0\.2:0\/42 are blocklisted/);
  });

  it('takes over a volume from a member that no longer exists', async () => {
    driver.holders.set('default_data', 'gone');
    await mounter.mountsFor(inst('web', ['data']), 'c-web');
    expect(driver.holders.get('default_data')).to.equal('a');
  });
});
