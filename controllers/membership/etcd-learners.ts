/**
 * The hand-over between the leader's etcd voter controller and a member that
 * runs no etcd yet (an etcd client since it joined), as two raw keys:
 *
 *   /cloudlet/etcd-candidates/<member>  {"peerUrl"}   written by the member's daemon at start:
 *                                                   the peer URL its etcd would announce
 *   /cloudlet/etcd-learners/<member>    assignment   written by the leader right after it added
 *                                                   that peer URL to etcd as a learner
 *
 * The assignment carries what a join answer carries for a learner (the
 * initial-cluster string, state `existing`, the voters' client URLs) plus the
 * etcd member id. The member's daemon starts its etcd from it and promotes
 * itself; the leader deletes the assignment once the member is a voter or
 * its learner is gone. Parsing and the member side's decisions are pure
 * functions here so both sides and the tests share one definition.
 */
import { ETCD_CANDIDATE_PREFIX, ETCD_LEARNER_PREFIX } from '../../lib/store/key-space.js';
import { isJsonMap } from '../../lib/json.js';
export { ETCD_CANDIDATE_PREFIX, ETCD_LEARNER_PREFIX };

/** EtcdCandidate is what an etcd-client member publishes: the peer URL its etcd would listen on. */
export interface EtcdCandidate {
  peerUrl: string;
}

/** EtcdLearnerAssignment tells member `member` to start etcd as learner `id` announcing `peerUrl`. */
export interface EtcdLearnerAssignment {
  member: string;
  /** id is etcd's member id of the learner (decimal string) */
  id: string;
  peerUrl: string;
  /** initialCluster is `name=peerURL,...` including this member, for --initial-cluster with state existing */
  initialCluster: string;
  /** endpoints are the voters' client URLs at the time of the add (for promotion and as fallback) */
  endpoints: string[];
}

function record(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isJsonMap(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

const PEER_URL_RE = /^https?:\/\/\S+:\d+$/;

/** parseCandidate reads an EtcdCandidate value; undefined when it is not one. */
export function parseCandidate(text: string): EtcdCandidate | undefined {
  const r = record(text);
  return r && typeof r.peerUrl === 'string' && PEER_URL_RE.test(r.peerUrl) ? { peerUrl: r.peerUrl } : undefined;
}

/** parseAssignment reads an EtcdLearnerAssignment value; undefined when it is not one. */
export function parseAssignment(text: string): EtcdLearnerAssignment | undefined {
  const r = record(text);
  if (!r) return undefined;
  const { member, id, peerUrl, initialCluster, endpoints } = r;
  if (typeof member !== 'string' || typeof id !== 'string' || typeof peerUrl !== 'string' || typeof initialCluster !== 'string')
    return undefined;
  if (!Array.isArray(endpoints) || !endpoints.every((e): e is string => typeof e === 'string')) return undefined;
  if (!PEER_URL_RE.test(peerUrl) || !initialCluster.includes(`${member}=${peerUrl}`)) return undefined;
  return { member, id, peerUrl, initialCluster, endpoints };
}

/** portOf returns the port of a URL such as https://10.0.0.4:2380, or undefined. */
export function portOf(url: string): number | undefined {
  const m = /:(\d{1,5})$/.exec(url);
  return m ? Number(m[1]) : undefined;
}

/** EtcdMemberView is one etcd member as both sides see it in a member list. */
export interface EtcdMemberView {
  id: string;
  name: string;
  isLearner: boolean;
}

/**
 * LearnerDataAction says what to do with `<dataDir>/etcd/data` before starting
 * etcd for an assignment: `keep` when the data belongs to this very learner
 * (a restart of the same attempt: etcd must resume its own log, an emptied
 * data dir under a member id that already ran makes raft panic), `wipe` when
 * it is left from an earlier attempt whose learner was removed.
 */
export type LearnerDataAction = 'keep' | 'wipe';

/** learnerDataAction decides from the marker of the last attempt (the assignment it started, if any). */
export function learnerDataAction(input: {
  marker: EtcdLearnerAssignment | undefined;
  assignment: EtcdLearnerAssignment;
}): LearnerDataAction {
  return input.marker?.id === input.assignment.id ? 'keep' : 'wipe';
}

/**
 * ResumeAction is what an etcd-client member's daemon does at start when a
 * marker says it began an attempt: `voter` — its learner was promoted but the
 * daemon stopped before it recorded that, so it runs its etcd as a voter now;
 * `wait` — still a learner, the assignment decides; `none` — nothing to resume.
 */
export type ResumeAction = 'voter' | 'wait' | 'none';

/** resumeAction decides from the marker and etcd's member list. */
export function resumeAction(input: { marker: EtcdLearnerAssignment | undefined; members: EtcdMemberView[] }): ResumeAction {
  if (!input.marker) return 'none';
  const self = input.members.find((m) => m.id === input.marker?.id);
  if (!self) return 'none';
  return self.isLearner ? 'wait' : 'voter';
}

/**
 * AttemptAction is what a member does with its running attempt when it sees
 * its assignment again: `continue`, or `abandon` (stop its etcd) because its
 * learner is no longer in etcd. A missing assignment alone is no reason to
 * stop: the leader deletes it once it has promoted the learner itself.
 */
export type AttemptAction = 'continue' | 'abandon';

/** attemptAction decides for the attempt at etcd id `attemptId`; `members` undefined means etcd could not be asked (continue). */
export function attemptAction(input: {
  attemptId: string;
  assignment: EtcdLearnerAssignment | undefined;
  members: EtcdMemberView[] | undefined;
}): AttemptAction {
  if (input.assignment?.id === input.attemptId || input.members === undefined) return 'continue';
  return input.members.some((m) => m.id === input.attemptId) ? 'continue' : 'abandon';
}
