/**
 * EtcdLearnerAgent is the host side of adding an etcd member to a running
 * member; the daemon of an etcd-client member runs it. At start it publishes
 * the peer URL its etcd would announce (ETCD_CANDIDATE_PREFIX; the ports are
 * the ones remembered in <dataDir>/etcd/ports.json), then watches its
 * assignment (ETCD_LEARNER_PREFIX, written by the leader's voter controller
 * after it added that URL as a learner). On an assignment it starts a
 * supervised EtcdServer with the assignment's initial cluster and state
 * `existing`, promotes itself with waitUntilVoter (the join path's), writes
 * `etcd.mode: member` into cluster.json (so every later start runs etcd as
 * for any voter) and withdraws its candidacy. From then on the etcd stays
 * supervised until stopEtcd(), which the daemon calls last on the way down.
 *
 * The marker <dataDir>/etcd/learner.json (the assignment of the last
 * attempt) tells whether the etcd data on disk belongs to the assigned
 * learner (kept) or to an earlier, removed one (wiped: a fresh data dir), and
 * lets a daemon that stopped between its promotion and writing cluster.json
 * resume as the voter it is. An attempt whose learner etcd no longer lists
 * (the leader removed it as dead or stalled) is stopped; a missing assignment
 * alone is not enough (the leader deletes it after promoting the learner);
 * a failed attempt is not retried for the same assignment — the leader's
 * learner timeout removes it and assigns anew.
 *
 * The agent is a Reconciler of one key on the common runner (so a check
 * never runs twice at once, failures back off, and the runner logs them):
 * the assignment key's watch, the end of an attempt and a periodic requeue
 * (resyncMs) all queue that key. The attempt itself (start etcd, wait for
 * the promotion: up to minutes) runs beside the runner, owned by the agent.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../lib/controller/clock.js';
import { Controller } from '../lib/controller/controller.js';
import type { Reconciler, Result } from '../lib/controller/reconciler.js';
import type { Metrics } from '../lib/metrics/metrics.js';
import type { EventRecorder } from '../lib/controller/events.js';
import { RawPrefixSource } from '../lib/controller/raw-source.js';
import { httpsUrlOf } from '../lib/etcd/args.js';
import type { EtcdMembership } from '../lib/etcd/membership.js';
import { choosePorts } from '../lib/etcd/ports.js';
import { EtcdServer } from '../lib/etcd/server.js';
import { UnavailableError, errorMessage } from '../lib/errors.js';
import type { KindInfo } from '../lib/kinds/registry.js';
import type { Member } from '../lib/kinds/types.js';
import type { Logger } from '../lib/log/logger.js';
import type { Store } from '../lib/store/types.js';
import {
  attemptAction,
  ETCD_CANDIDATE_PREFIX,
  ETCD_LEARNER_PREFIX,
  learnerDataAction,
  parseAssignment,
  portOf,
  resumeAction,
  type EtcdLearnerAssignment,
  type EtcdMemberView,
  type ResumeAction,
} from '../controllers/membership/etcd-learners.js';
import { memberTlsFiles, writeClusterIdentity, type ClusterIdentity } from './cluster.js';
import { waitUntilVoter } from './voters.js';

/** EtcdLearnerAgentOptions wire the agent. */
export interface EtcdLearnerAgentOptions {
  store: Store;
  memberKind: KindInfo;
  /** identity of this etcd-client member (cluster.json) */
  identity: ClusterIdentity;
  dataDir: string;
  etcdBinary?: string;
  /** etcd opens the etcd cluster API through the voters (closed after each use) */
  etcd: () => Pick<EtcdMembership, 'list' | 'close'>;
  events: EventRecorder;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** onStarted is told the PID of each (re)started etcd */
  onStarted?: (pid: number) => void;
  /** resyncMs: the assignment is re-read this often besides the watch (default 5 s) */
  resyncMs?: number;
  /** promoteTimeoutMs bounds the wait for promotion (default 120 s) */
  promoteTimeoutMs?: number;
}

interface Attempt {
  id: string;
  abort: AbortController;
  done: Promise<void>;
}

/** LEARNER_KEY is the one request the agent reconciles. */
const LEARNER_KEY = { name: 'etcd-learner' };

/** EtcdLearnerAgent: see the file comment. */
export class EtcdLearnerAgent implements Reconciler {
  private readonly o: EtcdLearnerAgentOptions;
  private readonly log: Logger;
  private readonly name: string;
  private readonly address: string;
  private readonly etcdDir: string;
  private readonly markerFile: string;
  private peerUrl = '';
  private etcdServer: EtcdServer | undefined;
  private voter = false;
  private stopped = false;
  private attempt: Attempt | undefined;
  private failedId = '';
  private assignments: RawPrefixSource | undefined;
  private controller: Controller | undefined;

  constructor(opts: EtcdLearnerAgentOptions) {
    this.o = opts;
    this.log = opts.logger.child({ component: 'etcd-learner-agent' });
    this.name = opts.identity.memberName;
    this.address = opts.identity.address ?? '127.0.0.1';
    this.etcdDir = join(opts.dataDir, 'etcd');
    this.markerFile = join(this.etcdDir, 'learner.json');
  }

  /** start resumes an interrupted promotion, publishes the candidacy and watches for an assignment. */
  async start(): Promise<void> {
    await mkdir(this.etcdDir, { recursive: true, mode: 0o700 });
    const marker = await this.readMarker();
    if (marker && (await this.resume(marker)) === 'voter') return;
    const { ports } = await choosePorts(this.etcdDir, this.address);
    this.peerUrl = httpsUrlOf(this.address, ports.peer);
    await this.o.store.raw.put(ETCD_CANDIDATE_PREFIX + this.name, JSON.stringify({ peerUrl: this.peerUrl }));
    this.log.info('published etcd candidacy', { peerUrl: this.peerUrl });
    this.controller = new Controller({
      name: 'etcd-learner',
      reconciler: this,
      logger: this.o.logger,
      metrics: this.o.metrics,
      clock: this.o.clock,
      timeoutMs: 30_000,
    });
    this.subscribe();
    this.controller.add(LEARNER_KEY);
    await this.controller.start();
  }

  /** stop ends watching and abandons an attempt still in progress; a voter's etcd keeps running until stopEtcd(). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.assignments?.stop();
    await this.controller?.stop();
    this.attempt?.abort.abort();
    await this.attempt?.done;
  }

  /** reconcile checks the assignment against the running attempt; again every resyncMs until this member is a voter. */
  async reconcile(): Promise<Result> {
    if (this.stopped || this.voter) return {};
    await this.check();
    return this.voter ? {} : { requeueAfter: this.o.resyncMs ?? 5000 };
  }

  /** stopEtcd stops the local etcd, if one runs (SIGTERM, then SIGKILL after the grace). */
  async stopEtcd(): Promise<void> {
    await this.etcdServer?.stop();
  }

  /** listEtcd is etcd's member list through the voters, or undefined (logged) when etcd does not answer. */
  private async listEtcd(): Promise<EtcdMemberView[] | undefined> {
    const etcd = this.o.etcd();
    try {
      return await etcd.list();
    } catch (err) {
      this.log.warn('cannot list etcd members', { error: errorMessage(err) });
      return undefined;
    } finally {
      etcd.close();
    }
  }

  private async resume(marker: EtcdLearnerAssignment): Promise<ResumeAction> {
    const members = await this.listEtcd();
    // Without an answer, wait for the assignment: the next start asks again.
    const action = members ? resumeAction({ marker, members }) : 'wait';
    if (action !== 'voter') return action;
    this.log.info('this member was promoted to etcd voter before it last stopped: running its etcd');
    await this.runEtcd(marker);
    await this.becomeVoter(marker);
    return action;
  }

  /** subscribe follows this member's assignment key (RawPrefixSource relists and resubscribes by itself until stopped). */
  private subscribe(): void {
    if (this.stopped || this.voter) return;
    const key = ETCD_LEARNER_PREFIX + this.name;
    this.assignments = new RawPrefixSource({
      raw: this.o.store.raw,
      prefix: key,
      // The prefix of m1 also holds m10's key.
      onEvent: (ev) => {
        if (ev.key === key) this.controller?.add(LEARNER_KEY);
      },
      logger: this.log,
      metrics: this.o.metrics,
      component: 'etcd-learner-agent',
      clock: this.o.clock,
    });
    this.assignments.start();
  }

  private async check(): Promise<void> {
    if (this.stopped || this.voter) return;
    const entry = await this.o.store.raw.get(ETCD_LEARNER_PREFIX + this.name);
    const assignment = entry ? parseAssignment(entry.value) : undefined;
    const running = this.attempt;
    if (running) {
      if (assignment?.id === running.id) return;
      const members = await this.listEtcd();
      if (attemptAction({ attemptId: running.id, assignment, members }) === 'abandon' && this.attempt === running) {
        this.log.warn('the etcd learner was removed from etcd; stopping the attempt', { id: running.id });
        running.abort.abort();
      }
      return;
    }
    if (!assignment || assignment.member !== this.name || assignment.id === this.failedId) return;
    if (assignment.peerUrl !== this.peerUrl) {
      this.log.warn('the etcd learner assignment names another peer URL; waiting for a new one', {
        assigned: assignment.peerUrl,
        published: this.peerUrl,
      });
      this.failedId = assignment.id;
      return;
    }
    const abort = new AbortController();
    const attempt: Attempt = { id: assignment.id, abort, done: Promise.resolve() };
    attempt.done = this.join(assignment, abort.signal).finally(() => {
      if (this.attempt === attempt) this.attempt = undefined;
      this.controller?.add(LEARNER_KEY);
    });
    this.attempt = attempt;
  }

  /** join is one attempt: start etcd for `a` as a learner, promote, record the new role. */
  private async join(a: EtcdLearnerAssignment, signal: AbortSignal): Promise<void> {
    this.event(
      'Normal',
      'EtcdLearnerStarting',
      `assigned as etcd learner ${a.id} at ${a.peerUrl}; starting etcd (initial cluster ${a.initialCluster}, state existing)`,
    );
    // Abandoning an attempt stops its etcd at once, even in the middle of its start.
    signal.addEventListener('abort', () => void this.etcdServer?.stop(), { once: true });
    let promoted = false;
    try {
      const marker = await this.readMarker();
      if (learnerDataAction({ marker, assignment: a }) === 'wipe') await rm(join(this.etcdDir, 'data'), { recursive: true, force: true });
      await writeFile(this.markerFile, `${JSON.stringify(a)}\n`, { mode: 0o600 });
      const pid = await this.runEtcd(a);
      this.event('Normal', 'EtcdLearnerStarted', `etcd started as learner ${a.id} (pid ${pid}); promoting it to voter once it is in sync`);
      await waitUntilVoter({
        name: this.name,
        endpoints: [...new Set([...a.endpoints, ...(this.o.identity.etcd?.endpoints ?? [])])],
        tls: memberTlsFiles(this.o.dataDir),
        logger: this.log,
        signal,
        ...(this.o.promoteTimeoutMs ? { timeoutMs: this.o.promoteTimeoutMs } : {}),
      });
      promoted = true;
      await this.becomeVoter(a);
      this.event('Normal', 'EtcdVoterJoined', `this member's etcd is a voter now (etcd member ${a.id})`);
    } catch (err) {
      if (promoted) {
        // A voter's etcd keeps running whatever happens; the marker left behind lets the next start resume as a voter.
        this.voter = true;
        this.log.error('etcd is a voter but recording that failed; the next start resumes it', { id: a.id, error: errorMessage(err) });
        return;
      }
      this.failedId = a.id;
      await this.stopEtcd();
      this.etcdServer = undefined;
      if (this.stopped) return;
      this.log.warn('starting etcd as a learner failed', { id: a.id, error: errorMessage(err) });
      this.event('Warning', 'EtcdLearnerFailed', `etcd learner ${a.id} did not become a voter: ${errorMessage(err)}`);
    }
  }

  /** runEtcd starts the supervised etcd for `a` on the ports `a` names; returns its PID. */
  private async runEtcd(a: EtcdLearnerAssignment): Promise<number> {
    const { ports } = await choosePorts(this.etcdDir, this.address);
    if (ports.peer !== portOf(a.peerUrl))
      throw new UnavailableError(`etcd peer port ${portOf(a.peerUrl) ?? '?'} is no longer free on ${this.address}`);
    const files = memberTlsFiles(this.o.dataDir);
    const tls = { certFile: files.certFile, keyFile: files.keyFile, trustedCaFile: files.caFile };
    const etcd = new EtcdServer({
      dataDir: this.o.dataDir,
      logger: this.o.logger,
      ...(this.o.etcdBinary ? { binary: this.o.etcdBinary } : {}),
      name: this.name,
      host: this.address,
      ports,
      clientTls: tls,
      peerTls: tls,
      initialCluster: a.initialCluster,
      initialClusterState: 'existing',
      startTimeoutMs: 120_000,
    });
    etcd.on('started', (info: { pid: number }) => this.o.onStarted?.(info.pid));
    this.etcdServer = etcd;
    const info = await etcd.start();
    return info.pid;
  }

  /** becomeVoter records in cluster.json that this member runs an etcd member, then withdraws the candidacy. */
  private async becomeVoter(a: EtcdLearnerAssignment): Promise<void> {
    const identity: ClusterIdentity = {
      ...this.o.identity,
      etcd: { mode: 'member', initialCluster: a.initialCluster, initialClusterState: 'existing', endpoints: a.endpoints },
    };
    await writeClusterIdentity(this.o.dataDir, identity);
    await rm(this.markerFile, { force: true });
    this.voter = true;
    // stop() resolves once its loop has ended; nothing here depends on that.
    void this.assignments?.stop();
    await this.o.store.raw.delete(ETCD_CANDIDATE_PREFIX + this.name).catch((err: unknown) => {
      this.log.warn('could not withdraw the etcd candidacy', { error: errorMessage(err) });
    });
    this.log.info('this member runs an etcd voter now', { id: a.id });
  }

  private async readMarker(): Promise<EtcdLearnerAssignment | undefined> {
    const text = await readFile(this.markerFile, 'utf8').catch(() => undefined);
    return text === undefined ? undefined : parseAssignment(text);
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.o.store.get<Member>(this.o.memberKind, this.name).then(
      (member) => this.o.events.event(member, type, reason, message),
      (err: unknown) => this.log.warn('cannot record an event on this member', { reason, error: errorMessage(err) }),
    );
  }
}
