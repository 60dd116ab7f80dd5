import { expect } from 'chai';
import { lstat, mkdtemp, readFile, readlink, readdir, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../../../../../controllers/instances/images/image-store.js';
import { needsInterpreter } from '../../../../../controllers/instances/images/busybox.js';
import { CopyRootfsProvider } from '../../../../../controllers/instances/images/rootfs.js';
import type { ImageProgress } from '../../../../../controllers/instances/images/types.js';
import { run } from '../../../../../lib/host/exec.js';
import { NotFoundError, ValidationError } from '../../../../../lib/errors.js';

async function symlinkIn(dir: string, name: string, target: string): Promise<string> {
  await symlink(target, join(dir, name));
  return join(dir, name);
}

async function fifoIn(dir: string, name: string): Promise<string> {
  await run(['mkfifo', join(dir, name)]);
  return join(dir, name);
}

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
    const store = new ImageStore({ imagesDir: join(dir, 'images'), fileImagesDir: dir });
    const img = await store.ensure(`file://${join(dir, 'rootfs.tar.gz')}`);
    expect(img.name).to.match(/^file-[0-9a-f]{12}$/);
    expect(img.distro).to.equal('generic');
    expect(await readFile(join(img.rootfsPath, 'etc/marker'), 'utf8')).to.equal('from-tarball');
  });

  it('fails clearly for a missing tarball in the image directory', async () => {
    const store = new ImageStore({ imagesDir: join(dir, 'images'), fileImagesDir: dir });
    const err = await store.ensure(`file://${join(dir, 'missing.tar.gz')}`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NotFoundError);
  });

  describe('file:// images outside the image directory', () => {
    const refusals: Array<[string, (d: string) => Promise<string>, RegExp]> = [
      ['/dev/urandom', async () => '/dev/urandom', /must not be \/dev or below it/],
      ['a missing file elsewhere', async () => '/nonexistent/rootfs.tar.gz', /not inside the image directory/],
      [
        '/etc/shadow through a symlink in the directory',
        async (d) => symlinkIn(d, 'shadow.tar', '/etc/shadow'),
        /not inside the image directory/,
      ],
      [
        '/dev/urandom through a symlink in the directory',
        async (d) => symlinkIn(d, 'random.tar', '/dev/urandom'),
        /not inside the image directory/,
      ],
      ['a FIFO in the directory', async (d) => fifoIn(d, 'pipe.tar'), /not a regular file/],
      ['a directory in the directory', async (d) => mkdir(join(d, 'sub.tar')).then(() => join(d, 'sub.tar')), /not a regular file/],
      ['a path that climbs out with ..', async (d) => `${d}/../../etc/shadow`, /"\.\." segment|not an image/],
    ];
    for (const [what, make, why] of refusals) {
      it(`refuses ${what} with a ValidationError and builds nothing`, async () => {
        const files = await mkdtemp(join(tmpdir(), 'cl-image-files-'));
        try {
          const store = new ImageStore({ imagesDir: join(dir, 'images'), fileImagesDir: files });
          const err = await store.ensure(`file://${await make(files)}`).catch((e: unknown) => e);
          expect(err).to.be.instanceOf(ValidationError);
          expect((err as Error).message).to.match(why);
          expect((await readdir(join(dir, 'images'))).filter((n) => n.startsWith('.build-'))).to.deep.equal([]);
        } finally {
          await rm(files, { recursive: true, force: true });
        }
      });
    }

    it('refuses every file:// image when no image directory is configured', async () => {
      const store = new ImageStore({ imagesDir: join(dir, 'images') });
      const err = await store.ensure(`file://${join(dir, 'rootfs.tar.gz')}`).catch((e: unknown) => e);
      expect((err as Error).message).to.match(/not enabled on this member/);
    });
  });

  it('removes stale build directories and nothing else', async () => {
    const store = new ImageStore({ imagesDir: join(dir, 'images') });
    await mkdir(join(dir, 'images', '.build-busybox-deadbeef', 'rootfs'), { recursive: true });
    await writeFile(join(dir, 'images', '.build-busybox-deadbeef', 'rootfs', 'junk'), 'x');
    expect(await store.removeStaleBuilds()).to.deep.equal(['.build-busybox-deadbeef']);
    expect((await readdir(join(dir, 'images'))).filter((n) => n.startsWith('.'))).to.deep.equal([]);
    expect(await readdir(join(dir, 'images'))).to.include('busybox');
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
