import { expect } from 'chai';
import { isLxcfsMounted } from '../../../../controllers/instances/lxcfs.js';

describe('lxcfs mount detection', () => {
  const lxcfs = '412 30 0:52 / /var/lib/lxcfs rw,nosuid,nodev,relatime shared:220 - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other';
  const other = '29 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw';
  it('finds an lxcfs mount at /var/lib/lxcfs', () => {
    expect(isLxcfsMounted([other, lxcfs].join('\n'))).to.equal(true);
  });
  it('does not mistake another filesystem at that path for lxcfs', () => {
    expect(isLxcfsMounted('50 1 0:60 / /var/lib/lxcfs rw - tmpfs tmpfs rw')).to.equal(false);
  });
  it('says no when nothing is mounted there', () => {
    expect(isLxcfsMounted(other)).to.equal(false);
  });
});
