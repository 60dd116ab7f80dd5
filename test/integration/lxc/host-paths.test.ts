/**
 * Volume mount targets on real LXC (busybox): a target is resolved inside the
 * container's rootfs, so neither a climbing path nor a symlink the instance
 * planted makes LXC create or mount anything on the host.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import type { ImageInfo } from '../../../controllers/instances/images/types.js';
import { ValidationError } from '../../../lib/errors.js';
import { pathExists } from '../../../lib/host/fs.js';
import { capture, makeLab, preflight, type LxcLab } from './helpers.js';

describe('volume mount targets on real LXC (busybox)', function () {
  this.timeout(120_000);
  let lab: LxcLab;
  let image: ImageInfo;
  let host: string;
  let volume: string;

  before(async () => {
    await preflight();
    lab = await makeLab('cl-lxc-paths-');
    image = await new ImageStore({ imagesDir: join(lab.dataDir, 'images') }).ensure('busybox');
    // host: a directory standing for "the host outside Cloudlet"; volume: a volume's directory
    host = await mkdtemp(join(tmpdir(), 'cl-host-outside-'));
    volume = await mkdtemp(join(tmpdir(), 'cl-volume-'));
  });
  after(async () => {
    await lab?.cleanup();
    if (host) await rm(host, { recursive: true, force: true });
    if (volume) await rm(volume, { recursive: true, force: true });
  });

  async function refused(fn: () => Promise<unknown>): Promise<string> {
    try {
      await fn();
    } catch (err) {
      expect(err).to.be.instanceOf(ValidationError);
      return (err as Error).message;
    }
    throw new Error('it was not refused');
  }

  it('refuses a mount path that climbs out with .. and creates nothing on the host', async () => {
    const evil = `/../../../../../../../../..${host}/made-by-lxc`;
    const spec = await lab.spec('climb', image, { mounts: [{ source: volume, path: evil }] });
    expect(await refused(() => lab.runtime.ensureCreated(spec))).to.match(/"\.\." segment/);
    expect(await pathExists(join(host, 'made-by-lxc'))).to.equal(false);
    expect(await pathExists(join(lab.runtime.lxcPath, spec.containerName, 'config'))).to.equal(false);
  });

  it('refuses a mount path through a symlink the instance pointed at the host, and creates nothing there', async () => {
    const spec = await lab.spec('symlinked', image, { mounts: [{ source: volume, path: '/data/sub' }] });
    await symlink(`../../../../../../../../..${host}`, join(spec.rootfsPath, 'data'));
    expect(await refused(() => lab.runtime.ensureCreated(spec))).to.match(/points outside/);
    expect(await pathExists(join(host, 'sub'))).to.equal(false);
  });

  it('refuses a symlink to / at the mount path instead of mounting over the instance root', async () => {
    const spec = await lab.spec('rooted', image, { mounts: [{ source: volume, path: '/data' }] });
    await symlink('/', join(spec.rootfsPath, 'data'));
    expect(await refused(() => lab.runtime.ensureCreated(spec))).to.match(/resolves to \//);
  });

  it('mounts a volume through a symlink that stays inside the rootfs, without create=dir in the config', async () => {
    const spec = await lab.spec('inside', image, { mounts: [{ source: volume, path: '/data' }] });
    await mkdir(join(spec.rootfsPath, 'srv'));
    await symlink('/srv', join(spec.rootfsPath, 'data'));
    await lab.runtime.ensureCreated(spec);
    const config = await readFile(join(lab.runtime.lxcPath, spec.containerName, 'config'), 'utf8');
    expect(config).to.contain(`lxc.mount.entry = ${volume} srv none bind 0 0\n`);
    expect(config).to.not.contain('create=dir');
    await lab.runtime.start(spec.containerName);
    const out = capture();
    expect(
      await lab.runtime.exec(spec.containerName, ['sh', '-c', 'echo written-inside > /data/f && cat /srv/f'], {
        stdout: out.stream,
        stderr: out.stream,
        stdin: 'ignore',
      }),
    ).to.equal(0);
    expect(out.text()).to.equal('written-inside\n');
    expect(await readFile(join(volume, 'f'), 'utf8')).to.equal('written-inside\n');
    await lab.runtime.stop(spec.containerName, { force: true });
  });

  it('checks again at start: a mount path the instance replaced by an escaping symlink while defined is refused and nothing starts', async () => {
    const spec = await lab.spec('swapped', image, { mounts: [{ source: volume, path: '/mnt/vol' }] });
    await lab.runtime.ensureCreated(spec);
    expect(await pathExists(join(spec.rootfsPath, 'mnt/vol'))).to.equal(true);
    // What root in the instance could do while it ran: swap /mnt for a symlink out of the rootfs.
    await rm(join(spec.rootfsPath, 'mnt'), { recursive: true });
    await symlink(`../../../../../../../../..${host}`, join(spec.rootfsPath, 'mnt'));
    expect(await refused(() => lab.runtime.start(spec.containerName))).to.match(/points outside/);
    expect(await pathExists(join(host, 'vol'))).to.equal(false);
    expect((await lab.runtime.observe(spec.containerName)).state).to.equal('STOPPED');
  });

  it('touches nothing in the rootfs of a running container when its limits change, and refuses the swapped target at the next start', async () => {
    const spec = await lab.spec('live', image, { mounts: [{ source: volume, path: '/opt/vol' }] });
    await lab.runtime.ensureCreated(spec);
    await lab.runtime.start(spec.containerName);
    // Root in the running instance swaps /opt for a symlink out of the rootfs (done here from the host side).
    await rm(join(spec.rootfsPath, 'opt'), { recursive: true, force: true });
    await symlink(`../../../../../../../../..${host}`, join(spec.rootfsPath, 'opt'));
    await lab.runtime.setLimits(spec.containerName, { cpu: 1, memoryBytes: 64 * 2 ** 20 });
    expect(await pathExists(join(host, 'vol'))).to.equal(false);
    await lab.runtime.stop(spec.containerName, { force: true });
    expect(await refused(() => lab.runtime.start(spec.containerName))).to.match(/points outside/);
    expect(await pathExists(join(host, 'vol'))).to.equal(false);
  });

  it('writes /etc/hostname inside the rootfs even when the instance made /etc a symlink to the host /etc', async () => {
    const spec = await lab.spec('etc-link', image);
    await rm(join(spec.rootfsPath, 'etc'), { recursive: true });
    await mkdir(join(host, 'etc'));
    // The instance reads this absolute link inside its own root (where it leads nowhere); a host-side write following it would land in `host`.
    await symlink(`${host}/etc`, join(spec.rootfsPath, 'etc'));
    await lab.runtime.ensureCreated(spec);
    expect(await pathExists(join(host, 'etc', 'hostname'))).to.equal(false);
  });
});
