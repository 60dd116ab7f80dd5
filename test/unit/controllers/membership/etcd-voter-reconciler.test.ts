import { expect } from 'chai';
import {
  ETCD_CANDIDATE_PREFIX,
  ETCD_LEARNER_PREFIX,
  parseAssignment,
  type EtcdLearnerAssignment,
} from '../../../../controllers/membership/etcd-learners.js';
import {
  DEFAULT_LEARNER_TIMEOUT_MS,
  ETCD_VOTERS_KEY,
  EtcdVoterReconciler,
  type EtcdMemberEntry,
  type EtcdMembershipApi,
} from '../../../../controllers/membership/etcd-voter-reconciler.js';
import { EventRecorder } from '../../../../lib/controller/events.js';
import type { Informer } from '../../../../lib/controller/informer.js';
import type { ReconcileContext } from '../../../../lib/controller/reconciler.js';
import { ConflictError, NotFoundError, UnavailableError } from '../../../../lib/errors.js';
import type { Member } from '../../../../lib/kinds/types.js';
import { silentLogger } from '../../../../lib/log/logger.js';
import { createMember, makeHarness, member, MEMBER, type Harness } from '../instances/harness.js';

const peer = (i: number): string => `https://10.0.0.${i}:2380`;
const client = (i: number): string => `https://10.0.0.${i}:2379`;

/** FakeEtcd keeps an etcd member list and enforces etcd's rules the controller relies on (one learner, unique peer URLs). */
class FakeEtcd implements EtcdMembershipApi {
  members: EtcdMemberEntry[] = [];
  calls: string[] = [];
  private nextId = 100;

  voter(i: number): void {
    this.members.push({ id: String(i), name: `m${i}`, peerUrls: [peer(i)], clientUrls: [client(i)], isLearner: false });
  }

  /** start is the member's etcd starting: etcd learns its name and client URL. */
  start(id: string, name: string, i: number): void {
    const m = this.find(id);
    m.name = name;
    m.clientUrls = [client(i)];
  }

  async list(): Promise<EtcdMemberEntry[]> {
    return structuredClone(this.members);
  }

  async addLearner(peerUrl: string): Promise<{ id: string; members: EtcdMemberEntry[] }> {
    if (this.members.some((m) => m.isLearner)) throw new UnavailableError('etcd member add: too many learner members in cluster');
    if (this.members.some((m) => m.peerUrls.includes(peerUrl))) throw new ConflictError('etcd member add: peerURL exists');
    const id = String(this.nextId++);
    this.members.push({ id, name: '', peerUrls: [peerUrl], clientUrls: [], isLearner: true });
    this.calls.push(`add ${peerUrl}`);
    return { id, members: await this.list() };
  }

  async promote(id: string): Promise<void> {
    const m = this.find(id);
    if (!m.isLearner) throw new ConflictError('etcd member promote: member not a learner');
    if (m.name === '') throw new UnavailableError('etcd member promote: can only promote a learner member which is in sync with leader');
    m.isLearner = false;
    this.calls.push(`promote ${m.name}`);
  }

  async remove(id: string): Promise<void> {
    const m = this.find(id);
    this.members = this.members.filter((x) => x !== m);
    this.calls.push(`remove ${m.name || id}`);
  }

  private find(id: string): EtcdMemberEntry {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new NotFoundError(`etcd: member ${id} not found`);
    return m;
  }
}

describe('EtcdVoterReconciler adding learners over a MemoryStore and a fake etcd', () => {
  let h: Harness;
  let etcd: FakeEtcd;
  let r: EtcdVoterReconciler;
  let members: Informer<Member>;
  const ctx: ReconcileContext = {
    log: silentLogger(),
    signal: new AbortController().signal,
    reconcileId: 'test',
    controller: 'etcd-voters',
  };

  const pass = async (): Promise<void> => {
    await r.reconcile(ETCD_VOTERS_KEY, ctx);
  };
  const assignment = async (name: string): Promise<EtcdLearnerAssignment | undefined> => {
    const e = await h.store.raw.get(ETCD_LEARNER_PREFIX + name);
    return e ? parseAssignment(e.value) : undefined;
  };
  const publish = (name: string, url: string): Promise<string> =>
    h.store.raw.put(ETCD_CANDIDATE_PREFIX + name, JSON.stringify({ peerUrl: url }));
  const reasons = async (name: string): Promise<string[]> =>
    (await h.events()).filter((e) => e.involvedObject.name === name).map((e) => e.reason);
  const roleOf = async (name: string): Promise<string | undefined> => (await h.store.get<Member>(MEMBER, name)).status?.etcdRole;
  const setPhase = async (name: string, phase: 'Ready' | 'NotReady'): Promise<void> => {
    const m = await h.store.get<Member>(MEMBER, name);
    await h.store.update<Member>(MEMBER, { ...m, status: { ...m.status, phase } }, { subresource: 'status' });
    await h.until(`${name} ${phase} in the cache`, () => members.get({ name })?.status?.phase === phase);
  };

  beforeEach(async () => {
    h = makeHarness();
    etcd = new FakeEtcd();
    members = h.informers.forKind<Member>(MEMBER);
    r = new EtcdVoterReconciler({
      store: h.store,
      memberKind: MEMBER,
      members,
      etcd,
      events: new EventRecorder({
        store: h.store,
        logger: h.logger,
        metrics: h.metrics,
        component: 'etcd-voters',
        host: 'm1',
        clock: h.clock,
      }),
      clock: h.clock,
    });
    h.informers.start();
    // m1..m3 are voters, m4 an etcd client that published its peer URL
    for (const i of [1, 2, 3]) {
      etcd.voter(i);
      await createMember(h.store, member(`m${i}`));
    }
    await createMember(h.store, member('m4'));
    await publish('m4', peer(4));
    await h.until('caches synced', () => members.list().length === 4);
  });
  afterEach(() => h.informers.stop());

  it('replaces a dead voter: removes it, then adds the spare as a learner with its peer URL and hands it the assignment', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    expect(etcd.calls).to.deep.equal(['remove m3']);
    await pass();
    expect(etcd.calls).to.deep.equal(['remove m3', `add ${peer(4)}`]);
    const learner = etcd.members.find((m) => m.isLearner);
    const a = await assignment('m4');
    expect(a).to.deep.equal({
      member: 'm4',
      id: learner?.id,
      peerUrl: peer(4),
      initialCluster: `m1=${peer(1)},m2=${peer(2)},m4=${peer(4)}`,
      endpoints: [client(1), client(2)],
    });
    await h.until('events written', async () => (await reasons('m4')).includes('EtcdLearnerAdded'));
    expect(await reasons('m3')).to.include('EtcdVoterRemoved');
  });

  it('maps the learner to its member by peer URL before its etcd starts, so it adds no second one', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    await pass();
    await pass();
    await pass();
    expect(etcd.calls.filter((c) => c.startsWith('add'))).to.have.length(1);
    expect(await roleOf('m4')).to.equal('learner');
  });

  it('deletes the assignment and mirrors voter once the member promoted itself', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    await pass();
    const a = await assignment('m4');
    etcd.start(a!.id, 'm4', 4);
    await etcd.promote(a!.id);
    await h.store.raw.delete(ETCD_CANDIDATE_PREFIX + 'm4'); // the member withdraws its candidacy once a voter
    await pass();
    expect(await assignment('m4')).to.equal(undefined);
    expect(await roleOf('m4')).to.equal('voter');
    expect(
      etcd.members
        .filter((m) => !m.isLearner)
        .map((m) => m.name)
        .sort(),
    ).to.deep.equal(['m1', 'm2', 'm4']);
  });

  it('promotes a started learner that is in sync when its daemon has not yet', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    await pass();
    etcd.start((await assignment('m4'))!.id, 'm4', 4);
    await pass();
    expect(etcd.calls).to.include('promote m4');
  });

  it('removes a learner that is no voter within the learner timeout, with its assignment, and adds it anew on a later pass', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    await pass();
    const first = (await assignment('m4'))!.id;
    await h.clock.advanceAsync(DEFAULT_LEARNER_TIMEOUT_MS - 1000);
    await pass();
    expect(etcd.members.some((m) => m.id === first)).to.equal(true);
    await h.clock.advanceAsync(2000);
    await pass();
    expect(etcd.members.some((m) => m.id === first)).to.equal(false);
    expect(await assignment('m4')).to.equal(undefined);
    await h.until('timeout event written', async () => (await reasons('m4')).includes('EtcdLearnerTimedOut'));
    await pass();
    const second = await assignment('m4');
    expect(second?.id).to.be.a('string').and.not.equal(first);
  });

  it('removes the learner and its assignment when its member goes NotReady', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    await pass();
    await setPhase('m4', 'NotReady');
    await pass();
    expect(etcd.members.some((m) => m.isLearner)).to.equal(false);
    expect(await assignment('m4')).to.equal(undefined);
    await h.until('event written', async () => (await reasons('m4')).includes('EtcdLearnerRemoved'));
  });

  it('rewrites the assignment of an unstarted learner of ours that has none (a leader died between add and write)', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    const { id } = await etcd.addLearner(peer(4));
    await pass();
    expect((await assignment('m4'))?.id).to.equal(id);
    expect(etcd.calls.filter((c) => c.startsWith('add'))).to.have.length(1);
  });

  it('reports, and adds nothing, when the chosen member publishes no peer URL', async () => {
    await h.store.raw.delete(ETCD_CANDIDATE_PREFIX + 'm4');
    await setPhase('m3', 'NotReady');
    await pass();
    await pass();
    await pass();
    expect(etcd.calls).to.deep.equal(['remove m3']);
    await h.until('event written', async () => (await reasons('m4')).includes('EtcdLearnerWanted'));
    expect((await h.events()).filter((e) => e.reason === 'EtcdLearnerWanted')[0]?.count).to.equal(1);
  });

  it('adds nothing while etcd has a learner no member maps to (a joiner that has not started)', async () => {
    await setPhase('m3', 'NotReady');
    await pass();
    etcd.members.push({ id: '7', name: '', peerUrls: ['https://10.0.0.9:2380'], clientUrls: [], isLearner: true });
    await pass();
    await h.clock.advanceAsync(DEFAULT_LEARNER_TIMEOUT_MS * 2);
    await pass();
    expect(etcd.calls).to.deep.equal(['remove m3']);
    expect(etcd.members.some((m) => m.id === '7')).to.equal(true);
  });

  it('leaves three healthy voters and an etcd-client member as they are', async () => {
    await pass();
    await pass();
    expect(etcd.calls).to.deep.equal([]);
    expect(await roleOf('m4')).to.equal('none');
    expect(await roleOf('m1')).to.equal('voter');
  });
});
