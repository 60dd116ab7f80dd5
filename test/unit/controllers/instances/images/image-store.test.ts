import { expect } from 'chai';
import { lstat, mkdtemp, readFile, readlink, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../../../../../controllers/instances/images/image-store.js';
import { needsInterpreter } from '../../../../../controllers/instances/images/busybox.js';
import { CopyRootfsProvider } from '../../../../../controllers/instances/images/rootfs.js';
import type { ImageProgress } from '../../../../../controllers/instances/images/types.js';
import { run } from '../../../../../lib/host/exec.js';
import { NotFoundError } from '../../../../../lib/errors.js';

describe('ImageStore (busybox and tarballs, no network)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-images-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds that the host busybox is static and /bin/sh is not', async () => {
    expect(needsInterpreter(await readFile('/bin/busybox')), 'apt-get install busybox-static').to.equal(false);
    expect(needsInterpreter(await readFile('/bin/bash'))).to.equal(true);
  });

  it('builds the busybox image once, with applets, init and etc files', async () => {
    const store = new ImageStore({ imagesDir: join(dir, 'images') });
    const progress: ImageProgress[] = [];
    const [a, b] = await Promise.all([store.ensure('busybox', { onProgress: (p) => progress.push(p) }), store.ensure('busybox')]);
    expect(a).to.deep.equal(b);
    expect(a.distro).to.equal('busybox');
    expect(a.haltSignal).to.equal('SIGUSR1');
    expect(progress.filter((p) => p.phase === 'preparing')).to.have.length(1);
    expect(progress.at(-1)?.phase).to.equal('ready');
    const root = a.rootfsPath;
    expect(await readlink(join(root, 'sbin/init'))).to.equal('/bin/busybox');
    expect(await readlink(join(root, 'sbin/halt'))).to.equal('/bin/busybox');
    expect((await stat(join(root, 'bin/busybox'))).mode & 0o111).to.not.equal(0);
    expect(await readFile(join(root, 'etc/passwd'), 'utf8')).to.match(/^root:x:0:0:/);
    expect(await readFile(join(root, 'etc/inittab'), 'utf8')).to.contain('::sysinit:/etc/init.d/rcS');
    expect((await readdir(join(dir, 'images'))).filter((n) => n.startsWith('.'))).to.deep.equal([]);
  });

  it('returns the cached image without rebuilding', async () => {
    const store = new ImageStore({ imagesDir: join(dir, 'images') });
    const progress: ImageProgress[] = [];
    await store.ensure('busybox', { onProgress: (p) => progress.push(p) });
    expect(progress).to.deep.equal([]);
  });

  it('extracts a file:// tarball into a cache entry', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'etc'), { recursive: true });
    await writeFile(join(src, 'etc/marker'), 'from-tarball');
    await run(['tar', '-czf', join(dir, 'rootfs.tar.gz'), '-C', src, '.']);
    const store = new ImageStore({ imagesDir: join(dir, 'images') });
    const img = await store.ensure(`file://${join(dir, 'rootfs.tar.gz')}`);
    expect(img.name).to.match(/^file-[0-9a-f]{12}$/);
    expect(img.distro).to.equal('generic');
    expect(await readFile(join(img.rootfsPath, 'etc/marker'), 'utf8')).to.equal('from-tarball');
  });

  it('fails clearly for a missing tarball', async () => {
    const store = new ImageStore({ imagesDir: join(dir, 'images') });
    const err = await store.ensure('file:///nonexistent/rootfs.tar.gz').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NotFoundError);
  });

  it('clones an image into an instance rootfs and deletes it idempotently', async () => {
    const store = new ImageStore({ imagesDir: join(dir, 'images') });
    const img = await store.ensure('busybox');
    const provider = new CopyRootfsProvider({ dataDir: dir });
    const path = await provider.ensureRootfs({ containerName: 'cl-x-default_a', image: img });
    expect(await provider.ensureRootfs({ containerName: 'cl-x-default_a', image: img })).to.equal(path);
    expect(await readlink(join(path, 'bin/sh'))).to.equal('/bin/busybox');
    expect(await provider.list()).to.deep.equal(['cl-x-default_a']);
    await provider.deleteRootfs('cl-x-default_a');
    await provider.deleteRootfs('cl-x-default_a');
    expect(await lstat(path).catch(() => undefined)).to.equal(undefined);
    expect(await lstat(img.rootfsPath)).to.not.equal(undefined);
  });
});
