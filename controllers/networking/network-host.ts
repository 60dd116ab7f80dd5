/**
 * NetworkHost wires this member's networking in one place for the daemon:
 * the driver registry, the network agent (plumbing per network) and the NIC
 * plumber the instance agent asks for addresses and NICs.
 */
import { join } from 'node:path';
import { EventRecorder } from '../../lib/controller/events.js';
import { errorMessage } from '../../lib/errors.js';
import type { HostRunner } from '../../lib/host/exec.js';
import type { Member, Network } from '../../lib/kinds/types.js';
import { defaultNetworkDrivers, type NetworkDriverRegistry } from './drivers/registry.js';
import { Ipam } from './ipam.js';
import { NetworkAgent } from './network-agent.js';
import { NicPlumber } from './nic-plumber.js';
import type { ControllerDeps } from '../../lib/controller/deps.js';

/** NetworkHostOptions: what the daemon already has. State lives under `<dataDir>/networks`. */
export interface NetworkHostOptions extends ControllerDeps {
  dataDir: string;
  host?: HostRunner;
}

/** NetworkHost owns the member's network agent and NIC plumber. */
export class NetworkHost {
  /** plumber is handed to the instance agent (`nics`). */
  readonly plumber: NicPlumber;
  private readonly agent: NetworkAgent;
  private readonly drivers: NetworkDriverRegistry;
  private readonly o: NetworkHostOptions;

  constructor(opts: NetworkHostOptions) {
    this.o = opts;
    const networkKind = opts.kinds.resolve('networks');
    const drivers = defaultNetworkDrivers({ host: opts.host, memberName: opts.memberName, dataDir: opts.dataDir });
    this.drivers = drivers;
    const stateRoot = join(opts.dataDir, 'networks');
    this.agent = new NetworkAgent({
      store: opts.store,
      networkKind,
      networks: opts.informers.forKind<Network>(networkKind),
      members: opts.informers.forKind<Member>(opts.kinds.resolve('members')),
      drivers,
      memberName: opts.memberName,
      stateRoot,
      logger: opts.logger.child({ component: 'network-agent' }),
      metrics: opts.metrics,
      clock: opts.clock,
      events: new EventRecorder({
        store: opts.store,
        logger: opts.logger,
        metrics: opts.metrics,
        component: 'network-agent',
        host: opts.memberName,
        clock: opts.clock,
      }),
    });
    this.plumber = new NicPlumber({
      store: opts.store,
      networkKind,
      ipam: new Ipam({ raw: opts.store.raw }),
      drivers,
      memberName: opts.memberName,
      stateRoot,
    });
  }

  /** start starts the network agent in the background (it waits for the informers the daemon starts). */
  start(): void {
    this.agent.start().catch((err: unknown) => {
      this.o.logger.error('the network agent failed to start', { error: errorMessage(err) });
      this.o.metrics.errors.inc({ component: 'network-agent' });
    });
  }

  /** stop stops the agent and the drivers' member-wide daemons (ovn; their state is kept for the next start); kernel plumbing stays. */
  async stop(): Promise<void> {
    await this.agent.stop();
    await this.drivers.shutdown();
  }
}
