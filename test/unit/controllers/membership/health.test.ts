import { expect } from 'chai';
import { decideMemberHealth } from '../../../../controllers/membership/health.js';
import { fenceDeadline, mustFence } from '../../../../controllers/membership/fencing.js';

describe('member health decision', () => {
  const table = [
    { heartbeatPresent: true, phase: undefined, want: 'Ready', ready: true },
    { heartbeatPresent: true, phase: 'Joining', want: 'Ready', ready: true },
    { heartbeatPresent: true, phase: 'NotReady', want: 'Ready', ready: true },
    { heartbeatPresent: false, phase: 'Ready', want: 'NotReady', ready: false },
    { heartbeatPresent: false, phase: 'Joining', want: 'NotReady', ready: false },
    { heartbeatPresent: true, phase: 'Evacuating', want: 'Evacuating', ready: true },
    { heartbeatPresent: false, phase: 'Evacuated', want: 'Evacuated', ready: false },
    { heartbeatPresent: true, phase: 'Left', want: 'Left', ready: false },
  ] as const;
  for (const row of table) {
    it(`gives ${row.want} for heartbeat ${row.heartbeatPresent ? 'present' : 'absent'} in phase ${row.phase ?? '(none)'}`, () => {
      const d = decideMemberHealth({ heartbeatPresent: row.heartbeatPresent, phase: row.phase });
      expect(d.phase).to.equal(row.want);
      expect(d.ready).to.equal(row.ready);
      expect(d.message).to.be.a('string').and.not.empty;
    });
  }
});

describe('fencing deadline', () => {
  it('is the last acknowledged send time plus the TTL minus the margin', () => {
    expect(fenceDeadline({ lastAckedSendAt: 10_000, ttlSeconds: 5, marginMs: 1500 })).to.equal(13_500);
  });
  it('caps the margin at half the TTL so a short lease still leaves time to renew', () => {
    expect(fenceDeadline({ lastAckedSendAt: 0, ttlSeconds: 2, marginMs: 5000 })).to.equal(1000);
  });
  it('says to fence exactly from the deadline on', () => {
    expect(mustFence({ now: 13_499, lastAckedSendAt: 10_000, ttlSeconds: 5, marginMs: 1500 })).to.equal(false);
    expect(mustFence({ now: 13_500, lastAckedSendAt: 10_000, ttlSeconds: 5, marginMs: 1500 })).to.equal(true);
  });
});
