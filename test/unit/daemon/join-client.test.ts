import { expect } from 'chai';
import { classifyJoinReply, type JoinReply } from '../../../daemon/join-client.js';

const status = (code: number, message: string): JoinReply => ({ status: code, text: JSON.stringify({ kind: 'Status', code, message }) });

describe('classifyJoinReply', () => {
  const rows: Array<[string, JoinReply, 'admitted' | 'retry' | 'refused']> = [
    ['an admission', { status: 200, text: '{}' }, 'admitted'],
    ['etcd refusing for now (503)', status(503, 'etcd member add: etcdserver: unhealthy cluster'), 'retry'],
    ['a busy membership mutex (503)', status(503, 'waiting for the join of m2 to finish'), 'retry'],
    ['too many requests (429)', status(429, 'slow down'), 'retry'],
    ['a gateway error (502)', status(502, 'bad gateway'), 'retry'],
    ['a timeout (504)', status(504, 'timed out'), 'retry'],
    ['a refused connection', { error: new Error('connect ECONNREFUSED 10.77.0.11:6443') }, 'retry'],
    ['an unknown or used token (401)', status(401, 'the join token is unknown, expired or already used'), 'refused'],
    ['a name in use (409)', status(409, 'a member named "m2" already exists'), 'refused'],
    ['a bad request (400)', status(400, 'address "x" is not an IP address'), 'refused'],
    ['a server bug (500)', status(500, 'internal error'), 'refused'],
  ];
  for (const [what, reply, outcome] of rows) {
    it(`treats ${what} as ${outcome}`, () => expect(classifyJoinReply(reply).outcome).to.equal(outcome));
  }
  it("keeps the server's own sentence", () => {
    expect(classifyJoinReply(status(401, 'the join token expired at 2026-01-01T00:00:00.000Z')).message).to.equal(
      'the join token expired at 2026-01-01T00:00:00.000Z',
    );
  });
});
