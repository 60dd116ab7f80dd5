import { expect } from 'chai';
import { mkdtemp, mkdir, readFile, readdir, symlink, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDir, isStrictlyUnder, pathExists, removeTree, writeFileAtomic } from '../../../../lib/host/fs.js';
import { ValidationError } from '../../../../lib/errors.js';

describe('host fs helpers', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-fs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates nested directories and accepts existing ones', async () => {
    await ensureDir(join(dir, 'a/b/c'));
    await ensureDir(join(dir, 'a/b/c'));
    expect(await pathExists(join(dir, 'a/b/c'))).to.equal(true);
  });

  it('writes a file atomically, leaving no temporary files', async () => {
    await writeFileAtomic(join(dir, 'f'), 'one');
    await writeFileAtomic(join(dir, 'f'), 'two');
    expect(await readFile(join(dir, 'f'), 'utf8')).to.equal('two');
    expect(await readdir(dir)).to.deep.equal(['f']);
  });

  it('tells whether a path lies strictly under a root', () => {
    expect(isStrictlyUnder('/a/b/c', '/a/b')).to.equal(true);
    expect(isStrictlyUnder('/a/b', '/a/b')).to.equal(false);
    expect(isStrictlyUnder('/a/bc', '/a/b')).to.equal(false);
    expect(isStrictlyUnder('/a/b/../../etc', '/a/b')).to.equal(false);
  });

  it('removes a tree inside the root and treats a missing one as success', async () => {
    await mkdir(join(dir, 'x/y'), { recursive: true });
    await writeFile(join(dir, 'x/y/z'), 'z');
    await removeTree(join(dir, 'x'), { root: dir });
    await removeTree(join(dir, 'x'), { root: dir });
    expect(await pathExists(join(dir, 'x'))).to.equal(false);
  });

  it('refuses to remove the root itself or anything outside it', async () => {
    for (const p of [dir, '/etc', join(dir, '..')]) {
      const err = await removeTree(p, { root: dir }).catch((e: unknown) => e);
      expect(err, p).to.be.instanceOf(ValidationError);
    }
  });

  it('refuses to follow a symlinked parent out of the root', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'cl-fs-out-'));
    try {
      await writeFile(join(outside, 'keep'), 'k');
      await symlink(outside, join(dir, 'link'));
      const err = await removeTree(join(dir, 'link', 'keep'), { root: dir }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ValidationError);
      expect(await pathExists(join(outside, 'keep'))).to.equal(true);
      // Removing the link itself removes only the link.
      await removeTree(join(dir, 'link'), { root: dir });
      expect(await pathExists(join(outside, 'keep'))).to.equal(true);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
