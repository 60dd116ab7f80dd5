/**
 * The etcd voter plan as a pure function (STYLE.md: decisions as pure
 * functions, like LXD's rolesAdjust). From each member's health, its etcd
 * role and failure domain, it lists the membership changes that move the
 * cluster toward `target` healthy voters, safest first:
 *
 * 1. remove a dead voter, but only when a healthy non-voter can take its
 *    place and both the current and the smaller voter set keep a quorum of
 *    healthy voters (otherwise etcd could not commit the change, or the next
 *    failure would lose quorum);
 * 2. remove a dead learner (it cannot catch up; it only blocks new learners),
 *    or a stalled one (the controller added it and it did not become a voter
 *    within the learner timeout: its member never started etcd);
 * 3. promote a healthy learner while healthy voters are below target;
 * 4. add a healthy etcd-less member as a learner while no learner exists
 *    (etcd allows one learner at a time; `otherLearners` counts learners no
 *    member maps to, such as a joiner's before its etcd starts) and voters
 *    plus learners are below target.
 *
 * Nothing is planned while the healthy voters are below quorum.
 * Candidates in a failure domain no healthy voter covers come first, then by name.
 */

/** VoterRole is a member's role in etcd. */
export type VoterRole = 'voter' | 'learner' | 'none';

/** VoterMemberState is how the membership controller sees a member: Joining has not been judged yet. */
export type VoterMemberState = 'Ready' | 'NotReady' | 'Joining';

/** VoterMember is one member as the plan sees it. */
export interface VoterMember {
  name: string;
  state: VoterMemberState;
  role: VoterRole;
  failureDomain?: string;
  /** canHostEtcd: the member may run an etcd member (control-plane role); default true */
  canHostEtcd?: boolean;
  /** stalled: a learner the controller added that did not become a voter within the learner timeout */
  stalled?: boolean;
}

/** VoterAction is one membership change. */
export type VoterAction =
  | { type: 'removeVoter'; member: string; reason: string }
  | { type: 'removeLearner'; member: string; reason: string }
  | { type: 'promote'; member: string; reason: string }
  | { type: 'addLearner'; member: string; reason: string };

/** DEFAULT_VOTERS is the number of etcd voters Cloudlet aims for. */
export const DEFAULT_VOTERS = 3;

function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

function byPreference(covered: Set<string>): (a: VoterMember, b: VoterMember) => number {
  const fresh = (m: VoterMember): number => (m.failureDomain !== undefined && !covered.has(m.failureDomain) ? 0 : 1);
  return (a, b) => fresh(a) - fresh(b) || a.name.localeCompare(b.name);
}

/** planVoters returns the ordered changes for `members` toward `target` (default 3) healthy voters; [] when nothing should change. */
export function planVoters(input: { members: VoterMember[]; target?: number; otherLearners?: number }): VoterAction[] {
  const target = input.target ?? DEFAULT_VOTERS;
  const members = [...input.members].sort((a, b) => a.name.localeCompare(b.name));
  const voters = members.filter((m) => m.role === 'voter');
  const healthyVoters = voters.filter((m) => m.state !== 'NotReady');
  const deadVoters = voters.filter((m) => m.state === 'NotReady');
  const learners = members.filter((m) => m.role === 'learner');
  const healthyLearners = learners.filter((m) => m.state === 'Ready' && !m.stalled);
  const deadLearners = learners.filter((m) => m.state === 'NotReady' || m.stalled);
  const spare = members.filter((m) => m.role === 'none' && m.state === 'Ready' && (m.canHostEtcd ?? true));
  const covered = new Set(healthyVoters.map((m) => m.failureDomain).filter((d): d is string => d !== undefined));
  const actions: VoterAction[] = [];
  // Without a healthy quorum etcd commits no membership change: that is `cloudlet cluster recover`'s job.
  if (voters.length > 0 && healthyVoters.length < quorum(voters.length)) return actions;

  let voterCount = voters.length;
  let replacements = healthyLearners.length + spare.length;
  for (const dead of deadVoters) {
    const canCommit = healthyVoters.length >= quorum(voterCount);
    const staysSafe = healthyVoters.length >= quorum(voterCount - 1);
    if (replacements === 0 || !canCommit || !staysSafe || voterCount <= 1) break;
    actions.push({ type: 'removeVoter', member: dead.name, reason: `voter ${dead.name} is NotReady and a healthy member can replace it` });
    voterCount--;
    replacements--;
  }
  for (const dead of deadLearners) {
    const why = dead.state === 'NotReady' ? 'is NotReady' : 'did not become a voter within the learner timeout';
    actions.push({ type: 'removeLearner', member: dead.name, reason: `learner ${dead.name} ${why}` });
  }

  let healthy = healthyVoters.length;
  const promotable = [...healthyLearners].sort(byPreference(covered));
  for (const learner of promotable) {
    if (healthy >= target) break;
    actions.push({ type: 'promote', member: learner.name, reason: `${healthy} healthy voters, target ${target}` });
    if (learner.failureDomain !== undefined) covered.add(learner.failureDomain);
    healthy++;
  }

  const learnerLeft = learners.length - deadLearners.length - actions.filter((a) => a.type === 'promote').length;
  if (learnerLeft === 0 && (input.otherLearners ?? 0) === 0 && healthy < target) {
    const next = [...spare].sort(byPreference(covered))[0];
    if (next) actions.push({ type: 'addLearner', member: next.name, reason: `${healthy} healthy voters, target ${target}` });
  }
  return actions;
}
