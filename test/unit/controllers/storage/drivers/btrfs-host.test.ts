import { expect } from 'chai';
import { parseLoopList, parseMountInfo, parseQgroupShow } from '../../../../../controllers/storage/drivers/btrfs-host.js';

describe('btrfs host parsers', () => {
  it('reads mount points, types and sources from mountinfo, decoding escapes', () => {
    const text = [
      '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
      '99 22 0:50 / /data/storage/my\\040pool rw,relatime shared:40 - btrfs /dev/loop3 rw,space_cache=v2',
      'garbage line',
    ].join('\n');
    expect(parseMountInfo(text)).to.deep.equal([
      { mountPoint: '/', fsType: 'ext4', source: '/dev/vda' },
      { mountPoint: '/data/storage/my pool', fsType: 'btrfs', source: '/dev/loop3' },
    ]);
  });

  it('reads loop devices and their backing files, dropping the deleted marker', () => {
    expect(parseLoopList('/dev/loop0 /d/storage/a.img\n/dev/loop1 /d/storage/b.img (deleted)\n\n')).to.deep.equal([
      { device: '/dev/loop0', backingFile: '/d/storage/a.img' },
      { device: '/dev/loop1', backingFile: '/d/storage/b.img' },
    ]);
  });

  const qgroups = [
    'Qgroupid    Referenced    Exclusive  Max referenced   Path ',
    '--------    ----------    ---------  --------------   ---- ',
    '0/256          3162112      3162112        10485760   volumes/a',
    '0/257            16384        16384            none   volumes/b',
  ].join('\n');
  const table: Array<[number, ReturnType<typeof parseQgroupShow>]> = [
    [256, { referencedBytes: 3162112, limitBytes: 10485760 }],
    [257, { referencedBytes: 16384, limitBytes: undefined }],
    [300, undefined],
  ];
  for (const [id, want] of table) {
    it(`reads qgroup 0/${id} as ${JSON.stringify(want)}`, () => {
      expect(parseQgroupShow(qgroups, id)).to.deep.equal(want);
    });
  }
});
