import { expect } from 'chai';
import { RbdLocks } from '../../../../../controllers/storage/ceph/rbd-locks.js';
import { BLOCKLIST_SECONDS, parseCephConfig, parseWatchers } from '../../../../../controllers/storage/ceph/rbd.js';
import type { BrokenLock } from '../../../../../controllers/storage/drivers/types.js';
import { HostCommandError } from '../../../../../lib/errors.js';
import type { HostRunner, RunOptions, RunResult } from '../../../../../lib/host/exec.js';

describe('parseWatchers', () => {
  it('reads the addresses of the clients watching an image', () => {
    expect(
      parseWatchers(
        '{"watchers":[{"address":"127.0.0.1:0/230665248","client":4150,"cookie":139879300293440},{"address":"10.0.0.2:0/7","client":9,"cookie":1}]}',
      ),
    ).to.deep.equal(['127.0.0.1:0/230665248', '10.0.0.2:0/7']);
  });
  it('reads no watchers from an empty list, empty output or odd entries', () => {
    expect(parseWatchers('{"watchers":[]}')).to.deep.equal([]);
    expect(parseWatchers('')).to.deep.equal([]);
    expect(parseWatchers('{"watchers":[{"client":1}]}')).to.deep.equal([]);
  });
});

/** FakeRbd answers the rbd and ceph calls RbdLocks makes from an in-memory image lock and watcher list. */
class FakeRbd implements HostRunner {
  calls: string[] = [];
  lock: { id: string; locker: string; address: string } | undefined;
  watchers: string[] = [];
  /** stealAfterStatus makes another member take the lock right after `rbd status` (a race) */
  stealAfterStatus = false;
  async run(argv: string[], opts?: RunOptions): Promise<RunResult> {
    const tool = argv[0] ?? '';
    const i = argv.indexOf(tool === 'rbd' ? '--pool' : '--connect-timeout');
    const raw = argv.slice(i + 2);
    this.calls.push(`${tool} ${raw.join(' ')}`);
    const args = raw.filter((a) => !a.startsWith('--'));
    const ok = (stdout = '', exitCode = 0): RunResult => {
      if (exitCode !== 0 && !(opts?.okExitCodes ?? [0]).includes(exitCode))
        throw new HostCommandError({ command: argv, exitCode, signal: null, stderr: 'failed' });
      return { stdout, stderr: '', exitCode };
    };
    const [a, b] = args;
    if (a === 'lock' && b === 'ls') return ok(JSON.stringify(this.lock ? [this.lock] : []));
    if (a === 'status') {
      const out = ok(JSON.stringify({ watchers: this.watchers.map((address) => ({ address, client: 1, cookie: 1 })) }));
      if (this.stealAfterStatus) this.lock = { id: 'cloudlet:c', locker: 'client.77', address: '10.0.0.3:0/5' };
      return out;
    }
    if (a === 'lock' && b === 'rm') {
      if (this.lock?.id !== args[3]) return ok('', 2);
      this.lock = undefined;
      return ok();
    }
    if (a === 'lock' && b === 'add') {
      if (this.lock) return ok('', 16);
      this.lock = { id: args[3] ?? '', locker: 'client.1', address: '10.0.0.1:0/1' };
      return ok();
    }
    if (a === 'osd' && b === 'blocklist') return ok();
    throw new Error(`unexpected call ${argv.join(' ')}`);
  }
  async spawnAttached(): Promise<number> {
    throw new Error('not used');
  }
}

describe('RbdLocks (fake rbd)', () => {
  const cfg = parseCephConfig({ conf: '/c/ceph.conf', keyring: '/c/k', user: 'cloudlet' });
  let rbd: FakeRbd;
  let locks: RbdLocks;
  beforeEach(() => {
    rbd = new FakeRbd();
    locks = new RbdLocks(rbd, cfg, 'a');
  });

  it('takes a free lock in its member name and keeps its own lock on a second take', async () => {
    await locks.take('vol', {});
    await locks.take('vol', {});
    expect(rbd.lock?.id).to.equal('cloudlet:a');
    expect(rbd.calls.filter((c) => c.startsWith('rbd lock add'))).to.have.length(1);
  });

  it('refuses with Conflict, naming the holder, when the holder may not be broken', async () => {
    rbd.lock = { id: 'cloudlet:b', locker: 'client.9', address: '10.0.0.2:0/9' };
    const asked: string[] = [];
    const err = await locks.take('vol', { mayBreakLockOf: (m) => (asked.push(m), false) }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).to.equal('Conflict');
    expect(err?.message).to.match(/already mounted read-write on member b .*a second read-write mount is refused/);
    expect(asked).to.deep.equal(['b']);
    expect(rbd.calls.some((c) => c.includes('blocklist') || c.startsWith('rbd lock rm'))).to.equal(false);
  });

  it('blocklists the watchers of a lost holder before it removes the lock, then takes it', async () => {
    rbd.lock = { id: 'cloudlet:b', locker: 'client.9', address: '10.0.0.2:0/9' };
    rbd.watchers = ['10.0.0.2:0/42'];
    const broken: BrokenLock[] = [];
    await locks.take('vol', { mayBreakLockOf: (m) => m === 'b', onLockBroken: (x) => broken.push(x) });
    const blockAt = rbd.calls.indexOf(`ceph osd blocklist add 10.0.0.2:0/42 ${BLOCKLIST_SECONDS}`);
    const rmAt = rbd.calls.indexOf('rbd lock rm vol cloudlet:b client.9');
    expect(blockAt).to.be.greaterThan(-1);
    expect(rmAt).to.be.greaterThan(blockAt);
    expect(rbd.lock?.id).to.equal('cloudlet:a');
    expect(broken).to.deep.equal([{ member: 'b', lock: 'cloudlet:b', blocklisted: ['10.0.0.2:0/42'] }]);
  });

  it('breaks a lock named in breakLocksOf', async () => {
    rbd.lock = { id: 'cloudlet:b', locker: 'client.9', address: '10.0.0.2:0/9' };
    await locks.take('vol', { breakLocksOf: ['b'] });
    expect(rbd.lock?.id).to.equal('cloudlet:a');
  });

  it('blocklists nothing when the lock changed hands after it listed the watchers, and refuses the new holder', async () => {
    rbd.lock = { id: 'cloudlet:b', locker: 'client.9', address: '10.0.0.2:0/9' };
    rbd.watchers = ['10.0.0.3:0/5'];
    rbd.stealAfterStatus = true;
    const err = await locks.take('vol', { mayBreakLockOf: (m) => m === 'b' }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).to.equal('Conflict');
    expect(err?.message).to.match(/member c/);
    expect(rbd.calls.some((c) => c.includes('blocklist'))).to.equal(false);
    expect(rbd.lock?.id).to.equal('cloudlet:c');
  });

  it('never breaks a lock Cloudlet did not take', async () => {
    rbd.lock = { id: 'someone-else', locker: 'client.9', address: '10.0.0.2:0/9' };
    const err = await locks.take('vol', { mayBreakLockOf: () => true }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).to.equal('Conflict');
    expect(rbd.lock?.id).to.equal('someone-else');
  });

  it('releases only its own lock', async () => {
    rbd.lock = { id: 'cloudlet:b', locker: 'client.9', address: '10.0.0.2:0/9' };
    await locks.release('vol');
    expect(rbd.lock?.id).to.equal('cloudlet:b');
    rbd.lock = { id: 'cloudlet:a', locker: 'client.1', address: '10.0.0.1:0/1' };
    await locks.release('vol');
    expect(rbd.lock).to.equal(undefined);
    // Its own finished `rbd lock add` is nothing to fence: librbd is told not to blocklist it.
    expect(rbd.calls).to.include('rbd --rbd_blocklist_on_break_lock=false lock rm vol cloudlet:a client.1');
  });
});
