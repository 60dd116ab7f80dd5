import { expect } from 'chai';
import { UnavailableError } from '../../../../lib/errors.js';
import { classifyMembershipRefusal, translateMembershipError } from '../../../../lib/etcd/membership.js';

// [what, etcd's message as the etcd3 client reports it, code, transient]
const rows: Array<[string, string, string, boolean]> = [
  [
    'a learner not yet in sync (etcd 3.4)',
    '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader',
    'Unavailable',
    true,
  ],
  ['a learner not in sync (older wording)', 'etcdserver: learner member not in sync', 'Unavailable', true],
  ['a second learner', '9 FAILED_PRECONDITION: etcdserver: too many learner members in cluster', 'Unavailable', true],
  ['an add right after another change', '14 UNAVAILABLE: etcdserver: unhealthy cluster', 'Unavailable', true],
  [
    'a change that would leave too few started members',
    '9 FAILED_PRECONDITION: etcdserver: re-configuration failed due to not enough started members',
    'Unavailable',
    true,
  ],
  ['no leader', '14 UNAVAILABLE: etcdserver: no leader', 'Unavailable', true],
  ['a leader change', '14 UNAVAILABLE: etcdserver: leader changed', 'Unavailable', true],
  ['a request timed out', '14 UNAVAILABLE: etcdserver: request timed out', 'Unavailable', true],
  [
    'a timeout after a leader failure',
    '14 UNAVAILABLE: etcdserver: request timed out, possibly due to previous leader failure',
    'Unavailable',
    true,
  ],
  ['an undecided cluster version', '14 UNAVAILABLE: etcdserver: not capable', 'Unavailable', true],
  ['an unreachable etcd', '14 UNAVAILABLE: No connection established', 'Unavailable', true],
  ['a refused connection', 'connect ECONNREFUSED 10.77.0.11:2379', 'Unavailable', true],
  ['a call past its deadline', '4 DEADLINE_EXCEEDED: Deadline exceeded', 'Unavailable', true],
  ['an unknown member', '5 NOT_FOUND: etcdserver: member not found', 'NotFound', false],
  ['a peer URL in use', '9 FAILED_PRECONDITION: etcdserver: Peer URLs already exists', 'Conflict', false],
  ['a member id in use', '9 FAILED_PRECONDITION: etcdserver: member ID already exist', 'Conflict', false],
  ['a promote of a voter', '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member', 'Conflict', false],
  ['a denied permission', '7 PERMISSION_DENIED: etcdserver: permission denied', 'Internal', false],
  ['a malformed peer URL', '3 INVALID_ARGUMENT: etcdserver: invalid peer URL', 'Internal', false],
];

describe('translateMembershipError', () => {
  for (const [what, message, code, transient] of rows) {
    it(`maps ${what} to ${code}${transient ? ', transient' : ', final'}`, () => {
      const err = translateMembershipError(new Error(message), 'member add');
      expect(err.code).to.equal(code);
      expect(err instanceof UnavailableError).to.equal(transient);
      if (err instanceof UnavailableError) {
        expect(err.retryAfterSeconds).to.be.a('number');
        expect(err.message).to.match(/waiting for \S/);
      }
    });
  }

  it('says what an unhealthy cluster waits for', () => {
    expect(classifyMembershipRefusal('etcdserver: unhealthy cluster').waitingFor).to.match(/connected to the others/);
  });

  it('passes a Cloudlet error through unchanged', () => {
    const e = new UnavailableError('already translated');
    expect(translateMembershipError(e, 'member add')).to.equal(e);
  });
});
