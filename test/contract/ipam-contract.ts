/**
 * describeIpamContract is the IPAM suite run against every RawKV: the
 * MemoryStore in unit tests and a real etcd in integration tests. The
 * property test hammers one small network with many concurrent allocations
 * and asserts that no address is ever given twice.
 */
import { expect } from 'chai';
import type { Store } from '../../lib/store/types.js';
import { Ipam, type NicOwner } from '../../controllers/networking/ipam.js';
import { addressPlan, hostAddresses } from '../../controllers/networking/subnet.js';
import { formatIp } from '../../lib/ipv4.js';

/** IpamContractOptions: a fresh store per test, and how hard to hammer. */
export interface IpamContractOptions {
  makeStore: () => Promise<Store>;
  rounds: number;
  concurrency: number;
}

function owner(instance: string, nic = 0): NicOwner {
  return { namespace: 'default', instance, nic };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** describeIpamContract registers the IPAM suite for one backend. */
export function describeIpamContract(name: string, opts: IpamContractOptions): void {
  describe(`Ipam over ${name}`, () => {
    let store: Store;
    let ipam: Ipam;
    const plan = addressPlan({ subnet: '10.42.0.0/24' });
    beforeEach(async () => {
      store = await opts.makeStore();
      ipam = new Ipam({ raw: store.raw });
    });
    afterEach(async () => {
      for (const e of (await store.raw.list('/cloudlet/ipam/')).entries) await store.raw.delete(e.key);
      await store.close();
    });

    it('hands out the lowest free address, skipping the network address and the gateway', async () => {
      expect(await ipam.allocate({ network: 'lan', plan, owner: owner('a') })).to.equal('10.42.0.2');
      expect(await ipam.allocate({ network: 'lan', plan, owner: owner('b') })).to.equal('10.42.0.3');
    });

    it('returns the same address when one NIC asks twice', async () => {
      const first = await ipam.allocate({ network: 'lan', plan, owner: owner('a') });
      expect(await ipam.allocate({ network: 'lan', plan, owner: owner('a') })).to.equal(first);
      expect(await ipam.list('lan')).to.have.length(1);
    });

    it('honours a fixed address and refuses it to a second NIC, naming the holder', async () => {
      expect(await ipam.allocate({ network: 'lan', plan, owner: owner('a'), address: '10.42.0.10' })).to.equal('10.42.0.10');
      const err = await rejection(ipam.allocate({ network: 'lan', plan, owner: owner('b'), address: '10.42.0.10' }));
      expect(err.message).to.equal('address 10.42.0.10 on network "lan" is taken by default/a nic 0');
    });

    it('refuses fixed addresses outside the subnet, the gateway, the network and broadcast addresses', async () => {
      const cases: Array<[string, string]> = [
        ['10.43.0.5', 'outside the subnet 10.42.0.0/24'],
        ['10.42.0.1', 'the gateway of 10.42.0.0/24'],
        ['10.42.0.0', 'the network address of 10.42.0.0/24'],
        ['10.42.0.255', 'the broadcast address of 10.42.0.0/24'],
      ];
      for (const [address, reason] of cases) {
        const err = await rejection(ipam.allocate({ network: 'lan', plan, owner: owner('a'), address }));
        expect(err.message).to.equal(`address ${address} cannot be used on network "lan": it is ${reason}`);
      }
      expect(await ipam.list('lan')).to.deep.equal([]);
    });

    it('moves a NIC to a new fixed address and frees the old one', async () => {
      await ipam.allocate({ network: 'lan', plan, owner: owner('a') });
      await ipam.allocate({ network: 'lan', plan, owner: owner('a'), address: '10.42.0.20' });
      expect((await ipam.list('lan')).map((a) => a.address)).to.deep.equal(['10.42.0.20']);
    });

    it('releases a NIC and then an instance, and releasing again succeeds', async () => {
      await ipam.allocate({ network: 'lan', plan, owner: owner('a', 0) });
      await ipam.allocate({ network: 'lan', plan, owner: owner('a', 1) });
      await ipam.allocate({ network: 'dmz', plan, owner: owner('a', 2) });
      expect(await ipam.release('lan', owner('a', 1))).to.deep.equal(['10.42.0.3']);
      expect(await ipam.release('lan', owner('a', 1))).to.deep.equal([]);
      const kept = await ipam.releaseInstance({ namespace: 'default', instance: 'a', keep: [{ network: 'dmz', nic: 2 }] });
      expect(kept.map((a) => a.address)).to.deep.equal(['10.42.0.2']);
      expect((await ipam.releaseInstance({ namespace: 'default', instance: 'a' })).map((a) => a.network)).to.deep.equal(['dmz']);
      expect(await ipam.listAll()).to.deep.equal([]);
    });

    it('says clearly when a network is full', async () => {
      const small = addressPlan({ subnet: '10.9.0.0/29' });
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await ipam.allocate({ network: 'tiny', plan: small, owner: owner(`i${i}`) }));
      expect(got).to.deep.equal(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
      const err = await rejection(ipam.allocate({ network: 'tiny', plan: small, owner: owner('late') }));
      expect(err.message).to.equal('network "tiny" has no free address left in 10.9.0.0/29');
    });

    it('never gives one address twice under many concurrent allocations and releases', async () => {
      // A /26 holds 61 instance addresses; more allocators than addresses, with some releasing as they go.
      const net = addressPlan({ subnet: '10.50.0.0/26' });
      const usable = new Set([...hostAddresses(net)].map(formatIp));
      const sharedIpam = [ipam, new Ipam({ raw: store.raw }), new Ipam({ raw: store.raw })];
      for (let round = 0; round < opts.rounds; round++) {
        const held = new Map<string, string>();
        const results = await Promise.allSettled(
          Array.from({ length: opts.concurrency }, async (_, i) => {
            const who = owner(`r${round}-i${i}`);
            const address = await (sharedIpam[i % sharedIpam.length] as Ipam).allocate({ network: 'hammer', plan: net, owner: who });
            const prev = held.get(address);
            if (prev) throw new Error(`address ${address} given to both ${prev} and ${who.instance}`);
            held.set(address, who.instance);
            if (i % 5 === 0) {
              held.delete(address);
              await ipam.release('hammer', who);
            }
            return address;
          }),
        );
        const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
        for (const f of failures) expect(f).to.match(/no free address left/);
        const stored = await ipam.list('hammer');
        const addresses = stored.map((a) => a.address);
        expect(new Set(addresses).size).to.equal(addresses.length);
        for (const a of addresses) expect(usable.has(a)).to.equal(true);
        expect([...held.keys()].sort()).to.deep.equal([...addresses].sort());
        for (const a of stored) await ipam.release('hammer', a.owner);
      }
    });
  });
}
