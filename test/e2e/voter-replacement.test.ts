/**
 * End-to-end on a four-member lab (deploy/lab/lab.sh, LAB_ID 3 unless
 * LAB_ID says otherwise, hollow runtime: no containers needed): m1..m3 are
 * etcd voters and m4 an etcd client. A voter that does not lead the cluster
 * controllers is SIGKILLed; the voter controller removes it from etcd and adds
 * m4 as a learner, m4's daemon starts its own etcd, promotes itself, and the
 * cluster keeps serving writes. m4's etcd is then supervised like a voter's
 * started at join time: restarted after SIGKILL, stopped with its daemon's
 * SIGTERM, killed with its daemon's SIGKILL, and run again as a voter when the
 * daemon restarts. Everything is polled; nothing asserts a duration. Needs
 * root, iproute2, curl, etcd and etcdctl; the lab is always taken down.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabDriver } from '../../bench/failover/lab-driver.js';
import { projectRoot } from '../../lib/kinds/registry.js';
import { processAlive as pidAlive } from '../../lib/host/proc.js';

const root = projectRoot();
const labId = process.env.LAB_ID ?? '3';
const labDir = mkdtempSync(join(tmpdir(), 'cloudlet-voters-e2e-'));
const lab = new LabDriver({ root, labDir, labId, runtime: 'hollow' });
const voters0 = ['m1', 'm2', 'm3'];

function need(tool: string, pkg: string): void {
  const found = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, tool)));
  if (!found) throw new Error(`${tool} is missing: apt-get install ${pkg}`);
}

function pidIn(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

const etcdPid = (member: string): number | undefined => pidIn(join(labDir, member, 'etcd', 'etcd.pid'));
const daemonPid = (member: string): number | undefined => pidIn(join(labDir, member, 'daemon.pid'));
const etcdMode = (member: string): string | undefined =>
  (JSON.parse(readFileSync(join(labDir, member, 'cluster.json'), 'utf8')) as { etcd?: { mode?: string } }).etcd?.mode;

/** clientUrl is member's etcd client URL (the ports its daemon remembers in etcd/ports.json). */
function clientUrl(member: string): string {
  const { client } = JSON.parse(readFileSync(join(labDir, member, 'etcd', 'ports.json'), 'utf8')) as { client: number };
  return `https://10.77.${labId}.1${member.slice(1)}:${client}`;
}

function etcdctl(via: string[], args: string[]): Promise<string> {
  const pki = join(labDir, via[0]!, 'pki');
  const argv = [
    `--endpoints=${via.map(clientUrl).join(',')}`,
    `--cacert=${join(pki, 'ca.crt')}`,
    `--cert=${join(pki, 'member.crt')}`,
    `--key=${join(pki, 'member.key')}`,
    '--command-timeout=5s',
    ...args,
  ];
  return new Promise((res, rej) => {
    execFile('etcdctl', argv, { timeout: 20_000, env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout, stderr) =>
      err ? rej(new Error(`etcdctl ${args.join(' ')}: ${stderr || err.message}`)) : res(stdout),
    );
  });
}

/** etcdMembers is `etcdctl member list` through `via`: name → 'voter' | 'learner' ('' for a learner that has not started). */
async function etcdMembers(via: string[]): Promise<Map<string, 'voter' | 'learner'>> {
  const out = JSON.parse(await etcdctl(via, ['member', 'list', '--write-out=json'])) as {
    members: Array<{ name?: string; isLearner?: boolean }>;
  };
  return new Map(out.members.map((m) => [m.name ?? '', m.isLearner ? 'learner' : 'voter']));
}

async function roles(): Promise<Map<string, { phase?: string; etcdRole?: string }>> {
  return new Map((await lab.members()).map((m) => [m.metadata.name, { phase: m.status?.phase, etcdRole: m.status?.etcdRole }]));
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

describe('voter replacement on a four-member lab: a dead voter is replaced by a healthy etcd client', function () {
  this.timeout(1_200_000);
  let victim = '';
  let survivors: string[] = [];
  let killedAt = 0;

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces): run the e2e tests as root');
    need('ip', 'iproute2');
    need('curl', 'curl');
    need('etcd', 'etcd-server');
    need('etcdctl', 'etcd-client');
    await lab.labOk(['up', '4'], 900_000);
  });

  after(async function () {
    // On a failure keep the daemons' logs (lab.sh down removes the lab dir) and say where.
    if (this.test?.parent?.tests.some((t) => t.state === 'failed')) {
      const keep = mkdtempSync(join(tmpdir(), 'cloudlet-voters-e2e-logs-'));
      for (const m of [...voters0, 'm4'])
        if (existsSync(join(labDir, `${m}.log`))) copyFileSync(join(labDir, `${m}.log`), join(keep, `${m}.log`));
      console.log(`      daemon logs kept in ${keep}`);
    }
    await lab.lab(['down'], 300_000);
    rmSync(labDir, { recursive: true, force: true });
  });

  it('forms with three etcd voters and m4 as an etcd client that publishes its etcd peer URL', async () => {
    await lab.until('four Ready members, m1..m3 voters and m4 none', async () => {
      const r = await roles();
      const ok =
        r.size === 4 &&
        [...r.values()].every((m) => m.phase === 'Ready') &&
        voters0.every((m) => r.get(m)?.etcdRole === 'voter') &&
        r.get('m4')?.etcdRole === 'none';
      return ok ? true : undefined;
    });
    const etcd = await etcdMembers(voters0);
    expect([...etcd.entries()].sort()).to.deep.equal([
      ['m1', 'voter'],
      ['m2', 'voter'],
      ['m3', 'voter'],
    ]);
    expect(etcdMode('m4')).to.equal('client');
    expect(etcdPid('m4')).to.equal(undefined);
    const candidate = await etcdctl(voters0, ['get', '/cloudlet/etcd-candidates/m4', '--print-value-only']);
    expect(JSON.parse(candidate))
      .to.have.property('peerUrl')
      .that.matches(new RegExp(`^https://10\\.77\\.${labId}\\.14:\\d+$`));
  });

  it('removes a SIGKILLed voter that does not lead and makes m4 a voter with its own etcd', async () => {
    const leader = lab.leader();
    expect(leader, 'a member leads the cluster controllers').to.be.a('string');
    victim = [...voters0].reverse().find((m) => m !== leader)!;
    survivors = [...voters0.filter((m) => m !== victim), 'm4'];
    console.log(`      leader ${leader}; killing voter ${victim}`);
    killedAt = Date.now();
    await lab.labOk(['kill', victim]);
    await lab.until(`${victim} NotReady`, async () => ((await roles()).get(victim)?.phase === 'NotReady' ? true : undefined));
    const notReadyAt = Date.now();
    const alive = voters0.filter((m) => m !== victim);
    await lab.until(
      `etcd lists ${survivors.join(', ')} as voters and nothing else`,
      async () => {
        const etcd = await etcdMembers(alive);
        return etcd.size === 3 && survivors.every((m) => etcd.get(m) === 'voter') ? true : undefined;
      },
      300_000,
      500,
    );
    const voterAt = Date.now();
    console.log(
      `      ${victim} NotReady after ${seconds(notReadyAt - killedAt)}; m4 an etcd voter ${seconds(voterAt - killedAt)} after the kill`,
    );
    await lab.until('Member status mirrors etcd', async () => {
      const r = await roles();
      return r.get('m4')?.etcdRole === 'voter' && r.get(victim)?.etcdRole === 'none' && alive.every((m) => r.get(m)?.etcdRole === 'voter')
        ? true
        : undefined;
    });
    // The leader may promote m4 before m4's own promotion call returns: m4 records its new role moments later.
    await lab.until('m4 records in cluster.json that it runs an etcd member', async () => (etcdMode('m4') === 'member' ? true : undefined));
    const pid = etcdPid('m4');
    expect(pid !== undefined && pidAlive(pid), "m4's etcd runs").to.equal(true);
    // m4's own etcd answers as a voter: a linearizable member list through it alone
    expect((await etcdMembers(['m4'])).get('m4')).to.equal('voter');
    await lab.until('the hand-over keys are gone', async () => {
      const keys = await etcdctl(alive, ['get', '/cloudlet/etcd-', '--prefix', '--keys-only']);
      return keys.includes('/cloudlet/etcd-candidates/m4') || keys.includes('/cloudlet/etcd-learners/m4') ? undefined : true;
    });
  });

  it('keeps serving writes, m4 stayed Ready, and m4 carries an Event for each step of its promotion', async () => {
    for (let i = 0; i < 5; i++) {
      const name = `voter-replacement-${i}`;
      await lab.api('POST', '/api/v1/namespaces/default/events', {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: 'default' },
        involvedObject: { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', name: 'm4' },
        reason: 'E2EWrite',
        message: `write ${i} after the voter replacement`,
        type: 'Normal',
      });
      const back = await lab.api<{ message: string }>('GET', `/api/v1/namespaces/default/events/${name}`);
      expect(back.message).to.equal(`write ${i} after the voter replacement`);
    }
    const events = await lab.api<{ items: Array<{ reason: string }> }>(
      'GET',
      '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dm4',
    );
    expect(events.items.map((e) => e.reason)).to.include.members([
      'EtcdLearnerAdded',
      'EtcdLearnerStarting',
      'EtcdLearnerStarted',
      'EtcdVoterJoined',
    ]);
    // m4 dialled the dead voter too (its store's endpoints are the voters it joined with): it stayed Ready all along
    const m4 = (await lab.members()).find((m) => m.metadata.name === 'm4');
    const ready = m4?.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.status).to.equal('True');
    expect(Date.parse(ready?.lastTransitionTime ?? ''), 'm4 Ready since before the kill').to.be.below(killedAt);
    const victimEvents = await lab.api<{ items: Array<{ reason: string }> }>(
      'GET',
      `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D${victim}`,
    );
    expect(victimEvents.items.map((e) => e.reason)).to.include('EtcdVoterRemoved');
  });

  it("supervises m4's etcd like a voter's started at join: restarted after SIGKILL", async () => {
    const before = etcdPid('m4');
    if (before === undefined || !pidAlive(before)) throw new Error("m4's etcd does not run");
    process.kill(before, 'SIGKILL');
    const after = await lab.until('m4 restarted its etcd', async () => {
      const pid = etcdPid('m4');
      return pid !== undefined && pid !== before && pidAlive(pid) ? pid : undefined;
    });
    await lab.until("m4's etcd answers as a voter again", async () =>
      (await etcdMembers(['m4'])).get('m4') === 'voter' ? true : undefined,
    );
    expect(pidAlive(before)).to.equal(false);
    expect(after).to.not.equal(before);
  });

  it('stops m4’s etcd on SIGTERM and runs it as a voter again when the daemon starts from cluster.json', async () => {
    const before = etcdPid('m4');
    if (before === undefined || !pidAlive(before)) throw new Error("m4's etcd does not run");
    const restart = await lab.lab(['restart', 'm4'], 300_000);
    expect(restart.code, restart.stderr).to.equal(0);
    expect(pidAlive(before), 'the SIGTERMed daemon stopped its etcd').to.equal(false);
    await lab.until('m4 Ready and a voter after the restart', async () => {
      const r = (await roles()).get('m4');
      const pid = etcdPid('m4');
      return r?.phase === 'Ready' && r.etcdRole === 'voter' && pid !== undefined && pid !== before && pidAlive(pid) ? true : undefined;
    });
    expect((await etcdMembers(['m4'])).get('m4')).to.equal('voter');
  });

  it("takes m4's etcd down with its SIGKILLed daemon, and the restarted daemon runs it again", async () => {
    const etcd = etcdPid('m4');
    const daemon = daemonPid('m4');
    if (etcd === undefined || !pidAlive(etcd) || daemon === undefined) throw new Error("m4's daemon or etcd does not run");
    process.kill(daemon, 'SIGKILL');
    await lab.until("m4's etcd dies with its daemon (parent-death signal)", async () => (pidAlive(etcd) ? undefined : true), 60_000);
    const restart = await lab.lab(['restart', 'm4'], 300_000);
    expect(restart.code, restart.stderr).to.equal(0);
    await lab.until('three voters again, m4 among them', async () => {
      const members = await etcdMembers(survivors);
      return members.size === 3 && survivors.every((m) => members.get(m) === 'voter') ? true : undefined;
    });
    await lab.until('m4 Ready again', async () => ((await roles()).get('m4')?.phase === 'Ready' ? true : undefined));
  });
});
