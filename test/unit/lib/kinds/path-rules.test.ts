import { expect } from 'chai';
import { containerPathProblem, fileImagePath, hostPathProblem, normalisedPathProblem } from '../../../../lib/kinds/path-rules.js';

describe('path rules', () => {
  describe('containerPathProblem', () => {
    const accepted = ['/data', '/srv/www', '/var/lib/app-1', '/a b', '/procfs', '/devices/x', '/system', '/.hidden', '/..dots', '/a/...'];
    for (const path of accepted) {
      it(`accepts ${JSON.stringify(path)} as a mount path`, () => {
        expect(containerPathProblem(path)).to.equal(undefined);
      });
    }
    const refused: Array<[string, RegExp]> = [
      ['', /empty/],
      ['data', /absolute/],
      ['./data', /absolute/],
      ['/../../../../../tmp/escape', /"\.\." segment/],
      ['/data/../../etc', /"\.\." segment/],
      ['/data/..', /"\.\." segment/],
      ['/data/./x', /"\." segment/],
      ['/.', /"\." segment/],
      ['//data', /empty segment/],
      ['/data//x', /empty segment/],
      ['/data/', /end with/],
      ['/data\u0000x', /control character/],
      ['/data\nlxc.apparmor.profile = unconfined', /control character/],
      ['/data\tx', /control character/],
      ['/', /root/],
      ['/proc', /\/proc/],
      ['/proc/sys', /\/proc/],
      ['/sys', /\/sys/],
      ['/sys/kernel/x', /\/sys/],
      ['/dev', /\/dev/],
      ['/dev/sda', /\/dev/],
      [`/${'a'.repeat(5000)}`, /at most 4096/],
    ];
    for (const [path, why] of refused) {
      it(`refuses ${JSON.stringify(path.slice(0, 60))} as a mount path`, () => {
        expect(containerPathProblem(path)).to.match(why);
      });
    }
  });

  describe('hostPathProblem', () => {
    it('accepts a normalised directory', () => {
      expect(hostPathProblem('/srv/cloudlet-pool')).to.equal(undefined);
    });
    for (const path of ['/', '/proc/self', '/sys', '/dev/shm', '/srv/../etc', 'srv', '/srv/']) {
      it(`refuses ${JSON.stringify(path)} as a host path`, () => {
        expect(hostPathProblem(path)).to.be.a('string');
      });
    }
  });

  describe('normalisedPathProblem', () => {
    it('accepts / itself', () => {
      expect(normalisedPathProblem('/')).to.equal(undefined);
    });
  });

  describe('fileImagePath', () => {
    const cases: Array<[string, { path?: string; problem?: RegExp }]> = [
      ['file:///var/lib/cloudlet/image-files/rootfs.tar.gz', { path: '/var/lib/cloudlet/image-files/rootfs.tar.gz' }],
      ['file:///srv/images/my%20rootfs.tar', { path: '/srv/images/my rootfs.tar' }],
      ['file:///tmp/../etc/shadow', { problem: /"\.\." segment/ }],
      ['file:///tmp/%2e%2e/etc/shadow', { problem: /"\.\." segment/ }],
      ['file:///tmp/%2E%2E/etc/shadow', { problem: /"\.\." segment/ }],
      ['file:///tmp/a%00b', { problem: /control character/ }],
      ['file:///dev/urandom', { problem: /\/dev/ }],
      ['file:///proc/self/environ', { problem: /\/proc/ }],
      ['file:////etc/shadow', { problem: /empty segment/ }],
      ['file:///tmp/%zz', { problem: /percent-encoded/ }],
      ['file://host/etc/shadow', { problem: /file:\/\/\// }],
    ];
    for (const [ref, want] of cases) {
      it(`reads ${ref} as ${want.path ?? `refused (${String(want.problem)})`}`, () => {
        const got = fileImagePath(ref);
        if (want.path) expect(got).to.deep.equal({ path: want.path });
        else expect(got.problem).to.match(want.problem as RegExp);
      });
    }
  });
});
