/**
 * Image builds on the real host (real tar, real processes): a tarball that
 * expands to 1 GiB (a "gzip bomb", a few MB on disk) is bounded by the size
 * limit and the time limit, is cancelled through the build's signal, and
 * dies with a SIGKILLed daemon; the junk a dead daemon leaves is removed at
 * the next start. Every check waits for an outcome, never for a duration.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { directoryBytes } from '../../../controllers/instances/images/build-limits.js';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import { CancelledError, TimeoutError, ValidationError } from '../../../lib/errors.js';
import { hostRunner, run, startDetached } from '../../../lib/host/exec.js';
import { which } from '../../../lib/host/which.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const GiB = 2 ** 30;

/** pidsWithArg lists the processes whose command line contains `text`. */
async function pidsWithArg(text: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((a) => a.includes(text))) out.push(Number(entry));
  }
  return out;
}

async function until(what: string, check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function buildDirs(imagesDir: string): Promise<string[]> {
  return (await readdir(imagesDir).catch(() => [] as string[])).filter((n) => n.startsWith('.build-'));
}

describe('image builds on the real host (tar, setpriv, unshare)', function () {
  this.timeout(180_000);
  let dir: string;
  let files: string;
  let bomb: string;
  const strays: number[] = [];

  before(async () => {
    for (const tool of ['tar', 'gzip', 'setpriv', 'unshare', 'du', 'truncate'])
      await which(tool, { package: 'util-linux, tar, gzip and coreutils' });
    dir = await mkdtemp(join(tmpdir(), 'cl-image-builds-'));
    files = join(dir, 'image-files');
    await mkdir(join(dir, 'src'), { recursive: true });
    await mkdir(files);
    await run(['truncate', '-s', String(GiB), join(dir, 'src', 'big')]);
    bomb = join(files, 'bomb.tar.gz');
    await run(['tar', '-c', '-f', bomb, '--use-compress-program=gzip -1', '-C', join(dir, 'src'), 'big'], { timeoutMs: 120_000 });
    await rm(join(dir, 'src'), { recursive: true });
  });
  after(async () => {
    for (const pid of [...strays, ...(bomb ? await pidsWithArg(bomb) : [])]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function store(name: string, limits: { timeoutMs?: number; maxBytes?: number; pollMs?: number }): ImageStore {
    return new ImageStore({ imagesDir: join(dir, name), fileImagesDir: files, limits });
  }

  it('stops an extraction past the size limit with a ValidationError and leaves no build directory or process', async () => {
    const s = store('size', { maxBytes: 16 * 2 ** 20, pollMs: 50 });
    const err = await s.ensure(`file://${bomb}`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ValidationError);
    expect((err as Error).message).to.match(/image size limit/);
    expect(await buildDirs(join(dir, 'size'))).to.deep.equal([]);
    expect(await pidsWithArg(bomb)).to.deep.equal([]);
  });

  it('stops an extraction past the time limit with a TimeoutError and leaves no build directory or process', async () => {
    const s = store('time', { timeoutMs: 200 });
    const err = await s.ensure(`file://${bomb}`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TimeoutError);
    expect(await buildDirs(join(dir, 'time'))).to.deep.equal([]);
    expect(await pidsWithArg(bomb)).to.deep.equal([]);
  });

  it('cancels an extraction through its signal, killing tar and gzip and removing the build directory', async () => {
    const s = store('cancel', { pollMs: 50 });
    const ctl = new AbortController();
    const build = s.ensure(`file://${bomb}`, { signal: ctl.signal }).catch((e: unknown) => e);
    await until('the extraction writes', async () => {
      const d = (await buildDirs(join(dir, 'cancel')))[0];
      return d !== undefined && (await directoryBytes(hostRunner, join(dir, 'cancel', d))) > 2 ** 20;
    });
    ctl.abort(new CancelledError('no instance wants it'));
    const err = await build;
    expect(err).to.be.instanceOf(CancelledError);
    expect(await buildDirs(join(dir, 'cancel'))).to.deep.equal([]);
    expect(await pidsWithArg(bomb)).to.deep.equal([]);
  });

  it('cancels a debootstrap build once it downloads, leaving no process, mount or build directory', async function () {
    this.timeout(10 * 60_000);
    await which('debootstrap');
    const imagesDir = join(dir, 'debian');
    const s = new ImageStore({ imagesDir, mirror: process.env.CLOUDLET_DEBIAN_MIRROR, limits: { pollMs: 500 } });
    const ctl = new AbortController();
    let retrieved = 0;
    const build = s
      .ensure('debian/bookworm', { signal: ctl.signal, onProgress: (p) => (retrieved = Math.max(retrieved, p.packages ?? 0)) })
      .catch((e: unknown) => e);
    await until('debootstrap retrieves packages (is the Debian mirror reachable?)', async () => retrieved >= 3, 5 * 60_000);
    const buildDir = (await buildDirs(imagesDir))[0] ?? '';
    expect(await pidsWithArg(buildDir)).to.not.deep.equal([]);
    ctl.abort(new CancelledError('the instance was deleted'));
    expect(await build).to.be.instanceOf(CancelledError);
    expect(await pidsWithArg(buildDir)).to.deep.equal([]);
    expect((await readFile('/proc/self/mountinfo', 'utf8')).includes(buildDir)).to.equal(false);
    expect(await buildDirs(imagesDir)).to.deep.equal([]);
  });

  it('kills the extraction when the daemon is SIGKILLed, and the next start removes the build directory it left', async () => {
    const imagesDir = join(dir, 'killed');
    const child = join(HERE, 'build-child.js');
    const pid = await startDetached([process.execPath, child, imagesDir, files, `file://${bomb}`], { logFile: join(dir, 'child.log') });
    strays.push(pid);
    await until('tar runs for the child', async () => (await pidsWithArg(bomb)).length >= 2);
    const extracting = await pidsWithArg(bomb);
    process.kill(pid, 'SIGKILL');
    // Nothing signals them but the kernel: pdeathsig and the end of their PID namespace.
    await until('every process of the build is gone', async () => (await pidsWithArg(bomb)).length === 0, 30_000);
    expect(extracting.length).to.be.greaterThan(0);
    expect(await buildDirs(imagesDir)).to.have.length(1);
    expect(await new ImageStore({ imagesDir }).removeStaleBuilds()).to.have.length(1);
    expect(await buildDirs(imagesDir)).to.deep.equal([]);
  });
});
