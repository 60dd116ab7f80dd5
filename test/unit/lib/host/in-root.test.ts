import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../../../lib/errors.js';
import { followLink, resolveInRoot } from '../../../../lib/host/in-root.js';
import { pathExists } from '../../../../lib/host/fs.js';

describe('paths resolved inside a root filesystem', () => {
  describe('followLink', () => {
    const table: Array<[string, string, string | undefined]> = [
      ['/data', '/', '/'],
      ['/data', '/srv/x', '/srv/x'],
      ['/data', 'x', '/x'],
      ['/var/run', '../run', '/run'],
      ['/a/b/c', '../../d', '/d'],
      ['/data', '../../..', undefined],
      ['/data', '..', undefined],
      ['/a/data', '..', '/'],
      ['/a/b', '../../..', undefined],
      ['/data', '/../etc', undefined],
      ['/data', '', undefined],
      ['/data', './x/./y', '/x/y'],
    ];
    for (const [link, target, want] of table) {
      it(`reads ${link} -> ${target} as ${want ?? 'outside the root'}`, () => {
        expect(followLink(link, target)).to.equal(want);
      });
    }
  });

  describe('resolveInRoot', () => {
    let dir: string;
    let root: string;
    let outside: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cl-inroot-'));
      root = join(dir, 'rootfs');
      outside = join(dir, 'host');
      await mkdir(root);
      await mkdir(outside);
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function refused(path: string, opts = { create: true, mountTarget: true }): Promise<string> {
      try {
        await resolveInRoot(root, path, opts);
      } catch (err) {
        expect(err).to.be.instanceOf(ValidationError);
        return (err as Error).message;
      }
      throw new Error(`${path} was resolved`);
    }

    it('makes the missing directories of a mount target inside the root', async () => {
      const r = await resolveInRoot(root, '/srv/data', { create: true, mountTarget: true });
      expect(r).to.deep.equal({ containerPath: '/srv/data', hostPath: join(root, 'srv/data') });
      expect(await pathExists(join(root, 'srv/data'))).to.equal(true);
    });

    it('follows a symlink that stays inside the root, as the instance sees it', async () => {
      await mkdir(join(root, 'run'));
      await mkdir(join(root, 'var'));
      await symlink('../run', join(root, 'var/run'));
      await symlink('/srv', join(root, 'data'));
      expect((await resolveInRoot(root, '/var/run/app', { create: true })).containerPath).to.equal('/run/app');
      expect((await resolveInRoot(root, '/data/x', { create: true })).containerPath).to.equal('/srv/x');
      expect(await pathExists(join(root, 'srv/x'))).to.equal(true);
    });

    it('never makes the host directory a symlink to / names, and refuses mounting over the instance root', async () => {
      await symlink('/', join(root, 'data'));
      expect(await refused('/data')).to.match(/resolves to \/,/);
    });

    it('refuses a symlink that climbs out with ../../.. and creates nothing outside', async () => {
      await symlink('../../..', join(root, 'data'));
      expect(await refused('/data/escaped')).to.match(/points outside/);
      await symlink(`../host`, join(root, 'up'));
      expect(await refused('/up/escaped')).to.match(/points outside/);
      expect(await readdir(outside)).to.deep.equal([]);
    });

    it('refuses a symlink whose absolute target climbs above /', async () => {
      await symlink('/../../host', join(root, 'data'));
      expect(await refused('/data/x')).to.match(/points outside/);
      expect(await readdir(outside)).to.deep.equal([]);
    });

    it('refuses a symlink into /proc, /sys or /dev', async () => {
      await symlink('/proc/sys', join(root, 'data'));
      expect(await refused('/data')).to.match(/resolves to \/proc\/sys/);
    });

    it('refuses a path through a regular file and a mount target that is a file', async () => {
      await writeFile(join(root, 'f'), 'x');
      expect(await refused('/f/x')).to.match(/not a directory/);
      expect(await refused('/f')).to.match(/not a directory/);
    });

    it('refuses a symlink loop', async () => {
      await symlink('/b', join(root, 'a'));
      await symlink('/a', join(root, 'b'));
      expect(await refused('/a/x')).to.match(/more than 40 symlinks/);
    });

    it('refuses a path that is not normalised before looking at the disk', async () => {
      expect(await refused('/../../../../../tmp/x')).to.match(/"\.\." segment/);
      expect(await refused('/proc')).to.match(/\/proc/);
    });

    it('names what would be made without creating it when create is off', async () => {
      const r = await resolveInRoot(root, '/etc', {});
      expect(r.containerPath).to.equal('/etc');
      expect(await pathExists(join(root, 'etc'))).to.equal(false);
    });

    it('reads a symlink /etc -> /etc as the instance would (a loop), never as the host /etc', async () => {
      await symlink('/etc', join(root, 'etc'));
      expect(await refused('/etc', { create: false, mountTarget: false })).to.match(/more than 40 symlinks/);
    });
  });
});
