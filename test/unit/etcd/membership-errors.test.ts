import { expect } from 'chai';
import { translateMembershipError } from '../../../lib/etcd/membership.js';

const rows: Array<[string, string, string]> = [
  ['a learner not yet in sync (etcd 3.4)', '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader', 'Unavailable'],
  ['a learner not in sync (older wording)', 'etcdserver: learner member not in sync', 'Unavailable'],
  ['a second learner', '9 FAILED_PRECONDITION: etcdserver: too many learner members in cluster', 'Unavailable'],
  ['an unknown member', '5 NOT_FOUND: etcdserver: member not found', 'NotFound'],
  ['a peer URL in use', '9 FAILED_PRECONDITION: etcdserver: Peer URLs already exists', 'Conflict'],
  ['a promote of a voter', '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member', 'Conflict'],
  ['an unreachable etcd', '14 UNAVAILABLE: No connection established', 'Unavailable'],
];

describe('translateMembershipError', () => {
  for (const [what, message, code] of rows) {
    it(`maps ${what} to ${code}`, () => expect(translateMembershipError(new Error(message), 'member promote').code).to.equal(code));
  }
});
