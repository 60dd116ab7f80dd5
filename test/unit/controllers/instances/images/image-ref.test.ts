import { expect } from 'chai';
import { imageRefString, parseImageRef } from '../../../../../controllers/instances/images/image-ref.js';
import { parseDebootstrapLine } from '../../../../../controllers/instances/images/debootstrap.js';
import { ValidationError } from '../../../../../lib/errors.js';

describe('image references', () => {
  const good: Array<[string, unknown]> = [
    ['busybox', { kind: 'busybox' }],
    ['debian/bookworm', { kind: 'debian', suite: 'bookworm' }],
    ['file:///srv/images/root%20fs.tar.gz', { kind: 'file', path: '/srv/images/root fs.tar.gz' }],
  ];
  for (const [ref, want] of good) {
    it(`parses ${ref}`, () => {
      expect(parseImageRef(ref)).to.deep.equal(want);
    });
  }
  for (const bad of ['ubuntu', 'debian/', 'debian/Bookworm', 'file://relative', 'file:///a/../etc/shadow', 'http://x/rootfs.tar.gz']) {
    it(`rejects ${bad} naming spec.image`, () => {
      expect(() => parseImageRef(bad)).to.throw(ValidationError, /spec\.image/);
    });
  }
  it('renders a reference back to its text', () => {
    expect(imageRefString({ kind: 'debian', suite: 'trixie' })).to.equal('debian/trixie');
  });
});

describe('debootstrap progress', () => {
  const rows: Array<[string, string | undefined]> = [
    ['I: Retrieving InRelease ', 'downloading'],
    ['I: Retrieving libc6 2.36-9+deb12u10', 'downloading'],
    ['I: Validating libc6 2.36-9+deb12u10', 'downloading'],
    ['I: Extracting base-files...', 'extracting'],
    ['I: Installing core packages...', 'installing'],
    ['I: Unpacking the base system...', 'installing'],
    ['I: Configuring apt...', 'configuring'],
    ['I: Base system installed successfully.', 'finishing'],
    ['W: Cannot check Release signature; keyring file not available', 'warning'],
    ['E: Failed getting release file http://example/dists/x/Release', 'failed'],
    ['dpkg: warning: something', undefined],
  ];
  for (const [line, phase] of rows) {
    it(`reads "${line}" as ${phase ?? 'noise'}`, () => {
      expect(parseDebootstrapLine(line)?.phase).to.equal(phase);
    });
  }
});
