/**
 * Failover end-to-end on a 3-member lab (deploy/lab/lab.sh) with real LXC
 * busybox instances (recovery failover): the member that leads is killed
 * and the cluster keeps serving and failing over; a member killed with
 * SIGKILL has its instances Running elsewhere and, restarted, loses its
 * stale copies and turns Ready; a partitioned member stops its instances
 * before others start them — a watcher samples `lab.sh ps` every 0.5 s for
 * the whole suite and must never see one instance on two members; evacuate
 * and restore move instances off a member and back. Needs root, LXC,
 * iproute2, curl and etcd; the lab is always taken down in after().
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabDriver, type WatchReport } from '../../bench/failover/lab-driver.js';
import { projectRoot } from '../../lib/kinds/registry.js';

const root = projectRoot();
const labDir = mkdtempSync(join(tmpdir(), 'cloudlet-failover-e2e-'));
const lab = new LabDriver({ root, labDir, labId: process.env.LAB_ID ?? '6' });
const names = ['fo-a', 'fo-b', 'fo-c'];

function need(tool: string, pkg: string): void {
  const found = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, tool)));
  if (!found) throw new Error(`${tool} is missing: apt-get install ${pkg}`);
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  await lab.labOk(['kubeconfig']); // points the admin kubeconfig at a member that answers now
  return new Promise((res) => {
    execFile(
      'node',
      [join(root, 'dist', 'cli', 'main.js'), '--kubeconfig', join(labDir, 'kubeconfig'), ...args],
      { cwd: root, timeout: 180_000 },
      (err, stdout, stderr) => {
        res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
      },
    );
  });
}

async function placement(): Promise<Map<string, { member: string; phase: string; epoch: number }>> {
  return new Map(
    (await lab.instances()).map((i) => [
      i.metadata.name,
      { member: i.status?.member ?? '', phase: i.status?.phase ?? '', epoch: i.status?.placementEpoch ?? 0 },
    ]),
  );
}

/** settled: every member Ready, every instance Running on exactly the host the API names. */
async function settled(): Promise<true | undefined> {
  const [api, ps, members] = await Promise.all([placement(), lab.ps(), lab.members()]);
  if (members.length !== 3 || members.some((m) => m.status?.phase !== 'Ready')) return undefined;
  for (const n of names) {
    const a = api.get(n);
    const hosts = ps.get(`default/${n}`) ?? [];
    if (a?.phase !== 'Running' || hosts.length !== 1 || hosts[0] !== a.member) return undefined;
  }
  return true;
}

/** movedOff waits until every instance of `affected` runs on a member other than `victim`. */
async function movedOff(victim: string, affected: string[]): Promise<void> {
  await lab.until(`${affected.join(', ')} run off ${victim}`, async () => {
    const api = await placement();
    return affected.every((n) => api.get(n)?.member !== victim && api.get(n)?.phase === 'Running') ? true : undefined;
  });
}

function containersOn(member: string): string[] {
  const dir = join(labDir, member, 'lxc');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('failover on a 3-member lab with real LXC', function () {
  this.timeout(900_000);
  const stopWatch = new AbortController();
  const report: WatchReport = { samples: 0, doubleSamples: 0, examples: [] };
  let watching: Promise<WatchReport> | undefined;

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces and LXC): run the e2e tests as root');
    need('lxc-start', 'lxc');
    need('ip', 'iproute2');
    need('curl', 'curl');
    need('etcd', 'etcd-server');
    await lab.labOk(['up', '3'], 600_000);
    await lab.labOk(['kubeconfig']);
    for (const n of names) await lab.createInstance(n);
    await lab.until('the instances run', settled, 300_000, 500);
    watching = lab.watch(stopWatch.signal, 500, report);
  });

  after(async () => {
    stopWatch.abort();
    await watching?.catch(() => undefined);
    await lab.lab(['down'], 300_000);
    rmSync(labDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(report.doubleSamples, `an instance ran on two members: ${report.examples.join('; ')}`).to.equal(0);
  });

  it('keeps serving and failing over when the member that leads is killed', async () => {
    const leader = lab.leader();
    expect(leader, 'a member leads the cluster controllers').to.be.a('string');
    const before = await placement();
    const affected = names.filter((n) => before.get(n)?.member === leader);
    await lab.labOk(['kill', leader!]);
    await lab.until('another member leads', async () => (lab.leader() !== leader ? true : undefined));
    expect((await lab.members()).length).to.equal(3);
    await movedOff(leader!, affected);
    await lab.labOk(['restart', leader!]);
    await lab.until('the lab settles', settled, 180_000, 500);
  });

  it('runs the instances of a member killed with SIGKILL on other members, and removes its stale copies when it returns', async () => {
    const api = await placement();
    const victim = api.get('fo-b')?.member ?? 'm2';
    const affected = names.filter((n) => api.get(n)?.member === victim);
    await lab.labOk(['kill', victim]);
    await movedOff(victim, affected);
    for (const n of affected) expect((await placement()).get(n)?.epoch).to.be.greaterThan(api.get(n)?.epoch ?? 0);
    await lab.labOk(['restart', victim]);
    await lab.until('the lab settles', settled, 180_000, 500);
    // The returning agent removes its stale copies once its instance cache has synced, which can
    // finish after the member is Ready again: wait for it (bounded), then say what is left if anything.
    const staleNow = async (): Promise<string[]> => {
      const now = await placement();
      return containersOn(victim).filter((c) => affected.some((n) => c.endsWith(`_${n}`) && now.get(n)?.member !== victim));
    };
    await lab
      .until(`the stale copies on ${victim} are removed`, async () => ((await staleNow()).length === 0 ? true : undefined), 120_000, 500)
      .catch(() => undefined);
    expect(await staleNow()).to.deep.equal([]);
  });

  it('stops the instances of a partitioned member before other members start them, and cleans up on heal', async () => {
    const api = await placement();
    const victim = api.get('fo-c')?.member ?? 'm3';
    const affected = names.filter((n) => api.get(n)?.member === victim);
    const samplesBefore = report.samples;
    await lab.labOk(['partition', victim]);
    await movedOff(victim, affected);
    await lab.labOk(['heal', victim]);
    await lab.until('the lab settles', settled, 180_000, 500);
    expect(report.samples).to.be.greaterThan(samplesBefore);
    const members = await lab.members();
    expect(members.find((m) => m.metadata.name === victim)?.status?.phase).to.equal('Ready');
    const events = await lab.api<{ items: Array<{ reason: string; involvedObject: { name: string } }> }>(
      'GET',
      '/api/v1/namespaces/default/events',
    );
    const reasons = new Set(events.items.filter((e) => affected.includes(e.involvedObject.name)).map((e) => e.reason));
    for (const r of ['HeartbeatLost', 'Rescheduled', 'Started']) expect([...reasons]).to.include(r);
  });

  it('evacuates a member and restores it', async () => {
    const api = await placement();
    const target = api.get('fo-a')?.member ?? 'm1';
    const evac = await cli(['member', 'evacuate', target, '--wait']);
    expect(evac.code, evac.out).to.equal(0);
    const after = await placement();
    expect(names.filter((n) => after.get(n)?.member === target)).to.deep.equal([]);
    await lab.until('nothing runs on the evacuated member', async () =>
      (await lab.ps()).size > 0 && [...(await lab.ps()).values()].every((ms) => !ms.includes(target)) ? true : undefined,
    );
    const evacuated = (await lab.members()).find((m) => m.metadata.name === target);
    expect(evacuated?.status?.phase).to.equal('Evacuated');
    expect(evacuated?.spec?.unschedulable).to.equal(true);
    const restore = await cli(['member', 'restore', target, '--wait']);
    expect(restore.code, restore.out).to.equal(0);
    await lab.until('the lab settles', settled, 180_000, 500);
    const back = await placement();
    expect(back.get('fo-a')?.member).to.equal(target);
  });
});
