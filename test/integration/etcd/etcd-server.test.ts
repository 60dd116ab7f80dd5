import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { EtcdServer, type EtcdServerInfo } from '../../../lib/etcd/server.js';
import { findEtcdBinary } from '../../../lib/etcd/binary.js';
import { checkEtcdHealth } from '../../../lib/etcd/health.js';
import { isAlive, killAndWait } from '../../../lib/etcd/process.js';
import { projectRoot } from '../../../lib/kinds/registry.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { eventually } from '../../helpers/poll.js';

const here = dirname(fileURLToPath(import.meta.url));

const waitUntil = (what: string, cond: () => boolean, timeoutMs = 20_000): Promise<true> =>
  eventually(what, () => cond() || undefined, { timeoutMs, everyMs: 50 });

/** startParent runs the fixture daemon in a child node process and reads the etcd PID it prints. */
async function startParent(dataDir: string, dieWithParent: boolean): Promise<{ parent: ChildProcess; etcdPid: number }> {
  // run the fixture the way this file runs: TypeScript through tsx, or compiled from dist/
  const ts = fileURLToPath(import.meta.url).endsWith('.ts');
  const fixture = join(here, 'fixtures', ts ? 'etcd-parent.ts' : 'etcd-parent.js');
  const parent = spawn(process.execPath, [...(ts ? ['--import', 'tsx'] : []), fixture, dataDir, String(dieWithParent)], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: parent.stdout as NodeJS.ReadableStream }).once('line', resolve);
    parent.once('exit', (code) => reject(new Error(`fixture parent exited with ${code}`)));
  });
  const parsed = JSON.parse(line) as { etcdPid: number };
  return { parent, etcdPid: parsed.etcdPid };
}

describe('EtcdServer (real etcd)', function () {
  this.timeout(60_000);
  let dataDir: string;
  const servers: EtcdServer[] = [];
  const pids: number[] = [];

  beforeEach(async () => {
    findEtcdBinary(); // fails with the apt-get hint when etcd is missing
    dataDir = await mkdtemp(join(tmpdir(), 'cloudlet-etcd-test-'));
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
    for (const pid of pids.splice(0)) await killAndWait(pid, { graceMs: 2000 });
    await rm(dataDir, { recursive: true, force: true });
  });

  function newServer(): EtcdServer {
    const s = new EtcdServer({ dataDir, logger: silentLogger(), stopGraceMs: 5000, backoff: { initialMs: 100 } });
    servers.push(s);
    return s;
  }

  it('starts etcd under <dataDir>/etcd and reports healthy', async () => {
    const server = newServer();
    const info = await server.start();
    pids.push(info.pid);
    expect(await checkEtcdHealth(info.clientUrl)).to.equal(true);
    expect((await readFile(join(dataDir, 'etcd', 'etcd.pid'), 'utf8')).trim()).to.equal(String(info.pid));
    const ports = JSON.parse(await readFile(join(dataDir, 'etcd', 'ports.json'), 'utf8')) as { client: number };
    expect(info.clientUrl).to.equal(`http://127.0.0.1:${ports.client}`);
    expect(existsSync(join(dataDir, 'etcd', 'data', 'member'))).to.equal(true);
  });

  it('reuses the remembered ports when started again', async () => {
    const server = newServer();
    const first = await server.start();
    await server.stop();
    const second = await server.start();
    pids.push(second.pid);
    expect(second.ports).to.deep.equal(first.ports);
    expect(second.pid).to.not.equal(first.pid);
  });

  it('removes the pidfile and leaves no process after stop', async () => {
    const server = newServer();
    const info = await server.start();
    await server.stop();
    expect(isAlive(info.pid)).to.equal(false);
    expect(existsSync(join(dataDir, 'etcd', 'etcd.pid'))).to.equal(false);
  });

  it('restarts etcd after it is killed with SIGKILL', async () => {
    const server = newServer();
    const first = await server.start();
    const restarted = new Promise<EtcdServerInfo>((resolve) => server.once('started', resolve));
    process.kill(first.pid, 'SIGKILL');
    const second = await restarted;
    pids.push(second.pid);
    expect(second.pid).to.not.equal(first.pid);
    expect(second.clientUrl).to.equal(first.clientUrl);
    expect(await checkEtcdHealth(second.clientUrl)).to.equal(true);
  });

  it('reaps the etcd left running by a SIGKILLed parent on the next start', async () => {
    const { parent, etcdPid } = await startParent(dataDir, false);
    pids.push(etcdPid);
    parent.kill('SIGKILL');
    await new Promise((resolve) => parent.once('exit', resolve));
    expect(isAlive(etcdPid), 'without the death signal the old etcd outlives its parent').to.equal(true);
    const server = newServer();
    const info = await server.start();
    pids.push(info.pid);
    expect(isAlive(etcdPid)).to.equal(false);
    expect(await checkEtcdHealth(info.clientUrl)).to.equal(true);
    await server.stop();
    expect(isAlive(info.pid)).to.equal(false);
  });

  it('lets the kernel kill etcd when its parent is SIGKILLed', async () => {
    const { parent, etcdPid } = await startParent(dataDir, true);
    pids.push(etcdPid);
    parent.kill('SIGKILL');
    await waitUntil('the orphaned etcd is gone', () => !isAlive(etcdPid));
  });

  it('names apt-get install etcd-server when etcd is missing', () => {
    expect(() => findEtcdBinary({ searchPath: '/nonexistent' })).to.throw(/apt-get install etcd-server/);
  });
});
