/**
 * Data dir permissions on the real filesystem: another local user (nobody,
 * through `setpriv`) cannot write into an instance's root filesystem from
 * the host once the data dir is secured — and could before.
 */
import { expect } from 'chai';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyRootfsProvider } from '../../../controllers/instances/images/rootfs.js';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import { DATA_DIR_MODES, secureDataDir } from '../../../lib/host/data-dir.js';
import { run } from '../../../lib/host/exec.js';
import { pathExists } from '../../../lib/host/fs.js';
import { which } from '../../../lib/host/which.js';

/** asNobody runs argv as uid/gid 65534 without supplementary groups; resolves with the exit code. */
async function asNobody(argv: string[]): Promise<number> {
  const r = await run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv], {
    okExitCodes: [0, 1, 2],
    timeoutMs: 30_000,
  });
  return r.exitCode;
}

describe('data dir permissions against other local users', function () {
  this.timeout(60_000);
  let dataDir: string;

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (it switches to the nobody user with setpriv)');
    await which('setpriv', { package: 'util-linux' });
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cl-data-dir-'));
    // As /var/lib/cloudlet is made by default: traversable by everyone.
    await chmod(dataDir, 0o755);
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function instanceTmp(): Promise<string> {
    const image = await new ImageStore({ imagesDir: join(dataDir, 'images') }).ensure('busybox');
    const rootfs = await new CopyRootfsProvider({ dataDir }).ensureRootfs({ containerName: 'cl-perm-default_web', image });
    return join(rootfs, 'tmp');
  }

  it('lets nobody write into an instance /tmp through a world-traversable path (the problem)', async () => {
    const tmp = await instanceTmp();
    // Loosen what Cloudlet now makes private, to show what was possible before.
    for (const d of ['rootfs', 'images']) await chmod(join(dataDir, d), 0o755);
    expect(await asNobody(['touch', join(tmp, 'from-host')])).to.equal(0);
    expect(await pathExists(join(tmp, 'from-host'))).to.equal(true);
  });

  it('keeps nobody out of the instance files once the data dir is secured, while the instance /tmp stays 1777', async () => {
    const tmp = await instanceTmp();
    await secureDataDir(dataDir);
    expect((await stat(tmp)).mode & 0o7777).to.equal(0o1777);
    expect(await asNobody(['touch', join(tmp, 'from-host')])).to.equal(1);
    expect(await pathExists(join(tmp, 'from-host'))).to.equal(false);
    expect(await asNobody(['ls', join(dataDir, 'images')])).to.not.equal(0);
    for (const [rel, mode] of DATA_DIR_MODES) expect((await stat(join(dataDir, rel))).mode & 0o7777, rel || 'data dir').to.equal(mode);
  });

  it('makes the rootfs and images directories root-only when it creates them', async () => {
    await instanceTmp();
    expect((await stat(join(dataDir, 'rootfs'))).mode & 0o7777).to.equal(0o700);
    expect((await stat(join(dataDir, 'images'))).mode & 0o7777).to.equal(0o700);
  });
});
