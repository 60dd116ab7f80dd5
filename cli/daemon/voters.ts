/**
 * etcd voters on the daemon side: the leader-only VoterController (the
 * EtcdVoterReconciler over a live etcd cluster API), and waitUntilVoter, which
 * a member that joined etcd as a learner runs before it uses its own etcd, and
 * which the EtcdLearnerAgent runs for a member the voter controller added later.
 */
import type { Logger } from '../../lib/log/logger.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import type { Clock } from '../../lib/controller/clock.js';
import type { SharedInformerFactory } from '../../lib/controller/shared-informer-factory.js';
import { Controller } from '../../lib/controller/controller.js';
import { enqueueMapped } from '../../lib/controller/handlers.js';
import { EventRecorder } from '../../lib/controller/events.js';
import { EtcdMembership } from '../../lib/etcd/membership.js';
import { TimeoutError, UnavailableError, errorMessage, isCode } from '../../lib/errors.js';
import { ETCD_VOTERS_KEY, EtcdVoterReconciler } from '../../controllers/membership/etcd-voter-reconciler.js';
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
    }).watches(members, enqueueMapped<Member>(() => [ETCD_VOTERS_KEY]));
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
 * until it is a voter; TimeoutError after `timeoutMs` (default 120 s), and
 * UnavailableError as soon as `signal` aborts. The leader's voter controller
 * may promote it first: that counts as done.
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
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  try {
    for (;;) {
      if (opts.signal?.aborted) throw new UnavailableError(`the promotion of etcd member ${opts.name} was abandoned`);
      try {
        const self = (await etcd.list()).find((m) => m.name === opts.name);
        if (self && !self.isLearner) return;
        if (self) await etcd.promote(self.id);
      } catch (err) {
        if (!isCode(err, 'Unavailable') && !isCode(err, 'Conflict')) opts.logger.warn('promotion to etcd voter failed; retrying', { error: errorMessage(err) });
      }
      if (Date.now() > deadline) throw new TimeoutError(`etcd member ${opts.name} was not promoted to voter in time`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    etcd.close();
  }
}
