/**
 * Daemon assembles one Cloudlet member in one place (STYLE.md: wire
 * everything explicitly at start-up): embedded etcd (or external endpoints),
 * the store, the API server, the shared informers, the member agent, the
 * etcd learner agent of an etcd-client member (it starts a local etcd when the
 * voter controller adds this member to etcd), the host agents, and the
 * cluster controllers that run only while this member leads.
 */
import { join } from 'node:path';
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { ensureCertificate } from '../lib/pki/pki.js';
import type { Logger } from '../lib/log/logger.js';
import { createMetrics, type Metrics } from '../lib/metrics/metrics.js';
import { KindRegistry } from '../lib/kinds/registry.js';
import { EtcdServer } from '../lib/etcd/server.js';
import { EtcdStore } from '../lib/store/etcd-store.js';
import type { Store } from '../lib/store/types.js';
import { ApiServer } from '../lib/api/server.js';
import { SharedInformerFactory } from '../lib/controller/shared-informer-factory.js';
import { LeaderElector } from '../lib/controller/leader-election.js';
import { realClock, type Clock } from '../lib/controller/clock.js';
import type { KindInfo } from '../lib/kinds/registry.js';
import { errorMessage } from '../lib/errors.js';
import { MemberAgent } from '../controllers/membership/member-agent.js';
import { ensureNamespaces } from '../controllers/namespaces/bootstrap.js';
import { retryTransient } from '../lib/controller/backoff.js';
import {
  ensureClusterIdentity,
  parseListen,
  clientAddress,
  writeKubeconfig,
  writeMemberFile,
  memberTlsFiles,
  type ClusterIdentity,
  type MemberTlsFiles,
} from './cluster.js';
import { EtcdMembership } from '../lib/etcd/membership.js';
import { JoinService } from './join-server.js';
import { AccessService } from './access-service.js';
import { CredentialCache, Credentials } from '../lib/auth/credentials.js';
import { ensureDefaultRbac } from '../lib/auth/bootstrap.js';
import { AuditLog, auditLogPath } from '../lib/audit/audit-log.js';
import { VoterController, waitUntilVoter } from './voters.js';
import { EtcdLearnerAgent } from './etcd-learner-agent.js';
import { EventRecorder } from '../lib/controller/events.js';
import { ClusterControllers } from './cluster-controllers.js';
import { HostAgents } from './host-agents.js';
import { VERSION } from '../lib/version.js';
import type { DaemonOptions } from './index.js';

/** Stoppable is anything the daemon stops on the way down, in reverse start order. */
interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

/** Base is what the first step reads: identity, token, kinds, TLS files, clock. */
interface Base {
  identity: ClusterIdentity;
  /** token: the bootstrap admin token, held only by the member that made the cluster */
  token: string | undefined;
  kinds: KindRegistry;
  memberKind: KindInfo;
  tlsFiles: MemberTlsFiles | undefined;
  clock: Clock;
}

/** EtcdWiring is what buildStore makes: the store, whether etcd is external, and an opener for etcd's cluster API. */
interface EtcdWiring {
  store: Store;
  external: boolean;
  openEtcd: () => EtcdMembership;
}

/** Wiring is everything later steps need. */
interface Wiring extends Base, EtcdWiring {
  host: string;
  informers: SharedInformerFactory;
}

/** Daemon is one running member; start() brings it up, stop() takes it down in reverse order. */
export class Daemon {
  private readonly opts: DaemonOptions & { logger: Logger };
  private readonly log: Logger;
  private readonly stack: Stoppable[] = [];
  /** metrics of this daemon (exposed on /metrics) */
  readonly metrics: Metrics;
  private storeRef: Store | undefined;
  private learnerAgent: EtcdLearnerAgent | undefined;
  /** apiPort is the port the API listens on, once started. */
  apiPort = 0;
  /** etcdPid is the embedded etcd's PID, once started. */
  etcdPid: number | undefined;

  constructor(opts: DaemonOptions & { logger: Logger }) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'daemon' });
    this.metrics = createMetrics({ defaults: true });
  }

  /** store is the daemon's store (after start). */
  get store(): Store {
    if (!this.storeRef) throw new Error('daemon not started');
    return this.storeRef;
  }

  /**
   * start brings every part up, in named steps that each push what they
   * started onto the stop stack; on failure the caller calls stop() to undo
   * what started.
   */
  async start(): Promise<void> {
    const base = await this.loadIdentity();
    const etcd = await this.buildStore(base);
    await this.ensureNamespaces(base, etcd.store);
    const api = await this.serveApi(base, etcd);
    const informers = this.buildInformers(etcd.store);
    const wiring: Wiring = { ...base, ...etcd, ...api, informers };
    const agent = await this.startMemberAgent(wiring);
    await this.startLearnerAgent(wiring);
    await this.startHostAgents(wiring, agent);
    this.startLeaderElection(wiring);
    informers.start();
    this.log.info('daemon ready', { member: base.identity.memberName, version: VERSION });
  }

  /** loadIdentity reads this member's cluster identity and admin token, and loads the kinds. */
  private async loadIdentity(): Promise<Base> {
    const { identity, token } = await ensureClusterIdentity(this.opts.dataDir, this.opts.memberName);
    // Members made by init/join use TLS to etcd with the member certificate; `up` data dirs of old use plain loopback.
    const tlsFiles = identity.etcd ? memberTlsFiles(this.opts.dataDir) : undefined;
    const kinds = KindRegistry.load();
    return { identity, token, kinds, memberKind: kinds.resolve('members'), tlsFiles, clock: realClock };
  }

  /** buildStore starts the embedded etcd (or takes the external endpoints) and opens the store on it. */
  private async buildStore(base: Base): Promise<EtcdWiring> {
    let endpoints = this.opts.etcdEndpoints;
    const external = Boolean(endpoints?.length);
    if (!endpoints?.length) endpoints = await this.startEtcd(base.identity);
    const etcdTls = external ? undefined : base.tlsFiles;
    const store = new EtcdStore({ endpoints, logger: this.opts.logger, metrics: this.metrics, ...(etcdTls ? { tls: etcdTls } : {}) });
    this.storeRef = store;
    this.stack.push({ name: 'store', stop: () => store.close() });
    const etcdEndpoints = endpoints;
    const openEtcd = (): EtcdMembership => new EtcdMembership({ endpoints: etcdEndpoints, ...(etcdTls ? { tls: etcdTls } : {}) });
    return { store, external, openEtcd };
  }

  /** ensureNamespaces makes Namespace `default` and, on an upgrade, one for every namespace already holding objects (idempotent; every member runs it). */
  private async ensureNamespaces(base: Base, store: Store): Promise<void> {
    await retryTransient(() => ensureNamespaces(store, base.kinds, this.opts.logger), {
      timeoutMs: 120_000,
      what: 'create the cluster namespaces',
      hint: 'check that etcd is reachable',
      onRetry: ({ error }) => this.log.warn('creating namespaces failed, retrying', { error: errorMessage(error) }),
      clock: base.clock,
    });
  }

  /** serveApi issues the serving certificate, starts the API (with the join routes) and writes the kubeconfig and member file. */
  private async serveApi(base: Base, etcd: EtcdWiring): Promise<{ host: string }> {
    const { dataDir, logger } = this.opts;
    const { identity, token, kinds, memberKind } = base;
    const { host, port } = parseListen(this.opts.listen);
    const pkiDir = join(dataDir, 'pki');
    const listenHost = host && host !== '0.0.0.0' && host !== '::' ? [host] : [];
    const sans = ['127.0.0.1', 'localhost', hostname(), ...listenHost, ...(identity.address ? [identity.address] : [])];
    const serving = await ensureCertificate(pkiDir, { name: 'apiserver', sans, usage: 'server' });
    const caPem = await readFile(join(pkiDir, 'ca.crt'), 'utf8');
    // ca: client certificates signed by the cluster CA authenticate (kubeconfigs written by `cloudlet user create`)
    const tls = { key: await readFile(serving.key), cert: await readFile(serving.cert), ca: caPem };
    await ensureDefaultRbac(etcd.store, logger);
    const credentials = new CredentialCache({ raw: etcd.store.raw, logger, metrics: this.metrics });
    if (token !== undefined) await new Credentials(etcd.store.raw).publishAdminToken(token);
    await credentials.start();
    this.stack.push({ name: 'credential cache', stop: () => credentials.stop() });
    const access = new AccessService({ store: etcd.store, pkiDir, logger });
    const audit = await AuditLog.open({ path: auditLogPath(dataDir), log: logger, metrics: this.metrics });
    this.stack.push({ name: 'audit log', stop: () => audit.close() });
    let server = '';
    const joins = identity.etcd
      ? new JoinService({
          store: etcd.store,
          memberKind,
          pkiDir,
          clusterName: identity.clusterName,
          apiServer: () => server,
          etcd: etcd.openEtcd,
          logger,
        })
      : undefined;
    const api = new ApiServer({
      store: etcd.store,
      kinds,
      logger,
      metrics: this.metrics,
      auth: { tokens: token !== undefined ? [token] : [], credentials },
      audit,
      tls,
      extraRoutes: [...(joins?.routes() ?? []), ...access.routes()],
    });
    const bound = await api.listen(host, port);
    this.apiPort = bound.port;
    this.stack.push({ name: 'api', stop: () => api.close() });
    server = clientAddress(host === '0.0.0.0' && identity.address ? identity.address : host, bound.port);
    const kubeconfig = await writeKubeconfig(dataDir, { server, token, clusterName: identity.clusterName, caPem });
    await writeMemberFile(dataDir, { name: identity.memberName, dataDir, lxcpath: this.lxcpath, apiServer: server });
    this.log.info('API serving', { server, kubeconfig });
    return { host };
  }

  /** buildInformers makes the shared informer factory (started last, once every consumer has registered). */
  private buildInformers(store: Store): SharedInformerFactory {
    const informers = new SharedInformerFactory({ store, logger: this.opts.logger, metrics: this.metrics, clock: realClock });
    this.stack.push({ name: 'informers', stop: () => informers.stop() });
    return informers;
  }

  /** startMemberAgent registers this member and keeps its heartbeat lease. */
  private async startMemberAgent(w: Wiring): Promise<MemberAgent> {
    const agent = new MemberAgent({
      store: w.store,
      memberKind: w.memberKind,
      name: w.identity.memberName,
      address: w.identity.address ?? (w.host === '0.0.0.0' ? '127.0.0.1' : w.host),
      roles: ['control-plane', 'worker'],
      dataDir: this.opts.dataDir,
      version: VERSION,
      logger: this.opts.logger,
      clock: w.clock,
    });
    await agent.start();
    this.stack.push({ name: 'member agent', stop: () => agent.stop() });
    return agent;
  }

  /** startLearnerAgent runs the etcd learner agent of an etcd-client member (it starts a local etcd when the voter controller adds this member). */
  private async startLearnerAgent(w: Wiring): Promise<void> {
    if (w.identity.etcd?.mode !== 'client' || w.external) return;
    const { logger } = this.opts;
    const learnerAgent = new EtcdLearnerAgent({
      store: w.store,
      memberKind: w.memberKind,
      identity: w.identity,
      dataDir: this.opts.dataDir,
      ...(this.opts.etcdBinary ? { etcdBinary: this.opts.etcdBinary } : {}),
      etcd: w.openEtcd,
      events: new EventRecorder({
        store: w.store,
        logger,
        metrics: this.metrics,
        component: 'etcd-learner-agent',
        host: w.identity.memberName,
        clock: w.clock,
      }),
      logger,
      metrics: this.metrics,
      clock: w.clock,
      onStarted: (pid) => (this.etcdPid = pid),
    });
    this.learnerAgent = learnerAgent;
    await learnerAgent.start();
    this.stack.push({ name: 'etcd learner agent', stop: () => learnerAgent.stop() });
  }

  /** startHostAgents starts the instance, storage and network agents of this member. */
  private async startHostAgents(w: Wiring, memberAgent: MemberAgent): Promise<void> {
    const hostAgents = new HostAgents({
      store: w.store,
      kinds: w.kinds,
      informers: w.informers,
      logger: this.opts.logger,
      metrics: this.metrics,
      clock: w.clock,
      memberName: w.identity.memberName,
      dataDir: this.opts.dataDir,
      lxcpath: this.lxcpath,
      runtime: this.opts.runtime ?? 'lxc',
      memberAgent,
      ...(this.opts.imageDir ? { imageDir: this.opts.imageDir } : {}),
    });
    await hostAgents.start();
    this.stack.push({ name: 'host agents', stop: () => hostAgents.stop() });
  }

  /** startLeaderElection runs the cluster controllers (and the etcd voter controller) while this member leads. */
  private startLeaderElection(w: Wiring): void {
    const { logger } = this.opts;
    const memberName = w.identity.memberName;
    const deps = { store: w.store, informers: w.informers, logger, metrics: this.metrics, clock: w.clock, memberName };
    const cluster = new ClusterControllers({ ...deps, kinds: w.kinds });
    const voters =
      w.identity.etcd && !w.external ? new VoterController({ ...deps, memberKind: w.memberKind, etcd: w.openEtcd }) : undefined;
    const elector = new LeaderElector({
      store: w.store,
      name: 'cluster-controllers',
      identity: memberName,
      // Re-check the leader key every second, not every TTL: after the leader's member dies an etcd leader change can
      // break the watch, and failover waits for the new leader.
      retryPeriodMs: 1000,
      logger,
      metrics: this.metrics,
      clock: w.clock,
      onStartedLeading: (signal) => {
        this.log.info('leading: starting cluster controllers', { member: memberName });
        cluster.start(signal).catch((err: unknown) => this.log.error('cluster controllers failed', { error: errorMessage(err) }));
        voters?.start(signal).catch((err: unknown) => this.log.error('etcd voter controller failed', { error: errorMessage(err) }));
      },
      onStoppedLeading: async () => {
        this.log.info('no longer leading: stopping cluster controllers', { member: memberName });
        await cluster.stop();
        await voters?.stop();
      },
    });
    elector.start();
    this.stack.push({ name: 'leader election', stop: () => elector.stop() });
    this.stack.push({ name: 'cluster controllers', stop: () => cluster.stop() });
    if (voters) this.stack.push({ name: 'etcd voter controller', stop: () => voters.stop() });
  }

  /** lxcpath is where this member's LXC containers live. */
  private get lxcpath(): string {
    return join(this.opts.dataDir, 'lxc');
  }

  /**
   * startEtcd starts the embedded etcd and returns the endpoints the store
   * dials: the local member (TLS on the member address for init/join data
   * dirs), or the cluster's members for etcd-client members. A member that
   * joined as a learner waits here until it is a voter: learners serve no
   * client requests.
   */
  private async startEtcd(identity: ClusterIdentity): Promise<string[]> {
    const { dataDir, logger } = this.opts;
    const cfg = identity.etcd;
    if (cfg?.mode === 'client') {
      // The voter controller may make this member an etcd member later (EtcdLearnerAgent): that etcd then
      // stops here, last, as a voter's etcd started at join time does.
      this.stack.push({ name: 'etcd', stop: async () => this.learnerAgent?.stopEtcd() });
      return cfg.endpoints;
    }
    const files = memberTlsFiles(dataDir);
    const tls = { certFile: files.certFile, keyFile: files.keyFile, trustedCaFile: files.caFile };
    const etcd = new EtcdServer({
      dataDir,
      logger,
      binary: this.opts.etcdBinary,
      name: identity.memberName,
      ...(cfg
        ? {
            host: identity.address ?? '127.0.0.1',
            clientTls: tls,
            peerTls: tls,
            initialClusterState: cfg.initialClusterState ?? 'new',
            ...(cfg.initialCluster ? { initialCluster: cfg.initialCluster } : {}),
            startTimeoutMs: 120_000,
          }
        : {}),
    });
    const info = await etcd.start();
    this.stack.push({ name: 'etcd', stop: () => etcd.stop() });
    this.etcdPid = info.pid;
    if (cfg?.initialClusterState === 'existing') {
      await waitUntilVoter({ name: identity.memberName, endpoints: [...cfg.endpoints, info.clientUrl], tls: files, logger: this.log });
    }
    return [info.clientUrl];
  }

  /** stop stops everything started, newest first; errors are logged and the rest still stop. */
  async stop(): Promise<void> {
    for (const part of this.stack.splice(0).reverse()) {
      try {
        await part.stop();
      } catch (err) {
        this.metrics.errors.inc({ component: 'daemon' });
        this.log.warn('stopping a part failed', { part: part.name, error: errorMessage(err) });
      }
    }
  }
}
