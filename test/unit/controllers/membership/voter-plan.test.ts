import { expect } from 'chai';
import { planVoters, type VoterMember, type VoterRole, type VoterMemberState } from '../../../../controllers/membership/voter-plan.js';

/** m builds a member from a compact spec: name:state:role[:domain]; role s is a stalled learner. */
function m(spec: string): VoterMember {
  const [name = '', state = 'Ready', role = 'none', domain] = spec.split(':');
  const short: Record<string, VoterMemberState> = { R: 'Ready', N: 'NotReady', J: 'Joining' };
  const roles: Record<string, VoterRole> = { v: 'voter', l: 'learner', s: 'learner', n: 'none' };
  return {
    name,
    state: short[state] ?? 'Ready',
    role: roles[role] ?? 'none',
    ...(domain ? { failureDomain: domain } : {}),
    ...(role === 's' ? { stalled: true } : {}),
  };
}

const rows: Array<{ title: string; members: string[]; target?: number; otherLearners?: number; want: string[] }> = [
  { title: 'leaves a lone healthy voter alone', members: ['m1:R:v'], want: [] },
  { title: 'promotes a healthy learner when below three voters', members: ['m1:R:v', 'm2:R:l'], want: ['promote m2'] },
  { title: 'does not promote a learner that is still joining', members: ['m1:R:v', 'm2:J:l'], want: [] },
  { title: 'adds a spare member as learner when no learner exists', members: ['m1:R:v', 'm2:R:v', 'm3:R:n'], want: ['addLearner m3'] },
  { title: 'adds only one learner at a time', members: ['m1:R:v', 'm2:R:n', 'm3:R:n'], want: ['addLearner m2'] },
  {
    title: 'promotes the learner, then adds the next spare',
    members: ['m1:R:v', 'm2:R:l', 'm3:R:n'],
    want: ['promote m2', 'addLearner m3'],
  },
  { title: 'keeps three healthy voters and leaves later members as clients', members: ['m1:R:v', 'm2:R:v', 'm3:R:v', 'm4:R:n'], want: [] },
  {
    title: 'replaces a dead voter when a healthy spare exists',
    members: ['m1:R:v', 'm2:R:v', 'm3:N:v', 'm4:R:n'],
    want: ['removeVoter m3', 'addLearner m4'],
  },
  { title: 'keeps a dead voter when nothing can replace it', members: ['m1:R:v', 'm2:R:v', 'm3:N:v'], want: [] },
  {
    title: 'does not remove a dead voter without a healthy quorum',
    members: ['m1:R:v', 'm2:N:v', 'm3:N:v', 'm4:R:n'],
    want: [],
  },
  {
    title: 'replaces a dead voter with a healthy learner',
    members: ['m1:R:v', 'm2:R:v', 'm3:N:v', 'm4:R:l'],
    want: ['removeVoter m3', 'promote m4'],
  },
  {
    title: 'removes a dead learner so a new one can be added',
    members: ['m1:R:v', 'm2:R:v', 'm3:N:l', 'm4:R:n'],
    want: ['removeLearner m3', 'addLearner m4'],
  },
  {
    title: 'prefers a spare in a failure domain no voter covers',
    members: ['m1:R:v:a', 'm2:R:v:b', 'm3:R:n:a', 'm4:R:n:c'],
    want: ['addLearner m4'],
  },
  {
    title: 'honours a target of five voters',
    members: ['m1:R:v', 'm2:R:v', 'm3:R:v', 'm4:R:l', 'm5:R:n'],
    target: 5,
    want: ['promote m4', 'addLearner m5'],
  },
  { title: 'never adds a member that cannot host etcd', members: ['m1:R:v'], want: [] },
  {
    title: 'removes a stalled learner and adds the next spare',
    members: ['m1:R:v', 'm2:R:v', 'm3:R:s', 'm4:R:n'],
    want: ['removeLearner m3', 'addLearner m4'],
  },
  { title: 'never promotes a stalled learner', members: ['m1:R:v', 'm2:R:s'], want: ['removeLearner m2'] },
  {
    title: 'does not count a stalled learner as a replacement for a dead voter',
    members: ['m1:R:v', 'm2:R:v', 'm3:N:v', 'm4:R:s'],
    want: ['removeLearner m4'],
  },
  {
    title: 'adds no learner while etcd has a learner no member maps to',
    members: ['m1:R:v', 'm2:R:v', 'm3:R:n'],
    otherLearners: 1,
    want: [],
  },
  {
    title: 'still removes a dead voter while an unmapped learner is pending, but adds none',
    members: ['m1:R:v', 'm2:R:v', 'm3:N:v', 'm4:R:n'],
    otherLearners: 1,
    want: ['removeVoter m3'],
  },
];

describe('planVoters', () => {
  for (const row of rows) {
    it(row.title, () => {
      const actions = planVoters({
        members: row.members.map(m),
        ...(row.target ? { target: row.target } : {}),
        ...(row.otherLearners ? { otherLearners: row.otherLearners } : {}),
      });
      expect(actions.map((a) => `${a.type} ${a.member}`)).to.deep.equal(row.want);
    });
  }

  it('skips members that cannot host etcd when choosing a learner', () => {
    const members = [m('m1:R:v'), { ...m('m2:R:n'), canHostEtcd: false }, m('m3:R:n')];
    expect(planVoters({ members }).map((a) => `${a.type} ${a.member}`)).to.deep.equal(['addLearner m3']);
  });

  it('gives every action a reason', () => {
    for (const a of planVoters({ members: ['m1:R:v', 'm2:R:v', 'm3:N:v', 'm4:R:l'].map(m) }))
      expect(a.reason).to.be.a('string').and.not.empty;
  });
});
