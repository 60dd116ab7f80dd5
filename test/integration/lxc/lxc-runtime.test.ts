import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import type { ImageInfo } from '../../../controllers/instances/images/types.js';
import { readCgroupLimits } from '../../../lib/host/cgroup.js';
import { pathExists } from '../../../lib/host/fs.js';
import { capture, makeLab, preflight, waitForState, type LxcLab } from './helpers.js';
import { eventually } from '../../helpers/poll.js';

const MiB = 2 ** 20;

describe('LxcRuntime on real LXC (busybox)', function () {
  this.timeout(120_000);
  let lab: LxcLab;
  let image: ImageInfo;

  before(async () => {
    await preflight();
    lab = await makeLab();
    image = await new ImageStore({ imagesDir: join(lab.dataDir, 'images') }).ensure('busybox');
  });
  after(async () => {
    await lab?.cleanup();
  });

  it('starts a container whose host cgroup carries the memory and cpu limits', async () => {
    const spec = await lab.spec('limits', image, { memoryBytes: 64 * MiB, cpu: 0.5 });
    await lab.runtime.ensureCreated(spec);
    await lab.runtime.start(spec.containerName);
    const obs = await lab.runtime.observe(spec.containerName);
    expect(obs.state).to.equal('RUNNING');
    expect(obs.pid).to.be.a('number');
    expect(obs.initStartedAt).to.be.a('string');
    const limits = await readCgroupLimits(obs.pid ?? 0);
    expect(limits.memoryBytes).to.equal(64 * MiB);
    expect(limits.cpu).to.equal(0.5);
  });

  it('execs commands, passing stdin and stdout through and returning exit codes', async () => {
    const name = (await lab.spec('limits', image)).containerName;
    const out = capture();
    expect(
      await lab.runtime.exec(name, ['sh', '-c', 'hostname; cat; exit 3'], {
        stdin: Readable.from(['piped-in']),
        stdout: out.stream,
        stderr: out.stream,
      }),
    ).to.equal(3);
    expect(out.text()).to.equal('limits\npiped-in');
    expect(await lab.runtime.exec(name, ['true'], { stdin: 'ignore' })).to.equal(0);
  });

  it('raises the memory limit live without restarting the container', async () => {
    const name = (await lab.spec('limits', image)).containerName;
    const before = await lab.runtime.observe(name);
    await lab.runtime.setLimits(name, { memoryBytes: 128 * MiB, cpu: 1 });
    const after = await lab.runtime.observe(name);
    expect(after.initStartedAt).to.equal(before.initStartedAt);
    const limits = await readCgroupLimits(after.pid ?? 0);
    expect(limits.memoryBytes).to.equal(128 * MiB);
    expect(limits.cpu).to.equal(1);
  });

  it('sees the container STOPPED after halt inside it', async () => {
    const spec = await lab.spec('halter', image);
    await lab.runtime.ensureCreated(spec);
    await lab.runtime.start(spec.containerName);
    await lab.runtime.exec(spec.containerName, ['halt'], { stdin: 'ignore' });
    expect((await waitForState(lab.runtime, spec.containerName, 'STOPPED')).state).to.equal('STOPPED');
  });

  it('treats start, stop and ensureCreated as idempotent and keeps the console log across restarts', async () => {
    const spec = await lab.spec('cycler', image);
    expect((await lab.runtime.ensureCreated(spec)).created).to.equal(true);
    expect((await lab.runtime.ensureCreated(spec)).created).to.equal(false);
    await lab.runtime.start(spec.containerName);
    await lab.runtime.start(spec.containerName);
    const first = await lab.runtime.observe(spec.containerName);
    await lab.runtime.stop(spec.containerName);
    await lab.runtime.stop(spec.containerName);
    expect((await lab.runtime.observe(spec.containerName)).state).to.equal('STOPPED');
    await lab.runtime.start(spec.containerName);
    const second = await lab.runtime.observe(spec.containerName);
    expect(second.state).to.equal('RUNNING');
    expect(second.pid).to.not.equal(first.pid);
    // rcS runs asynchronously after init starts: give it a moment to write.
    const log = lab.runtime.consoleLogPath(spec.containerName);
    let text = '';
    const upTwice = async (): Promise<boolean> =>
      ((text = (await readFile(log, 'utf8').catch(() => '')) ?? '').match(/cycler is up/g) ?? []).length >= 2;
    await eventually('the console log to say "cycler is up" twice', upTwice, { timeoutMs: 10_000, everyMs: 200 }).catch(() => undefined);
    expect((text.match(/cycler is up/g) ?? []).length).to.equal(2);
  });

  it('deletes a running container leaving no container dir, no rootfs and no cgroup', async () => {
    const spec = await lab.spec('doomed', image, { memoryBytes: 32 * MiB });
    await lab.runtime.ensureCreated(spec);
    await lab.runtime.start(spec.containerName);
    const obs = await lab.runtime.observe(spec.containerName);
    const { memoryDir } = await readCgroupLimits(obs.pid ?? 0);
    expect(memoryDir).to.be.a('string');
    await lab.runtime.delete(spec.containerName);
    await lab.runtime.delete(spec.containerName);
    await lab.rootfs.deleteRootfs(spec.containerName);
    expect(await lab.runtime.observe(spec.containerName)).to.deep.equal({ exists: false, state: 'STOPPED' });
    expect(await pathExists(join(lab.runtime.lxcPath, spec.containerName))).to.equal(false);
    expect(await pathExists(spec.rootfsPath)).to.equal(false);
    expect(await pathExists(memoryDir ?? '/nonexistent')).to.equal(false);
    expect(await lab.runtime.list()).to.not.include(spec.containerName);
  });

  it('never collides with another daemon running the same instance name on this kernel', async () => {
    const other = await makeLab('cl-lxc-it-other-');
    try {
      const otherImage = await new ImageStore({ imagesDir: join(other.dataDir, 'images') }).ensure('busybox');
      const a = await lab.spec('twin', image);
      const b = await other.spec('twin', otherImage);
      expect(a.containerName).to.not.equal(b.containerName);
      for (const [l, s] of [
        [lab, a],
        [other, b],
      ] as const) {
        await l.runtime.ensureCreated(s);
        await l.runtime.start(s.containerName);
      }
      expect((await lab.runtime.observe(a.containerName)).state).to.equal('RUNNING');
      expect((await other.runtime.observe(b.containerName)).state).to.equal('RUNNING');
      expect(await lab.runtime.list())
        .to.include(a.containerName)
        .and.not.include(b.containerName);
      expect(await other.runtime.list()).to.deep.equal([b.containerName]);
    } finally {
      await other.cleanup();
    }
  });
});
