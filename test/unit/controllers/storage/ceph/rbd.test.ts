import { expect } from 'chai';
import {
  fuseEnv,
  lockCookie,
  lockMember,
  parseCephConfig,
  parseDf,
  parseImageSize,
  parseLocks,
  parseSnapshots,
  parseUsedBytes,
  rbdArgv,
  unreachableReason,
} from '../../../../../controllers/storage/ceph/rbd.js';

const base = { conf: '/c/ceph.conf', keyring: '/c/k.keyring' };

describe('ceph driver helpers', () => {
  describe('parseCephConfig', () => {
    it('defaults the user to admin, the pool to rbd, the filesystem to ext4 and the timeout to 20 s', () => {
      expect(parseCephConfig(base)).to.deep.equal({
        conf: '/c/ceph.conf',
        keyring: '/c/k.keyring',
        user: 'admin',
        pool: 'rbd',
        fs: 'ext4',
        timeoutSeconds: 20,
      });
    });
    it('accepts `cluster` for the conf path and strips a client. prefix from the user', () => {
      expect(parseCephConfig({ cluster: '/x.conf', keyring: '/k', user: 'client.cloudlet' })).to.include({
        conf: '/x.conf',
        user: 'cloudlet',
      });
    });
    it('names every missing key', () => {
      expect(() => parseCephConfig({})).to.throw(/spec\.config\.conf and spec\.config\.keyring is required/);
    });
    it('refuses relative paths, odd names, unknown filesystems and bad timeouts', () => {
      expect(() => parseCephConfig({ conf: 'ceph.conf', keyring: '/k' })).to.throw(/absolute/);
      expect(() => parseCephConfig({ ...base, pool: 'a b' })).to.throw(/pool/);
      expect(() => parseCephConfig({ ...base, user: '../x' })).to.throw(/user/);
      expect(() => parseCephConfig({ ...base, fs: 'xfs' })).to.throw(/ext4 or btrfs/);
      expect(() => parseCephConfig({ ...base, timeoutSeconds: '0' })).to.throw(/timeoutSeconds/);
    });
  });

  it('builds rbd calls with the identity, a bounded connect time and the pool', () => {
    const argv = rbdArgv(parseCephConfig({ ...base, user: 'cloudlet', pool: 'vols' }), ['ls']);
    expect(argv.slice(0, 7)).to.deep.equal(['rbd', '--conf', '/c/ceph.conf', '--id', 'cloudlet', '--keyring', '/c/k.keyring']);
    expect(argv).to.include('--client_mount_timeout=20');
    expect(argv.slice(-3)).to.deep.equal(['--pool', 'vols', 'ls']);
  });

  it('gives rbd-fuse its identity through CEPH_ARGS with the librbd cache off', () => {
    const env = fuseEnv(parseCephConfig({ ...base, user: 'cloudlet' }), '/usr/bin');
    expect(env).to.deep.equal({
      PATH: '/usr/bin',
      CEPH_ARGS: '--id cloudlet --keyring /c/k.keyring --rbd_cache=false --client_mount_timeout=20',
    });
  });

  it('names a lock holder by the member cookie and ignores foreign locks', () => {
    const locks = parseLocks(
      '[{"id":"cloudlet:m1","locker":"client.4460","address":"127.0.0.1:0/1"},{"id":"other","locker":"client.9","address":""}]',
    );
    expect(locks.map(lockMember)).to.deep.equal(['m1', undefined]);
    expect(lockCookie('m1')).to.equal('cloudlet:m1');
    expect(parseLocks('')).to.deep.equal([]);
    expect(parseLocks('{"cloudlet:m2":{"locker":"client.1","address":"a"}}')).to.deep.equal([
      { id: 'cloudlet:m2', locker: 'client.1', address: 'a' },
    ]);
  });

  it('reads snapshots, image size, used bytes and pool usage from rbd and ceph JSON', () => {
    expect(
      parseSnapshots('[{"id":4,"name":"b","size":1},{"id":3,"name":"a","size":1},{"id":5,"name":"t","namespace":{"type":"trash"}}]'),
    ).to.deep.equal(['a', 'b']);
    expect(parseImageSize('{"name":"v","size":33554432}')).to.equal(33554432);
    expect(parseUsedBytes('{"images":[{"name":"v","snapshot":"s","used_size":1},{"name":"v","used_size":4096}]}', 'v')).to.equal(4096);
    expect(parseDf('{"pools":[{"name":"rbd","stats":{"stored":100,"max_avail":900}}]}', 'rbd')).to.deep.equal({
      capacityBytes: 1000,
      usedBytes: 100,
    });
    expect(parseDf('{"pools":[]}', 'rbd')).to.equal(undefined);
  });

  describe('unreachableReason', () => {
    const cfg = parseCephConfig({ ...base, user: 'cloudlet' });
    it('says authentication failed for a wrong key', () => {
      expect(
        unreachableReason('monclient(hunting): handle_auth_bad_method server allowed_methods [2] but i only support [2]', cfg),
      ).to.match(/authentication failed/);
    });
    it('says the monitors are unreachable on a timeout', () => {
      expect(unreachableReason("rbd: couldn't connect to the cluster!\nmonclient(hunting): authenticate timed out after 3", cfg)).to.match(
        /monitors unreachable/,
      );
    });
    it('says which pool is missing', () => {
      expect(unreachableReason("rbd: error opening pool 'nope': (2) No such file or directory", cfg)).to.match(/pool rbd does not exist/);
    });
  });
});
