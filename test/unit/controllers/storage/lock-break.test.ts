import { expect } from 'chai';
import { decideLockBreak } from '../../../../controllers/storage/lock-break.js';
import type { Member, MemberStatus } from '../../../../lib/kinds/types.js';

function member(name: string, status?: MemberStatus): Member {
  return { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Member', metadata: { name }, spec: {}, ...(status ? { status } : {}) };
}
const heartbeatLost = {
  type: 'Ready',
  status: 'False' as const,
  reason: 'HeartbeatLost',
  message: 'lease gone',
  lastTransitionTime: '2025-01-01T00:00:00Z',
};

describe('which lock holders may be broken (decideLockBreak)', () => {
  const rows: Array<{ title: string; holder: string; members: Member[]; allowed: boolean; reason: RegExp }> = [
    {
      title: 'breaks the lock of a NotReady member',
      holder: 'b',
      members: [member('b', { phase: 'NotReady' })],
      allowed: true,
      reason: /member b is NotReady/,
    },
    {
      title: 'breaks the lock of a member that Left',
      holder: 'b',
      members: [member('b', { phase: 'Left' })],
      allowed: true,
      reason: /member b is Left/,
    },
    {
      title: 'breaks the lock of a member that no longer exists',
      holder: 'b',
      members: [member('a', { phase: 'Ready' })],
      allowed: true,
      reason: /does not exist/,
    },
    {
      title: 'breaks the lock of a member whose Ready condition says HeartbeatLost',
      holder: 'b',
      members: [member('b', { phase: 'Ready', conditions: [heartbeatLost] })],
      allowed: true,
      reason: /lost its heartbeat/,
    },
    {
      title: 'never breaks the lock of a Ready member',
      holder: 'b',
      members: [member('b', { phase: 'Ready' })],
      allowed: false,
      reason: /member b is Ready/,
    },
    {
      title: 'never breaks the lock of a Ready member that fenced some instances (it releases their volumes itself)',
      holder: 'b',
      members: [member('b', { phase: 'Ready', fenced: true })],
      allowed: false,
      reason: /fenced some instances/,
    },
    {
      title: 'breaks the lock of a NotReady member that fenced itself',
      holder: 'b',
      members: [member('b', { phase: 'NotReady', fenced: true })],
      allowed: true,
      reason: /NotReady/,
    },
    {
      title: 'never breaks the lock of an Evacuating member (it hands its volumes over as it deletes its copies)',
      holder: 'b',
      members: [member('b', { phase: 'Evacuating' })],
      allowed: false,
      reason: /Evacuating/,
    },
    {
      title: 'never breaks the lock of a Joining member',
      holder: 'b',
      members: [member('b', { phase: 'Joining' })],
      allowed: false,
      reason: /Joining/,
    },
    {
      title: 'never breaks the lock of a member without a status yet',
      holder: 'b',
      members: [member('b')],
      allowed: false,
      reason: /unknown/,
    },
    {
      title: 'never breaks its own lock',
      holder: 'a',
      members: [member('a', { phase: 'NotReady' })],
      allowed: false,
      reason: /its own lock/,
    },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const d = decideLockBreak(row.holder, { self: 'a', members: row.members });
      expect(d.allowed).to.equal(row.allowed);
      expect(d.reason).to.match(row.reason);
    });
  }
});
