import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { ensureCa, makeKeyAndCsr } from '../../../lib/pki/pki.js';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JoinService } from '../../../daemon/join-server.js';
import { decodeJoinToken } from '../../../lib/join-token.js';
import { isCode, UnavailableError } from '../../../lib/errors.js';
import type { EtcdMemberInfo } from '../../../lib/etcd/membership.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { ETCD_MEMBERSHIP_LOCK_KEY, JOIN_TOKEN_KEY_PREFIX } from '../../../lib/store/key-space.js';
import { MemoryStore } from '../../../lib/store/memory-store.js';
import { MEMBER } from '../controllers/instances/harness.js';

const peer = (i: number): string => `https://10.0.0.${i}:2380`;

/** FakeEtcd follows etcd's rules the join relies on: one learner at a time, and a refusal the test can switch on. */
class FakeEtcd {
  members: EtcdMemberInfo[] = [];
  refuseAdds = 0;
  calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private nextId = 100;

  voter(i: number): void {
    this.members.push({ id: String(i), name: `m${i}`, peerUrls: [peer(i)], clientUrls: [`https://10.0.0.${i}:2379`], isLearner: false });
  }
  async list(): Promise<EtcdMemberInfo[]> {
    return this.track(async () => structuredClone(this.members));
  }
  async addLearner(peerUrl: string): Promise<{ id: string; members: EtcdMemberInfo[] }> {
    return this.track(async () => {
      this.calls.push(`add ${peerUrl}`);
      if (this.refuseAdds > 0) {
        this.refuseAdds--;
        throw new UnavailableError('etcd member add: 14 UNAVAILABLE: etcdserver: unhealthy cluster');
      }
      if (this.members.some((m) => m.isLearner)) throw new UnavailableError('etcd member add: too many learner members in cluster');
      const id = String(this.nextId++);
      this.members.push({ id, name: '', peerUrls: [peerUrl], clientUrls: [], isLearner: true });
      return { id, members: structuredClone(this.members) };
    });
  }
  async remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    this.members = this.members.filter((m) => m.id !== id);
  }
  /** promoteAll is the learner's daemon starting and promoting itself. */
  promoteAll(): void {
    for (const m of this.members) m.isLearner = false;
  }
  close(): void {}
  private async track<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 2));
      return await fn();
    } finally {
      this.inFlight--;
    }
  }
}

describe('JoinService admitting joiners (MemoryStore, fake etcd)', () => {
  let pki: string;
  let store: MemoryStore;
  let etcd: FakeEtcd;
  let joins: JoinService;
  let csr: string;

  const request = (i: number, secret: string, attempt = `${'a'.repeat(31)}${i}`) => ({
    secret,
    member: `m${i}`,
    address: `10.0.0.${i}`,
    etcdPeerUrl: peer(i),
    attempt,
    csr,
  });
  const newSecret = async (): Promise<string> => decodeJoinToken(await joins.createToken(600)).secret;
  const tokensLeft = async (): Promise<number> => (await store.raw.list(JOIN_TOKEN_KEY_PREFIX)).entries.length;

  before(async () => {
    pki = mkdtempSync(join(tmpdir(), 'cloudlet-join-test-'));
    await ensureCa(pki);
    csr = await makeKeyAndCsr(join(pki, 'joiner.key'), 'joiner');
  });
  after(() => rmSync(pki, { recursive: true, force: true }));

  beforeEach(() => {
    store = new MemoryStore();
    etcd = new FakeEtcd();
    etcd.voter(1);
    joins = new JoinService({
      store,
      memberKind: MEMBER,
      pkiDir: pki,
      clusterName: 'c',
      apiServer: () => 'https://10.0.0.1:6443',
      etcd: () => etcd,
      logger: silentLogger(),
    });
  });

  it('admits a joiner as an etcd learner and consumes the token', async () => {
    const answer = await joins.join(request(2, await newSecret()));
    expect(answer.etcd.mode).to.equal('member');
    // its member certificate: signed from its CSR, with the subject and addresses the cluster sets, and no admin token
    const cert = new X509Certificate(answer.memberCert);
    expect(cert.subject.split('\n')).to.include.members(['CN=system:member:m2', 'O=cloudlet:members']);
    expect(cert.subjectAltName).to.include('IP Address:10.0.0.2');
    expect(cert.checkIssued(new X509Certificate(readFileSync(join(pki, 'ca.crt'))))).to.equal(true);
    expect(answer).to.not.have.property('adminToken');
    expect(etcd.members.filter((m) => m.isLearner)).to.have.length(1);
    expect(await tokensLeft()).to.equal(0);
  });

  it('refuses a request without a valid CSR with 400 and keeps the token', async () => {
    const secret = await newSecret();
    const err = await joins
      .join({ ...request(2, secret), csr: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n' })
      .catch((e: unknown) => e);
    expect(isCode(err, 'BadRequest'), String(err)).to.equal(true);
    expect(await tokensLeft()).to.equal(1);
    expect(etcd.members).to.have.length(1);
  });

  it('answers 503 and keeps the token while another member is still a learner', async () => {
    await joins.join(request(2, await newSecret()));
    const secret = await newSecret();
    const err = await joins.join(request(3, secret)).catch((e: unknown) => e);
    expect(isCode(err, 'Unavailable')).to.equal(true);
    expect((err as UnavailableError).retryAfterSeconds).to.be.a('number');
    expect(await tokensLeft()).to.equal(1);
    etcd.promoteAll();
    expect((await joins.join(request(3, secret))).etcd.mode).to.equal('member');
  });

  it("passes etcd's 'unhealthy cluster' on as 503, with nothing added and the token kept", async () => {
    etcd.refuseAdds = 1;
    const secret = await newSecret();
    const err = await joins.join(request(2, secret)).catch((e: unknown) => e);
    expect(isCode(err, 'Unavailable')).to.equal(true);
    expect(etcd.members).to.have.length(1);
    expect(await tokensLeft()).to.equal(1);
    expect(await store.raw.get(ETCD_MEMBERSHIP_LOCK_KEY)).to.equal(undefined);
    expect((await joins.join(request(2, secret))).etcd.mode).to.equal('member');
  });

  it('answers a retry of the same join run with the recorded answer, and refuses the token to another run or member', async () => {
    const secret = await newSecret();
    const first = await joins.join(request(2, secret));
    const again = await joins.join(request(2, secret));
    expect(again.etcd).to.deep.equal(first.etcd);
    expect(etcd.calls.filter((c) => c.startsWith('add'))).to.have.length(1);
    for (const reuse of [request(3, secret), request(2, secret, 'b'.repeat(32))]) {
      const err = await joins.join(reuse).catch((e: unknown) => e);
      expect(isCode(err, 'Unauthorized')).to.equal(true);
      expect((err as Error).message).to.match(/unknown, expired or already used/);
    }
  });

  it('makes the fourth member an etcd client once three voters exist', async () => {
    etcd.voter(2);
    etcd.voter(3);
    const answer = await joins.join(request(4, await newSecret()));
    expect(answer.etcd).to.deep.equal({
      mode: 'client',
      endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379', 'https://10.0.0.3:2379'],
    });
    expect(etcd.calls).to.deep.equal([]);
  });

  it('serialises concurrent joins: etcd never sees two of them at once, and each ends admitted or told to retry', async () => {
    const secrets = await Promise.all([2, 3, 4].map(() => newSecret()));
    const results = await Promise.all(
      [2, 3, 4].map((i, k) =>
        joins.join(request(i, secrets[k]!)).then(
          () => 'admitted',
          (e: unknown) => (isCode(e, 'Unavailable') ? 'retry' : String(e)),
        ),
      ),
    );
    expect(etcd.maxInFlight).to.equal(1);
    expect(results.filter((r) => r === 'admitted')).to.have.length(1);
    expect(results.filter((r) => r === 'retry')).to.have.length(2);
    expect(await tokensLeft()).to.equal(2);
  });

  it('refuses an unknown token with 401 and changes nothing', async () => {
    const err = await joins.join(request(2, 'f'.repeat(64))).catch((e: unknown) => e);
    expect(isCode(err, 'Unauthorized')).to.equal(true);
    expect(etcd.calls).to.deep.equal([]);
  });
});
