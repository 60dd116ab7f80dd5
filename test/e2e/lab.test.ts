/**
 * End-to-end on the lab (deploy/lab/lab.sh): three members in network
 * namespaces form a cluster through real join tokens with TLS; bad, expired
 * and reused tokens fail clearly and change nothing; a member killed with
 * SIGKILL turns NotReady while the cluster keeps serving (the leader's death
 * included) and comes back Ready on restart; a partitioned member turns
 * NotReady and recovers on heal. Needs root, iproute2, curl and etcd.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { encodeJoinToken } from '../../lib/join-token.js';
import { caFingerprint } from '../../lib/pki/pki.js';
import { projectRoot } from '../../lib/kinds/registry.js';
import { eventually } from '../helpers/poll.js';

// the project root, whether this file runs from the sources (tsx) or from dist/
const root = projectRoot();
const lab = join(root, 'deploy', 'lab', 'lab.sh');
const labDir = mkdtempSync(join(tmpdir(), 'cloudlet-lab-e2e-'));
const env = { ...process.env, LAB_DIR: labDir };
const cliArgv = ['--import', 'tsx', join(root, 'cli', 'main.ts')];

function run(file: string, args: string[], timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(file, args, { cwd: root, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}
const labSh = (...args: string[]) => run(lab, args);
const cloudlet = (...args: string[]) => run(process.execPath, [...cliArgv, ...args], 60_000);

interface MemberView {
  name: string;
  phase?: string;
  etcdRole?: string;
}

/** members lists Members through whichever member's API answers (lab.sh kubeconfig picks it). */
async function members(): Promise<MemberView[]> {
  const kc = (await labSh('kubeconfig')).stdout.trim();
  if (!kc) throw new Error('no member API answers');
  const cfg = parse(readFileSync(kc, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { token: string } }>;
  };
  const server = cfg.clusters[0]!.cluster.server;
  const ca = Buffer.from(cfg.clusters[0]!.cluster['certificate-authority-data'], 'base64');
  const body = await new Promise<string>((res, rej) => {
    const req = request(
      `${server}/apis/cloudlet.dev/v1alpha1/members`,
      { ca, timeout: 5000, headers: { Authorization: `Bearer ${cfg.users[0]!.user.token}` } },
      (r) => {
        let t = '';
        r.on('data', (c: Buffer) => (t += c.toString()));
        r.on('end', () => (r.statusCode === 200 ? res(t) : rej(new Error(`HTTP ${r.statusCode}: ${t}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', rej);
    req.end();
  });
  const list = JSON.parse(body) as { items: Array<{ metadata: { name: string }; status?: { phase?: string; etcdRole?: string } }> };
  return list.items.map((i) => ({ name: i.metadata.name, phase: i.status?.phase, etcdRole: i.status?.etcdRole }));
}

async function waitFor(what: string, check: () => Promise<boolean>, limitMs = 90_000): Promise<number> {
  // the API may be briefly unreachable while members die and leaders change: eventually counts errors as "not yet"
  const start = Date.now();
  await eventually(what, check, { timeoutMs: limitMs, everyMs: 250 });
  return Date.now() - start;
}

const phaseOf = async (name: string) => (await members()).find((m) => m.name === name)?.phase;

function leaderOf(): string | undefined {
  let best: { member: string; at: string } | undefined;
  for (const m of ['m1', 'm2', 'm3']) {
    const log = join(labDir, `${m}.log`);
    if (!existsSync(log)) continue;
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      if (!line.includes('leading: starting cluster controllers')) continue;
      const at = (JSON.parse(line) as { timestamp: string }).timestamp;
      if (!best || at > best.at) best = { member: m, at };
    }
  }
  return best?.member;
}

describe('the lab: a three-member cluster', function () {
  this.timeout(600_000);

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces): run the e2e tests as root');
    for (const tool of ['/usr/bin/curl', '/usr/sbin/ip', '/usr/bin/etcd']) {
      if (!existsSync(tool) && !existsSync(tool.replace('/usr/sbin', '/sbin')))
        throw new Error(`${tool} is missing: apt-get install curl iproute2 etcd-server`);
    }
    const up = await labSh('up', '3');
    if (up.code !== 0) throw new Error(`lab.sh up 3 failed: ${up.stderr}${up.stdout}`);
  });

  after(async () => {
    await labSh('down');
    rmSync(labDir, { recursive: true, force: true });
  });

  it('forms through join tokens with TLS: three Ready members, three etcd voters', async () => {
    await waitFor('three Ready voters', async () => {
      const ms = await members();
      return ms.length === 3 && ms.every((m) => m.phase === 'Ready' && m.etcdRole === 'voter');
    });
    const m2 = JSON.parse(readFileSync(join(labDir, 'm2', 'cluster.json'), 'utf8')) as {
      etcd: { endpoints: string[]; initialCluster: string };
    };
    expect(m2.etcd.endpoints.every((e) => e.startsWith('https://'))).to.equal(true);
    // etcd lists its members in no fixed order: compare as a set
    const peers = m2.etcd.initialCluster.split(',').sort();
    expect(peers).to.have.length(2);
    expect(peers[0]).to.match(/^m1=https:\/\/10\.77\.0\.11:\d+$/);
    expect(peers[1]).to.match(/^m2=https:\/\/10\.77\.0\.12:\d+$/);
  });

  it('a join hands out no admin token: a joined member acts as itself (system:member) and the admin reaches every member', async () => {
    expect(existsSync(join(labDir, 'm1', 'admin-token')), 'the member that made the cluster holds the admin token').to.equal(true);
    for (const m of ['m2', 'm3']) expect(existsSync(join(labDir, m, 'admin-token')), `${m} has no admin token`).to.equal(false);
    const asMember = await cloudlet('--kubeconfig', join(labDir, 'm2', 'kubeconfig'), 'token', 'create', '--ttl', '5m');
    expect(asMember.code).to.not.equal(0);
    expect(asMember.stderr).to.include('User "system:member:m2" cannot create resource "jointokens"');
    // the admin token, verified through its hash in etcd, on a member that never held it
    const m1kc = readFileSync(join(labDir, 'm1', 'kubeconfig'), 'utf8').replace(/server: https:\/\/\S+/, 'server: https://10.77.0.13:6443');
    const viaM3 = join(labDir, 'admin-via-m3.kubeconfig');
    writeFileSync(viaM3, m1kc, { mode: 0o600 });
    const listed = await cloudlet('--kubeconfig', viaM3, 'get', 'members', '-o', 'name');
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout.trim().split('\n')).to.have.length(3);
  });

  it('refuses malformed, expired, forged, wrongly pinned and reused tokens and changes nothing', async () => {
    const kc = (await labSh('kubeconfig')).stdout.trim();
    const caPem = readFileSync(join(labDir, 'm1', 'pki', 'ca.crt'), 'utf8');
    const fp = caFingerprint(caPem);
    const addresses = ['https://10.77.0.11:6443'];
    const dir = join(labDir, 'joiner');
    const join4 = (token: string) => cloudlet('join', token, '--data-dir', dir, '--listen', '10.77.0.1:16443', '--member', 'm9');
    const cases: Array<[string, string, RegExp]> = [
      ['malformed', 'cl1.not-a-token', /join token is malformed/],
      [
        'expired',
        encodeJoinToken({ addresses, caFingerprint: fp, secret: 'a'.repeat(64), expiresAt: Math.floor(Date.now() / 1000) - 60 }),
        /expired at/,
      ],
      [
        'forged',
        encodeJoinToken({ addresses, caFingerprint: fp, secret: 'b'.repeat(64), expiresAt: Math.floor(Date.now() / 1000) + 600 }),
        /unknown, expired or already used/,
      ],
      [
        'wrongly pinned',
        encodeJoinToken({
          addresses,
          caFingerprint: 'c'.repeat(64),
          secret: 'b'.repeat(64),
          expiresAt: Math.floor(Date.now() / 1000) + 600,
        }),
        /does not match/,
      ],
    ];
    for (const [what, token, message] of cases) {
      const r = await join4(token);
      expect(r.code, what).to.equal(1);
      expect(r.stderr, what).to.match(message);
      expect(existsSync(dir), `${what} leaves no data dir`).to.equal(false);
    }
    const token = (await cloudlet('--kubeconfig', kc, 'token', 'create', '--ttl', '5m')).stdout.trim();
    const first = await join4(token);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/etcd client/);
    rmSync(dir, { recursive: true, force: true });
    const again = await join4(token);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/unknown, expired or already used/);
    expect(existsSync(dir)).to.equal(false);
    expect((await members()).map((m) => m.name).sort()).to.deep.equal(['m1', 'm2', 'm3']);
  });

  it('marks a SIGKILLed leader NotReady, moves leadership and keeps serving; restart brings it back Ready', async () => {
    const leader = leaderOf();
    expect(leader).to.be.a('string');
    await labSh('kill', leader!);
    const ms = await waitFor(`${leader} NotReady`, async () => (await phaseOf(leader!)) === 'NotReady');
    console.log(`      ${leader} (leader) NotReady ${(ms / 1000).toFixed(1)} s after kill -9`);
    const next = leaderOf();
    expect(next).to.be.a('string').and.not.equal(leader);
    expect((await members()).filter((m) => m.phase === 'Ready')).to.have.length(2);
    const restart = await labSh('restart', leader!);
    expect(restart.code, restart.stderr).to.equal(0);
    await waitFor(`${leader} Ready again`, async () => (await phaseOf(leader!)) === 'Ready');
  });

  it('marks a SIGKILLed follower NotReady within a few lease TTLs', async () => {
    const leader = leaderOf();
    const victim = ['m1', 'm2', 'm3'].find((m) => m !== leader)!;
    await labSh('kill', victim);
    const ms = await waitFor(`${victim} NotReady`, async () => (await phaseOf(victim)) === 'NotReady');
    console.log(`      ${victim} (follower) NotReady ${(ms / 1000).toFixed(1)} s after kill -9`);
    await labSh('restart', victim);
    await waitFor(`${victim} Ready again`, async () => (await phaseOf(victim)) === 'Ready');
  });

  it('marks a partitioned member NotReady and Ready again after heal', async () => {
    const leader = leaderOf();
    const victim = ['m3', 'm2', 'm1'].find((m) => m !== leader)!;
    await labSh('partition', victim);
    const ms = await waitFor(`${victim} NotReady`, async () => (await phaseOf(victim)) === 'NotReady');
    console.log(`      ${victim} (partitioned) NotReady ${(ms / 1000).toFixed(1)} s after link down`);
    await labSh('heal', victim);
    await waitFor(`${victim} Ready after heal`, async () => (await phaseOf(victim)) === 'Ready');
    const ms2 = await members();
    expect(ms2.every((m) => m.phase === 'Ready' && m.etcdRole === 'voter')).to.equal(true);
  });
});
