import { expect } from 'chai';
import {
  attemptAction,
  learnerDataAction,
  parseAssignment,
  parseCandidate,
  portOf,
  resumeAction,
  type EtcdLearnerAssignment,
} from '../../../../controllers/membership/etcd-learners.js';

const a = (id: string): EtcdLearnerAssignment => ({
  member: 'm4',
  id,
  peerUrl: 'https://10.0.0.4:2380',
  initialCluster: 'm1=https://10.0.0.1:2380,m4=https://10.0.0.4:2380',
  endpoints: ['https://10.0.0.1:2379'],
});

describe('etcd learner hand-over', () => {
  it('reads a candidate and an assignment back from their JSON', () => {
    expect(parseCandidate(JSON.stringify({ peerUrl: 'https://[fd00::4]:2380' }))).to.deep.equal({ peerUrl: 'https://[fd00::4]:2380' });
    expect(parseAssignment(JSON.stringify(a('9')))).to.deep.equal(a('9'));
  });

  const bad: Array<[string, string]> = [
    ['not JSON', '{'],
    ['an array', '[]'],
    ['a peer URL without a port', JSON.stringify({ ...a('1'), peerUrl: 'https://10.0.0.4' })],
    ['an initial cluster without the member itself', JSON.stringify({ ...a('1'), initialCluster: 'm1=https://10.0.0.1:2380' })],
    ['endpoints that are not strings', JSON.stringify({ ...a('1'), endpoints: [1] })],
    ['no id', JSON.stringify({ ...a('1'), id: undefined })],
  ];
  for (const [what, text] of bad) {
    it(`rejects an assignment with ${what}`, () => expect(parseAssignment(text)).to.equal(undefined));
  }

  it('reads the port of a URL', () => {
    expect(portOf('https://10.0.0.4:2380')).to.equal(2380);
    expect(portOf('https://[fd00::4]:12380')).to.equal(12380);
    expect(portOf('https://10.0.0.4')).to.equal(undefined);
  });

  const dataRows: Array<[string, EtcdLearnerAssignment | undefined, EtcdLearnerAssignment, string]> = [
    ['wipes data when no attempt was made (a fresh data dir)', undefined, a('5'), 'wipe'],
    ['keeps the data of the same learner (a restart of the attempt)', a('5'), a('5'), 'keep'],
    ['wipes the data of an earlier, removed learner', a('4'), a('5'), 'wipe'],
  ];
  for (const [title, marker, assignment, want] of dataRows) {
    it(title, () => expect(learnerDataAction({ marker, assignment })).to.equal(want));
  }

  const resumeRows: Array<[string, EtcdLearnerAssignment | undefined, Array<{ id: string; name: string; isLearner: boolean }>, string]> = [
    ['resumes nothing without a marker', undefined, [{ id: '5', name: 'm4', isLearner: false }], 'none'],
    [
      'runs etcd as a voter when the marked learner was promoted',
      a('5'),
      [
        { id: '1', name: 'm1', isLearner: false },
        { id: '5', name: 'm4', isLearner: false },
      ],
      'voter',
    ],
    ['waits for the assignment while the marked learner is still a learner', a('5'), [{ id: '5', name: 'm4', isLearner: true }], 'wait'],
    ['resumes nothing when the marked learner was removed', a('5'), [{ id: '1', name: 'm1', isLearner: false }], 'none'],
  ];
  for (const [title, marker, members, want] of resumeRows) {
    it(title, () => expect(resumeAction({ marker, members })).to.equal(want));
  }

  const attemptRows: Array<
    [string, EtcdLearnerAssignment | undefined, Array<{ id: string; name: string; isLearner: boolean }> | undefined, string]
  > = [
    ['continues while its assignment stands', a('5'), [], 'continue'],
    [
      'continues when the leader deleted the assignment after promoting the learner',
      undefined,
      [{ id: '5', name: 'm4', isLearner: false }],
      'continue',
    ],
    ['abandons when etcd no longer lists its learner', undefined, [{ id: '1', name: 'm1', isLearner: false }], 'abandon'],
    ['abandons when a new assignment replaced a removed learner', a('6'), [{ id: '6', name: '', isLearner: true }], 'abandon'],
    ['continues when etcd cannot be asked', undefined, undefined, 'continue'],
  ];
  for (const [title, assignment, members, want] of attemptRows) {
    it(`an attempt ${title}`, () => expect(attemptAction({ attemptId: '5', assignment, members })).to.equal(want));
  }
});
