import { expect } from 'chai';
import { mkdtemp, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxcRuntime, needsWait, parseLxcInfo } from '../../../../../controllers/instances/runtimes/lxc.js';
import { containerNameFor } from '../../../../../controllers/instances/runtimes/naming.js';
import type { AttachedOptions, HostRunner, RunOptions, RunResult } from '../../../../../lib/host/exec.js';
import { UnavailableError, ValidationError } from '../../../../../lib/errors.js';

/** FakeRunner records argv and answers lxc-info with a scripted state. */
class FakeRunner implements HostRunner {
  calls: string[][] = [];
  state = 'STOPPED';
  async run(argv: string[], _opts?: RunOptions): Promise<RunResult> {
    this.calls.push(argv);
    if (argv[0] === 'lxc-info') return { stdout: `State:          ${this.state}\nPID:            4242\n`, stderr: '', exitCode: 0 };
    if (argv[0] === 'lxc-start') this.state = 'RUNNING';
    if (argv[0] === 'lxc-stop') this.state = 'STOPPED';
    return { stdout: '', stderr: '', exitCode: 0 };
  }
  async spawnAttached(argv: string[], _opts?: AttachedOptions): Promise<number> {
    this.calls.push(argv);
    return 5;
  }
  tools(): string[] {
    return this.calls.map((c) => c[0] ?? '');
  }
}

describe('LxcRuntime (fake host)', () => {
  let dataDir: string;
  let runner: FakeRunner;
  let rt: LxcRuntime;
  let name: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cl-lxc-unit-'));
    runner = new FakeRunner();
    rt = new LxcRuntime({ dataDir, runner, cgroupLayout: { memory: 1, cpu: 1 } });
    name = containerNameFor({ dataDir, namespace: 'default', name: 'web' });
    await mkdir(join(dataDir, 'rootfs', 'etc'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  const spec = () => ({
    containerName: name,
    hostname: 'web',
    rootfsPath: join(dataDir, 'rootfs'),
    memoryBytes: 1 << 28,
    nics: [],
    mounts: [],
  });

  it('parses lxc-info output', () => {
    expect(parseLxcInfo('State:          RUNNING\nPID:            12\nIP:             10.0.0.2\n')).to.deep.equal({
      state: 'RUNNING',
      pid: 12,
      addresses: ['10.0.0.2'],
    });
    expect(parseLxcInfo('State:          STOPPED\n')).to.deep.equal({ state: 'STOPPED', addresses: [] });
  });

  it('creates the definition once and reports later calls as unchanged', async () => {
    expect(await rt.ensureCreated(spec())).to.deep.equal({ created: true, configChanged: false });
    expect(await rt.ensureCreated(spec())).to.deep.equal({ created: false, configChanged: false });
    expect(await rt.ensureCreated({ ...spec(), memoryBytes: 1 << 29 })).to.deep.equal({ created: false, configChanged: true });
    expect(await readFile(join(dataDir, 'rootfs', 'etc', 'hostname'), 'utf8')).to.equal('web\n');
    expect(await rt.list()).to.deep.equal([name]);
  });

  it('refuses a container name without its own prefix', async () => {
    const err = await rt.ensureCreated({ ...spec(), containerName: 'someone-else' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ValidationError);
  });

  it('passes -P <dataDir>/lxc to every tool and skips start when already running', async () => {
    await rt.ensureCreated(spec());
    await rt.start(name);
    await rt.start(name);
    expect(runner.tools().filter((t) => t === 'lxc-start')).to.have.length(1);
    for (const c of runner.calls) expect(c.slice(1, 5)).to.deep.equal(['-P', join(dataDir, 'lxc'), '-n', name]);
  });

  it('starts with one lxc-info before lxc-start and one after, and returns what it saw (no lxc-wait when RUNNING)', async () => {
    await rt.ensureCreated(spec());
    runner.calls = [];
    const obs = await rt.start(name);
    expect(runner.tools()).to.deep.equal(['lxc-info', 'lxc-start', 'lxc-info']);
    expect(obs).to.include({ exists: true, state: 'RUNNING', pid: 4242 });
  });

  it('waits with lxc-wait only when the container is not RUNNING yet after lxc-start', async () => {
    await rt.ensureCreated(spec());
    const run = runner.run.bind(runner);
    runner.run = async (argv, opts) => {
      const r = await run(argv, opts);
      if (argv[0] === 'lxc-start') runner.state = 'STARTING';
      if (argv[0] === 'lxc-wait') runner.state = 'RUNNING';
      return r;
    };
    runner.calls = [];
    expect(await rt.start(name)).to.include({ state: 'RUNNING' });
    expect(runner.tools()).to.deep.equal(['lxc-info', 'lxc-start', 'lxc-info', 'lxc-wait', 'lxc-info']);
    expect(needsWait('RUNNING')).to.equal(false);
    expect(needsWait('STARTING')).to.equal(true);
  });

  it('resolves mount targets inside the rootfs before every lxc-start and refuses one that climbs out', async () => {
    const vol = join(dataDir, 'vol');
    await mkdir(vol, { recursive: true });
    await rt.ensureCreated({ ...spec(), mounts: [{ source: vol, path: '/data' }] });
    await rm(join(dataDir, 'rootfs', 'data'), { recursive: true, force: true });
    await symlink('../../..', join(dataDir, 'rootfs', 'data'));
    runner.calls = [];
    const err = await rt.start(name).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ValidationError);
    expect(runner.tools()).to.not.include('lxc-start');
  });

  it('does nothing to stop a stopped container or delete an absent one', async () => {
    await rt.stop(name);
    await rt.delete(name);
    expect(runner.tools()).to.deep.equal([]);
  });

  it('execs through lxc-attach with a clean environment and returns the exit code', async () => {
    await rt.ensureCreated(spec());
    runner.state = 'RUNNING';
    const code = await rt.exec(name, ['echo', 'hi'], { stdin: 'ignore' });
    expect(code).to.equal(5);
    const argv = runner.calls.at(-1) ?? [];
    expect(argv[0]).to.equal('lxc-attach');
    expect(argv).to.include('--clear-env');
    expect(argv.slice(-3)).to.deep.equal(['--', 'echo', 'hi']);
  });

  it('refuses exec into a stopped container', async () => {
    await rt.ensureCreated(spec());
    const err = await rt.exec(name, ['true']).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UnavailableError);
  });

  it('writes new limits live through lxc-cgroup when running', async () => {
    await rt.ensureCreated(spec());
    runner.state = 'RUNNING';
    await rt.setLimits(name, { memoryBytes: 1 << 29, cpu: 1 });
    const cg = runner.calls.filter((c) => c[0] === 'lxc-cgroup').map((c) => c.slice(5));
    expect(cg).to.deep.equal([
      ['memory.limit_in_bytes', String(1 << 29)],
      ['cpu.cfs_period_us', '100000'],
      ['cpu.cfs_quota_us', '100000'],
    ]);
    expect(await readFile(join(dataDir, 'lxc', name, 'config'), 'utf8')).to.contain(`lxc.cgroup.memory.limit_in_bytes = ${1 << 29}`);
  });
});
