/**
 * etcd voters on the daemon side: the leader-only VoterController (the
 * EtcdVoterReconciler over a live etcd cluster API), and waitUntilVoter, which
 * a member that joined etcd as a learner runs before it uses its own etcd, and
 * which the EtcdLearnerAgent runs for a member the voter controller added later.
 */
import type { Logger } from '../lib/log/logger.js';
import type { Metrics } from '../lib/metrics/metrics.js';
import type { KindInfo } from '../lib/kinds/registry.js';
import type { Member } from '../lib/kinds/types.js';
import type { Store } from '../lib/store/types.js';
import type { Clock } from '../lib/controller/clock.js';
import type { SharedInformerFactory } from '../lib/controller/shared-informer-factory.js';
import { Controller } from '../lib/controller/controller.js';
import { enqueueMapped } from '../lib/controller/handlers.js';
import { EventRecorder } from '../lib/controller/events.js';
import { EtcdMembership } from '../lib/etcd/membership.js';
import { UnavailableError, errorMessage, isCode } from '../lib/errors.js';
import { retryTransient } from '../lib/controller/backoff.js';
import { ETCD_VOTERS_KEY, EtcdVoterReconciler } from '../controllers/membership/etcd-voter-reconciler.js';
import type { MemberTlsFiles } from './cluster.js';

/** VoterControllerOptions wire the controller. */
export interface VoterControllerOptions {
  store: Store;
  memberKind: KindInfo;
  informers: SharedInformerFactory;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  memberName: string;
  etcd: () => EtcdMembership;
}

/** VoterController runs the EtcdVoterReconciler while this member leads. */
export class VoterController {
  private controller: Controller | undefined;
  private etcd: EtcdMembership | undefined;

  constructor(private readonly o: VoterControllerOptions) {}

  /** start starts the controller; it stops when `signal` aborts or stop() is called. */
  async start(signal: AbortSignal): Promise<void> {
    const { store, memberKind, informers, logger, metrics, clock, memberName } = this.o;
    const members = informers.forKind<Member>(memberKind);
    this.etcd = this.o.etcd();
    const controller = new Controller({
      name: 'etcd-voters',
      reconciler: new EtcdVoterReconciler({
        store,
        memberKind,
        members,
        etcd: this.etcd,
        events: new EventRecorder({ store, logger, metrics, component: 'etcd-voters', host: memberName, clock }),
        clock,
      }),
      logger,
      metrics,
      clock,
    }).watches(
      members,
      enqueueMapped<Member>(() => [ETCD_VOTERS_KEY]),
    );
    this.controller = controller;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    controller.add(ETCD_VOTERS_KEY);
    await controller.start();
  }

  /** stop stops the controller and closes its etcd connection; safe to call more than once. */
  async stop(): Promise<void> {
    const c = this.controller;
    this.controller = undefined;
    await c?.stop();
    this.etcd?.close();
    this.etcd = undefined;
  }
}

/**
 * waitUntilVoter asks etcd (through `endpoints`) to promote learner `name`
 * until it is a voter, through the shared retry policy (retryTransient):
 * etcd's transient refusals (a learner not yet in sync, an unhealthy cluster
 * right after another change, no leader) and a promotion the leader's voter
 * controller made first are "not yet"; TimeoutError after `timeoutMs`
 * (default 120 s) naming the last refusal, and UnavailableError as soon as
 * `signal` aborts.
 */
export async function waitUntilVoter(opts: {
  name: string;
  endpoints: string[];
  tls: MemberTlsFiles;
  logger: Logger;
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<void> {
  const etcd = new EtcdMembership({ endpoints: opts.endpoints, tls: opts.tls });
  try {
    await retryTransient(
      async () => {
        const self = (await etcd.list()).find((m) => m.name === opts.name);
        if (self && !self.isLearner) return;
        if (!self) throw new UnavailableError(`etcd lists no started member named ${opts.name} yet`);
        try {
          await etcd.promote(self.id);
        } catch (err) {
          // Conflict: promoted meanwhile (by the voter controller); the next attempt's list sees it.
          if (!isCode(err, 'Conflict')) throw err;
        }
        throw new UnavailableError(`etcd member ${opts.name} is not a voter yet`);
      },
      {
        what: `promote etcd member ${opts.name} to voter`,
        timeoutMs: opts.timeoutMs ?? 120_000,
        backoff: { initialMs: 250, maxMs: 2000 },
        hint: 'check that this member reaches the other etcd members on their peer ports',
        ...(opts.signal ? { signal: opts.signal } : {}),
        onRetry: ({ attempt, error }) => {
          if (attempt % 10 === 0)
            opts.logger.info('still waiting for the promotion to etcd voter', { member: opts.name, error: errorMessage(error) });
        },
      },
    );
  } finally {
    etcd.close();
  }
}
