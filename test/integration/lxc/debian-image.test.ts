import { expect } from 'chai';
import { ImageStore } from '../../../controllers/instances/images/image-store.js';
import { DEFAULT_DEBIAN_MIRROR } from '../../../controllers/instances/images/debootstrap.js';
import type { ImageInfo, ImageProgress } from '../../../controllers/instances/images/types.js';
import { which } from '../../../lib/host/which.js';
import { errorMessage } from '../../../lib/errors.js';
import { capture, makeLab, preflight, type LxcLab } from './helpers.js';

/**
 * The Debian image is really built with debootstrap (bookworm minbase takes
 * a few minutes) — once: it is cached in /var/cache/cloudlet-test-images and
 * later runs reuse it. Then it boots its own systemd under LXC.
 */
const CACHE = '/var/cache/cloudlet-test-images';

describe('Debian image on real LXC', function () {
  this.timeout(20 * 60_000);
  let lab: LxcLab;
  let image: ImageInfo;
  const progress: ImageProgress[] = [];

  before(async () => {
    await preflight();
    await which('debootstrap');
    lab = await makeLab();
    try {
      image = await new ImageStore({ imagesDir: CACHE }).ensure('debian/bookworm', { onProgress: (p) => progress.push(p) });
    } catch (err) {
      throw new Error(
        `building debian/bookworm from ${DEFAULT_DEBIAN_MIRROR} failed (is the mirror reachable from this host?): ${errorMessage(err)}`,
      );
    }
  });
  after(async () => {
    await lab?.cleanup();
  });

  it('reports build progress when it builds, and a systemd distro either way', () => {
    if (progress.length > 0) {
      expect(progress.map((p) => p.phase)).to.include.members(['preparing', 'downloading', 'extracting', 'ready']);
    }
    expect(image.distro).to.equal('debian');
    expect(image.haltSignal).to.equal('SIGRTMIN+3');
  });

  it('boots systemd to running or degraded, with the instance hostname', async () => {
    const spec = await lab.spec('deb', image, { memoryBytes: 512 * 2 ** 20, cpu: 1 });
    await lab.runtime.ensureCreated(spec);
    await lab.runtime.start(spec.containerName);
    // --wait blocks until boot finished. "degraded" is acceptable: inside a
    // container without networking some units (e.g. ones needing a NIC or
    // kernel features the container may not touch) can fail without the
    // system being unusable; what matters is that systemd is PID 1 and booted.
    // Right after start systemd has not opened its private bus yet: retry until it answers.
    let state: string | undefined;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const out = capture();
      await lab.runtime.exec(spec.containerName, ['timeout', '180', 'systemctl', 'is-system-running', '--wait'], {
        stdin: 'ignore',
        stdout: out.stream,
        stderr: out.stream,
      });
      state = out.text().trim().split('\n').at(-1);
      if (!/Failed to connect to bus/.test(out.text())) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (state === 'degraded') {
      const failed = capture();
      await lab.runtime.exec(spec.containerName, ['systemctl', '--failed', '--no-legend', '--plain'], {
        stdin: 'ignore',
        stdout: failed.stream,
      });
      console.log(`      systemd is degraded; failed units: ${failed.text().trim() || '(none listed)'}`);
    }
    expect(state).to.be.oneOf(['running', 'degraded']);
    const host = capture();
    expect(await lab.runtime.exec(spec.containerName, ['hostname'], { stdin: 'ignore', stdout: host.stream })).to.equal(0);
    expect(host.text().trim()).to.equal('deb');
  });

  it('shuts down cleanly with the systemd halt signal', async () => {
    const name = (await lab.spec('deb', image)).containerName;
    await lab.runtime.stop(name, { timeoutSeconds: 60 });
    expect((await lab.runtime.observe(name)).state).to.equal('STOPPED');
  });
});
