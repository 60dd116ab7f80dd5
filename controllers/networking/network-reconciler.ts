/**
 * NetworkReconciler is the per-member host agent for Networks: it builds
 * each valid network's plumbing on this member through its driver, keeps the
 * DNS names and the underlay peers current, reports this member's view in
 * `status.members[]`, and holds a per-member finalizer so a network is torn
 * down everywhere before it goes. A network still holding addresses is not
 * torn down: its deletion waits, with an InUse condition naming the holders.
 * An invalid network (unknown driver, bad or overlapping subnet) gets a
 * Ready=False condition and nothing on the host.
 */
import type { Clock } from '../../lib/controller/clock.js';
import type { EventRecorder } from '../../lib/controller/events.js';
import { setCondition } from '../../lib/controller/conditions.js';
import { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from '../../lib/controller/finalizers.js';
import type { Informer } from '../../lib/controller/informer.js';
import type { ReconcileContext, Reconciler, Request, Result } from '../../lib/controller/reconciler.js';
import { CONDITION_TIME_KEYS, updateStatus } from '../../lib/controller/status.js';
import type { KindInfo } from '../../lib/kinds/registry.js';
import type { Member, Network, NetworkStatus } from '../../lib/kinds/types.js';
import type { Store } from '../../lib/store/types.js';
import type { NetworkDriverRegistry } from './drivers/registry.js';
import { describeOwner, type Ipam } from './ipam.js';
import { plumbingNames } from './naming.js';
import { centralMember, hostEntries, logicalPorts, planNetwork, underlayPeers, validateNetwork } from './network-plan.js';
import { addressPlan } from './subnet.js';
import { formatIp } from '../../lib/ipv4.js';
import { mergeMemberReport, networkPhase, type MemberReport } from './network-status.js';

/** FINALIZER_PREFIX + member name is the finalizer each member holds on every network it built. */
export const FINALIZER_PREFIX = 'networking.cloudlet.dev/member-';

/** NetworkReconcilerOptions wire the reconciler. */
export interface NetworkReconcilerOptions {
  store: Store;
  networkKind: KindInfo;
  networks: Informer<Network>;
  members: Informer<Member>;
  ipam: Ipam;
  drivers: NetworkDriverRegistry;
  memberName: string;
  /** stateRoot holds per-network state files (DNS hosts, pid files) */
  stateRoot: string;
  clock: Clock;
  /** events records why a deletion waits */
  events: EventRecorder;
  /** resyncMs re-checks each network this often (default 10 s) */
  resyncMs?: number;
}

/** NetworkReconciler drives this member's plumbing of one network; see the file comment. */
export class NetworkReconciler implements Reconciler {
  private readonly o: NetworkReconcilerOptions;
  private readonly finalizer: string;
  constructor(opts: NetworkReconcilerOptions) {
    this.o = opts;
    this.finalizer = FINALIZER_PREFIX + opts.memberName;
  }

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result> {
    const net = this.o.networks.get({ name: req.name });
    if (!net?.spec) return {};
    const names = plumbingNames({ network: net.metadata.name, scope: this.o.memberName, stateRoot: this.o.stateRoot });
    if (isBeingDeleted(net)) return this.finish(net);
    const validity = validateNetwork(net, this.o.networks.list(), this.o.drivers.names());
    if (!validity.ok) {
      // Nothing half-built: an invalid network has no plumbing here.
      if (hasFinalizer(net, this.finalizer) && this.o.drivers.has(net.spec.driver)) await this.o.drivers.get(net.spec.driver).remove(names);
      await this.writeStatus(
        net,
        { name: this.o.memberName, ready: false, message: validity.message },
        { reason: validity.reason, message: validity.message },
      );
      if (hasFinalizer(net, this.finalizer))
        await this.o.store.update(this.o.networkKind, removeFinalizer(structuredClone(net), this.finalizer));
      return {};
    }
    if (!hasFinalizer(net, this.finalizer)) {
      await this.o.store.update(this.o.networkKind, addFinalizer(structuredClone(net), this.finalizer));
      return {};
    }
    const driver = this.o.drivers.get(net.spec.driver);
    const self = this.o.members.get({ name: this.o.memberName });
    const members = this.o.members.list();
    const allocations = await this.o.ipam.list(net.metadata.name);
    let report: MemberReport;
    if (driver.info.spansMembers && !self?.spec?.address) {
      report = {
        name: this.o.memberName,
        ready: false,
        message: `member ${this.o.memberName} has no spec.address for the ${driver.info.name} underlay`,
      };
    } else {
      const base = planNetwork({
        network: net,
        driver: driver.info,
        scope: this.o.memberName,
        stateRoot: this.o.stateRoot,
        localAddress: self?.spec?.address,
        peers: underlayPeers(members, this.o.memberName),
        hosts: hostEntries(allocations),
      });
      // Drivers with central databases also get the central member and every NIC's logical port.
      const plan = driver.info.central
        ? { ...base, central: centralMember(members, this.o.memberName), ports: logicalPorts(net.metadata.name, allocations) }
        : base;
      if (driver.info.central && !plan.central) {
        report = {
          name: this.o.memberName,
          ready: false,
          message: `no Ready control-plane member with an address can run the central databases of the ${driver.info.name} driver`,
        };
      } else {
        await driver.ensure(plan);
        const obs = await driver.observe(plan);
        report = { name: this.o.memberName, ready: obs.ready, ...(obs.ready ? {} : { message: obs.problems.join('; ') }) };
      }
    }
    const readyMembers = members.filter((m) => m.status?.phase === 'Ready').map((m) => m.metadata.name);
    await this.writeStatus(net, report, undefined, { allocated: allocations.length, present: [...readyMembers, this.o.memberName] });
    return { requeueAfter: this.o.resyncMs ?? 10_000 };
  }

  /** finish tears this member's plumbing down once no address is held, then drops this member's finalizer. */
  private async finish(net: Network): Promise<Result> {
    const allocations = await this.o.ipam.list(net.metadata.name);
    if (allocations.length > 0) {
      const holders = allocations
        .slice(0, 5)
        .map((a) => describeOwner(a.owner))
        .join(', ');
      const more = allocations.length > 5 ? ` and ${allocations.length - 5} more` : '';
      const message = `network "${net.metadata.name}" is still in use by ${holders}${more}; deletion waits until they are gone`;
      // One Warning per new reason, as a StoragePool with volumes says DeletionBlocked.
      if (net.status?.message !== message) void this.o.events.warning(net, 'DeletionBlocked', message);
      await this.writeStatus(net, undefined, { reason: 'InUse', message }, { phase: 'Deleting' });
      return { requeueAfter: this.o.resyncMs ?? 10_000 };
    }
    if (!hasFinalizer(net, this.finalizer)) return {};
    const names = plumbingNames({ network: net.metadata.name, scope: this.o.memberName, stateRoot: this.o.stateRoot });
    // Teardown is the same for every driver that can run here; fall back to any one if this driver is unknown.
    const driver = this.o.drivers.has(net.spec?.driver ?? '')
      ? this.o.drivers.get(net.spec?.driver ?? '')
      : this.o.drivers.get(this.o.drivers.names()[0] ?? '');
    await driver.remove(names);
    const latest = await this.o.store.get<Network>(this.o.networkKind, net.metadata.name);
    let next = removeFinalizer(latest, this.finalizer);
    // Members that no longer exist cannot remove their own finalizers.
    const known = new Set(this.o.members.list().map((m) => m.metadata.name));
    for (const f of next.metadata.finalizers ?? []) {
      if (f.startsWith(FINALIZER_PREFIX) && !known.has(f.slice(FINALIZER_PREFIX.length))) next = removeFinalizer(next, f);
    }
    await this.o.store.update(this.o.networkKind, next);
    return {};
  }

  private async writeStatus(
    net: Network,
    report: MemberReport | undefined,
    problem: { reason: string; message: string } | undefined,
    extra: { allocated?: number; present?: string[]; phase?: NetworkStatus['phase'] } = {},
  ): Promise<void> {
    // Every member merges its own report into the shared status: a conflict recomputes on fresh data.
    await updateStatus<Network>(
      this.o.store,
      this.o.networkKind,
      { name: net.metadata.name },
      (latest) => {
        const status = latest.status ?? {};
        const present = extra.present ?? (status.members ?? []).map((m) => m.name);
        const members = mergeMemberReport(status.members, report, present, this.o.memberName);
        const phase = extra.phase ?? (problem ? 'NotReady' : networkPhase(members));
        const ready = phase === 'Ready';
        const cond = problem ?? {
          reason: ready ? 'PlumbingReady' : 'PlumbingNotReady',
          message: ready
            ? 'every member has the plumbing'
            : members
                .filter((m) => !m.ready)
                .map((m) => `${m.name}: ${m.message ?? 'not ready'}`)
                .join('; '),
        };
        return {
          ...status,
          observedGeneration: latest.metadata.generation,
          phase,
          gateway: problem ? status.gateway : planGateway(latest),
          allocated: extra.allocated ?? status.allocated,
          members,
          message: cond.message,
          conditions: setCondition(
            status.conditions,
            {
              type: 'Ready',
              status: ready ? 'True' : 'False',
              reason: cond.reason,
              message: cond.message,
              observedGeneration: latest.metadata.generation,
            },
            this.o.clock.now(),
          ),
        };
      },
      { attempts: 6, ignoreKeys: CONDITION_TIME_KEYS },
    );
  }
}

function planGateway(net: Network): string | undefined {
  try {
    return net.spec ? formatIp(addressPlan(net.spec).gateway) : undefined;
  } catch {
    // An invalid spec has no gateway; its condition already says why.
    return undefined;
  }
}
