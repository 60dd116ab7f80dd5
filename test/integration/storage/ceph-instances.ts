/**
 * An instance's ceph volume follows the instance between two members, end to
 * end: a real etcd, two "members" on this machine (each its own data dir,
 * lxcpath, informers, storage agent with a CephDriver in its member name and
 * instance agent with real LXC busybox containers), and the throwaway Ceph
 * of ceph.test.ts (this suite runs inside it, so the cluster starts once).
 *
 * The instance writes into its volume on member A; a second instance naming
 * the volume on B is refused with a Conflict while A holds it; the instance
 * moves to B (A deletes its copy, which releases the volume) and reads the
 * data back intact; Stopped gives the volume back and a start mounts it
 * again; then B "dies" with the volume mounted, and A takes it over only once
 * B is NotReady — B's rbd-fuse is blocklisted as its lock is broken, so a
 * block B writes (and fsyncs) through its stale rbd-fuse afterwards never
 * reaches the image, and B, back, cleans its stale mount up without hanging.
 */
import { expect } from 'chai';
import { chmod, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../../lib/controller/clock.js';
import { type CoreEvent, EventRecorder } from '../../../lib/controller/events.js';
import { SharedInformerFactory } from '../../../lib/controller/shared-informer-factory.js';
import { run } from '../../../lib/host/exec.js';
import { EVENT_KIND, KindRegistry } from '../../../lib/kinds/registry.js';
import type { Instance, InstanceSpec, Member, StoragePool, Volume } from '../../../lib/kinds/types.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMetrics } from '../../../lib/metrics/metrics.js';
import { EtcdStore } from '../../../lib/store/etcd-store.js';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import { CopyRootfsProvider } from '../../../controllers/instances/images/rootfs.js';
import { InstanceAgent } from '../../../controllers/instances/instance-agent.js';
import { LxcRuntime } from '../../../controllers/instances/runtimes/lxc.js';
import { CephDriver } from '../../../controllers/storage/drivers/ceph.js';
import type { PoolSpec } from '../../../controllers/storage/drivers/types.js';
import { StorageAgent } from '../../../controllers/storage/storage-agent.js';
import { startTestEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { capture, preflight } from '../lxc/helpers.js';
import { type CephCluster, poolConfig } from './ceph-cluster.js';
import { forceCleanup, loopsUnder, mountsUnder, rbdFusePidsUnder } from './helpers.js';
import { eventually as poll } from '../../helpers/poll.js';
const eventually = <T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> =>
  poll(what, fn, { timeoutMs: ms, everyMs: 250 }) as Promise<T>;

const api = 'cloudlet.dev/v1alpha1';
const POOL = 'ceph-move';
const IMAGE = 'default_moved';
/** STALE_MARKER is what cut-off member B writes into the last 4 KiB of the 64 MiB image (outside what ext4 uses there). */
const STALE_MARKER = 'STALE-WRITE-FROM-CUT-OFF-MEMBER-B';
const MARKER_OFFSET = 64 * 2 ** 20 - 4096;

/** MemberHost is one member's agents over the shared store. */
interface MemberHost {
  name: string;
  dataDir: string;
  runtime: LxcRuntime;
  stop(): Promise<void>;
}

/** describeInstancesOnCeph adds the suite; `cluster` gives the running cluster (set in the caller's before hook). */
export function describeInstancesOnCeph(cluster: () => CephCluster): void {
  describe('an instance and its ceph volume moving between two members (real etcd, real LXC)', function () {
    this.timeout(5 * 60_000);
    const kinds = KindRegistry.load();
    const k = {
      pool: kinds.resolve('storagepools'),
      vol: kinds.resolve('volumes'),
      inst: kinds.resolve('instances'),
      member: kinds.resolve('members'),
    };
    const logger = silentLogger();
    const metrics = createMetrics();
    let etcd: TestEtcd | undefined;
    let store: EtcdStore;
    const dirs: Record<'a' | 'b' | 'check', string> = { a: '', b: '', check: '' };
    const hosts: Partial<Record<'a' | 'b', MemberHost>> = {};
    const runtimes: LxcRuntime[] = [];
    let pool: PoolSpec;
    /** digest is the md5 line the instance wrote on member A */
    let digest = '';
    /** fuseOfB is the address of B's rbd-fuse client while B held the volume */
    let fuseOfB: string[] = [];

    const admin = (): string[] => ['--conf', cluster().conf, '--id', 'admin', '--keyring', cluster().adminKeyring];
    const rbdAdmin = async (args: string[], okExitCodes?: number[]) =>
      run(['rbd', ...admin(), '--pool', cluster().pool, ...args], { timeoutMs: 60_000, okExitCodes });
    const locksOf = async (): Promise<string[]> =>
      (JSON.parse((await rbdAdmin(['lock', 'ls', '--format', 'json', IMAGE])).stdout || '[]') as Array<{ id: string }>).map((l) => l.id);
    const volumesDir = (who: 'a' | 'b'): string => join(dirs[who], 'storage', POOL, 'volumes');
    const getInst = (name: string) => store.get<Instance>(k.inst, name, 'default');

    async function startMember(who: 'a' | 'b'): Promise<MemberHost> {
      const name = `m-${who}`;
      const dataDir = dirs[who];
      const informers = new SharedInformerFactory({ store, logger, resyncPeriodMs: 0 });
      const host = { store, kinds, informers, logger, metrics, clock: realClock, memberName: name, dataDir };
      const storage = StorageAgent.onHost({
        ...host,
        slowRetryMs: 500,
        resyncMs: 2000,
      });
      const runtime = new LxcRuntime({ dataDir, defaultStopTimeoutSeconds: 5 });
      runtimes.push(runtime);
      const agent = new InstanceAgent({
        store,
        instanceKind: k.inst,
        instances: informers.forKind<Instance>(k.inst),
        memberName: name,
        dataDir,
        runtime,
        images: new ImageStore({ imagesDir: join(dataDir, 'images') }),
        rootfs: storage.rootfsProvider(new CopyRootfsProvider({ dataDir })),
        volumes: storage.volumeMounter(),
        events: new EventRecorder({ store, logger, metrics, component: 'instance-agent', host: name }),
        logger,
        metrics,
        clock: realClock,
        stopTimeoutSeconds: 5,
      });
      const started = Promise.all([storage.start(), agent.start()]);
      informers.start();
      await started;
      return {
        name,
        dataDir,
        runtime,
        async stop() {
          await agent.stop();
          await storage.stop();
          await informers.stop();
        },
      };
    }

    async function setMemberPhase(name: string, phase: 'Ready' | 'NotReady'): Promise<void> {
      const m = await store.get<Member>(k.member, name);
      await store.update<Member>(k.member, { ...m, status: { ...m.status, phase } }, { subresource: 'status' });
    }

    async function place(name: string, member: string, epoch: number): Promise<void> {
      const cur = await getInst(name);
      await store.update<Instance>(
        k.inst,
        { ...cur, status: { ...cur.status, member, placementEpoch: epoch, phase: 'Scheduled' } },
        { subresource: 'status' },
      );
    }

    async function runningOn(name: string, member: string): Promise<Instance> {
      return eventually(`${name} Running on ${member}`, async () => {
        const i = await getInst(name);
        return i.status?.phase === 'Running' && i.status.member === member ? i : undefined;
      });
    }

    async function sh(host: MemberHost, container: string, script: string): Promise<{ code: number; out: string }> {
      const out = capture();
      const code = await host.runtime.exec(container, ['/bin/sh', '-c', script], {
        stdin: 'ignore',
        stdout: out.stream,
        stderr: out.stream,
        timeoutMs: 60_000,
      });
      return { code, out: out.text() };
    }

    before(async function () {
      this.timeout(5 * 60_000);
      await preflight();
      for (const who of ['a', 'b', 'check'] as const) {
        dirs[who] = await mkdtemp(join(tmpdir(), `cl-ceph-move-${who}-`));
        // Unprivileged instances: their mapped root must be able to walk to its rootfs (mkdtemp makes 0700).
        await chmod(dirs[who], 0o711);
      }
      etcd = await startTestEtcd();
      store = new EtcdStore({ endpoints: etcd.endpoints, logger, metrics });
      for (const name of ['m-a', 'm-b']) {
        await store.create<Member>(k.member, { apiVersion: api, kind: 'Member', metadata: { name }, spec: {} });
        await setMemberPhase(name, 'Ready');
      }
      pool = { name: POOL, config: poolConfig(cluster()) };
      hosts.a = await startMember('a');
      hosts.b = await startMember('b');
    });

    after(async function () {
      this.timeout(5 * 60_000);
      for (const h of [hosts.a, hosts.b]) await h?.stop().catch(() => undefined);
      for (const rt of runtimes) {
        for (const name of await rt.list().catch(() => [])) {
          await run(['lxc-stop', '-P', rt.lxcPath, '-n', name, '-k'], { okExitCodes: [0, 1, 2], timeoutMs: 30_000 }).catch(() => undefined);
          await rt.delete(name).catch(() => undefined);
        }
      }
      for (const dir of Object.values(dirs)) {
        if (!dir) continue;
        await forceCleanup(dir);
        await rm(dir, { recursive: true, force: true });
      }
      // Whatever a failed test left in the cluster: locks first (no blocklisting: nothing runs), then the image.
      const locks = await rbdAdmin(['lock', 'ls', '--format', 'json', IMAGE], [0, 2]).catch(() => undefined);
      for (const l of JSON.parse(locks?.exitCode === 0 ? locks.stdout || '[]' : '[]') as Array<{ id: string; locker: string }>) {
        await rbdAdmin(['--rbd_blocklist_on_break_lock=false', 'lock', 'rm', IMAGE, l.id, l.locker], [0, 2]).catch(() => undefined);
      }
      await rbdAdmin(['snap', 'purge', '--no-progress', IMAGE], [0, 2]).catch(() => undefined);
      await rbdAdmin(['rm', '--no-progress', IMAGE], [0, 2]).catch(() => undefined);
      await store?.close();
      await etcd?.stop();
    });

    it('runs an instance on member A that writes into its ceph volume', async () => {
      await store.create<StoragePool>(k.pool, {
        apiVersion: api,
        kind: 'StoragePool',
        metadata: { name: POOL },
        spec: { driver: 'ceph', config: pool.config },
      });
      await eventually('pool Ready on both members', async () =>
        (await store.get<StoragePool>(k.pool, POOL)).status?.phase === 'Ready' ? true : undefined,
      );
      await store.create<Volume>(k.vol, {
        apiVersion: api,
        kind: 'Volume',
        metadata: { name: 'moved', namespace: 'default' },
        spec: { pool: POOL, size: '64Mi' },
      });
      await eventually('volume Ready', async () =>
        (await store.get<Volume>(k.vol, 'moved', 'default')).status?.phase === 'Ready' ? true : undefined,
      );
      const spec: InstanceSpec = { image: 'busybox', state: 'Running', recovery: 'failover', volumes: [{ name: 'moved', path: '/data' }] };
      await store.create<Instance>(k.inst, { apiVersion: api, kind: 'Instance', metadata: { name: 'mover', namespace: 'default' }, spec });
      await place('mover', 'm-a', 1);
      const onA = await runningOn('mover', 'm-a');
      const wrote = await sh(
        hosts.a as MemberHost,
        onA.status?.containerName ?? '',
        'head -c 3145728 /dev/urandom > /data/blob && cd /data && md5sum blob > blob.md5 && echo written-on-a > note && sync && cat blob.md5',
      );
      expect(wrote.code, wrote.out).to.equal(0);
      digest = wrote.out.trim();
      expect(digest).to.match(/^[0-9a-f]{32}\s+blob$/);
      expect(await readFile(join(volumesDir('a'), IMAGE, 'note'), 'utf8')).to.equal('written-on-a\n');
      expect(await locksOf()).to.deep.equal(['cloudlet:m-a']);
    });

    it('refuses a second read-write mount on member B while A holds the volume, with a clear Conflict', async () => {
      await store.create<Instance>(k.inst, {
        apiVersion: api,
        kind: 'Instance',
        metadata: { name: 'peek', namespace: 'default' },
        spec: { image: 'busybox', volumes: [{ name: 'moved', path: '/data' }] },
      });
      await place('peek', 'm-b', 1);
      const blocked = await eventually('peek blocked', async () => {
        const i = await getInst('peek');
        return /already mounted read-write on member m-a/.test(i.status?.message ?? '') ? i : undefined;
      });
      expect(blocked.status?.phase).to.equal('Creating');
      expect(blocked.status?.message).to.match(
        /volume default_moved is already mounted read-write on member m-a \(RBD lock cloudlet:m-a\); a second read-write mount is refused/,
      );
      expect(await mountsUnder(volumesDir('b'))).to.deep.equal([]);
      expect(await locksOf()).to.deep.equal(['cloudlet:m-a']);
      await store.delete(k.inst, 'peek', 'default');
      await eventually('peek gone', async () =>
        getInst('peek').then(
          () => undefined,
          () => true,
        ),
      );
      expect((await getInst('mover')).status?.phase).to.equal('Running');
      expect(await locksOf()).to.deep.equal(['cloudlet:m-a']);
    });

    it('moves the instance to member B: A removes its copy and releases the volume, B reads it back intact', async () => {
      const onA = (await getInst('mover')).status?.containerName ?? '';
      await place('mover', 'm-b', 2);
      const onB = await runningOn('mover', 'm-b');
      expect((await (hosts.a as MemberHost).runtime.observe(onA)).exists).to.equal(false);
      const read = await sh(hosts.b as MemberHost, onB.status?.containerName ?? '', 'cd /data && md5sum -c blob.md5 && cat blob.md5 note');
      expect(read.code, read.out).to.equal(0);
      expect(read.out).to.contain(digest).and.to.contain('written-on-a');
      expect(await mountsUnder(dirs.a)).to.deep.equal([]);
      expect(await loopsUnder(dirs.a)).to.deep.equal([]);
      expect(await rbdFusePidsUnder(dirs.a)).to.deep.equal([]);
      expect(await locksOf()).to.deep.equal(['cloudlet:m-b']);
    });

    it('gives the volume back while the instance is Stopped and mounts it again when it starts', async () => {
      const setState = async (state: 'Running' | 'Stopped'): Promise<void> => {
        const cur = await getInst('mover');
        await store.update<Instance>(k.inst, { ...cur, spec: { ...cur.spec, state } as InstanceSpec });
      };
      await setState('Stopped');
      await eventually('Stopped with the volume released', async () =>
        (await getInst('mover')).status?.phase === 'Stopped' && (await locksOf()).length === 0 ? true : undefined,
      );
      expect(await mountsUnder(volumesDir('b'))).to.deep.equal([]);
      expect(await rbdFusePidsUnder(dirs.b)).to.deep.equal([]);
      await setState('Running');
      const onB = await runningOn('mover', 'm-b');
      const read = await sh(
        hosts.b as MemberHost,
        onB.status?.containerName ?? '',
        'cd /data && md5sum -c blob.md5 && echo written-on-b > note-b && sync',
      );
      expect(read.code, read.out).to.equal(0);
      expect(await locksOf()).to.deep.equal(['cloudlet:m-b']);
    });

    it('takes the volume over from member B only once B is lost, cutting off B so its stale mount cannot write', async () => {
      const b = hosts.b as MemberHost;
      const container = (await getInst('mover')).status?.containerName ?? '';
      fuseOfB = (
        JSON.parse((await rbdAdmin(['status', '--format', 'json', IMAGE])).stdout) as { watchers: Array<{ address: string }> }
      ).watchers.map((w) => w.address);
      expect(fuseOfB).to.not.be.empty;
      // B's daemon dies; like its Fencer it has force-stopped the failover instance first. Its mount stays.
      await b.stop();
      hosts.b = undefined;
      await b.runtime.stop(container, { force: true });
      expect(await mountsUnder(volumesDir('b'))).to.have.length(1);

      // While B still counts as Ready, A must not take the volume.
      await place('mover', 'm-a', 3);
      const refused = await eventually('mover blocked on A', async () => {
        const i = await getInst('mover');
        return /already mounted read-write on member m-b/.test(i.status?.message ?? '') ? i : undefined;
      });
      expect(refused.status?.member).to.equal('m-a');
      expect(await locksOf()).to.deep.equal(['cloudlet:m-b']);

      // B is declared lost: A breaks B's lock, blocklisting B's rbd-fuse first.
      await setMemberPhase('m-b', 'NotReady');
      const onA = await runningOn('mover', 'm-a');
      expect(await locksOf()).to.deep.equal(['cloudlet:m-a']);
      // `ceph osd blocklist ls -f json` prints the address list, then (pacific) the range list: look for the addresses in it.
      const blocklist = (await run(['ceph', ...admin(), 'osd', 'blocklist', 'ls', '-f', 'json'], { timeoutMs: 60_000 })).stdout;
      for (const addr of fuseOfB) expect(blocklist).to.contain(`"${addr}"`);
      const events = (await store.list<CoreEvent>(EVENT_KIND)).items.filter(
        (e) => e.reason === 'VolumeLockBroken' && e.involvedObject.name === 'moved',
      );
      expect(events.map((e) => e.message).join('\n')).to.match(
        /member m-a broke the lock cloudlet:m-b of member m-b on volume default_moved to mount it \(member m-b is NotReady\); its clients \S+ are blocklisted/,
      );
      const read = await sh(hosts.a as MemberHost, onA.status?.containerName ?? '', 'cd /data && md5sum -c blob.md5 && cat note note-b');
      expect(read.code, read.out).to.equal(0);
      expect(read.out).to.contain('written-on-a').and.to.contain('written-on-b');

      // Something on B writes now, straight into the image through B's rbd-fuse (the path every stale
      // filesystem write takes), and fsyncs. Without the blocklist it lands while B restarts; with it, it
      // waits until B's cleanup aborts the mount and then fails. Not awaited here for that reason.
      const imageFile = join(dirs.b, 'storage', POOL, 'rbd', IMAGE, IMAGE);
      await writeFile(join(dirs.check, 'marker'), STALE_MARKER.padEnd(4096, '#'));
      const flushed = run(
        [
          'dd',
          `if=${join(dirs.check, 'marker')}`,
          `of=${imageFile}`,
          'bs=4096',
          'count=1',
          `seek=${MARKER_OFFSET / 4096}`,
          'conv=notrunc,fsync',
          'status=none',
        ],
        { timeoutMs: 180_000, okExitCodes: [0, 1] },
      ).then(
        (r) => r.exitCode,
        (err: unknown) => String(err),
      );

      // B comes back: its agent removes the stale copy and aborts the cut-off mount instead of hanging on it.
      await setMemberPhase('m-b', 'Ready');
      hosts.b = await startMember('b');
      await eventually('B clean', async () =>
        (await mountsUnder(dirs.b)).length === 0 && (await rbdFusePidsUnder(dirs.b)).length === 0 ? true : undefined,
      );
      expect(await loopsUnder(dirs.b)).to.deep.equal([]);
      expect((await b.runtime.observe(container)).exists).to.equal(false);
      expect(await locksOf()).to.deep.equal(['cloudlet:m-a']);
      expect(await flushed, 'the write through the cut-off rbd-fuse').to.not.equal(0);
    });

    it('deletes the instance (releasing the volume) and finds in the image what was written with the lock held, and nothing B wrote after', async () => {
      await store.delete(k.inst, 'mover', 'default');
      await eventually('mover gone', async () =>
        getInst('mover').then(
          () => undefined,
          () => true,
        ),
      );
      expect(await locksOf()).to.deep.equal([]);
      expect(await mountsUnder(dirs.a)).to.deep.equal([]);
      const checker = new CephDriver({ dataDir: dirs.check, memberName: 'checker' });
      const path = await checker.mountVolume(pool, IMAGE);
      try {
        expect(await readFile(join(path, 'note'), 'utf8')).to.equal('written-on-a\n');
        expect(await readFile(join(path, 'note-b'), 'utf8')).to.equal('written-on-b\n');
        expect((await readFile(join(path, 'blob.md5'), 'utf8')).trim()).to.equal(digest);
      } finally {
        await checker.unmountVolume(pool, IMAGE);
      }
      // The block B wrote after its lock was broken never reached the image.
      const exported = join(dirs.check, 'export.img');
      await rbdAdmin(['export', '--no-progress', IMAGE, exported]);
      const fh = await open(exported, 'r');
      try {
        const { buffer } = await fh.read({ buffer: Buffer.alloc(4096), position: MARKER_OFFSET });
        expect(buffer.toString('latin1')).to.not.contain(STALE_MARKER);
      } finally {
        await fh.close();
        await rm(exported, { force: true });
      }
    });

    it('deletes the volume and the pool, leaving no mount, loop device, rbd-fuse or lock on either member', async () => {
      await store.delete(k.vol, 'moved', 'default');
      await eventually('volume gone', async () =>
        store.get(k.vol, 'moved', 'default').then(
          () => undefined,
          () => true,
        ),
      );
      await store.delete(k.pool, POOL, undefined);
      await eventually('pool gone', async () =>
        store.get(k.pool, POOL).then(
          () => undefined,
          () => true,
        ),
      );
      expect((await rbdAdmin(['info', IMAGE], [0, 2])).exitCode).to.equal(2);
      for (const dir of Object.values(dirs)) {
        expect(await mountsUnder(dir)).to.deep.equal([]);
        expect(await loopsUnder(dir)).to.deep.equal([]);
        expect(await rbdFusePidsUnder(dir)).to.deep.equal([]);
      }
    });
  });
}
