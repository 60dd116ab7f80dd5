/**
 * DnsServer keeps one dnsmasq per network (DNS only, bound to the gateway
 * address) running with a current hosts file, found again after a daemon
 * restart through its pid file.
 */
import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostRunner } from '../../../lib/host/exec.js';
import { ensureDir, readFileIfExists, writeFileAtomic } from '../../../lib/host/fs.js';
import { TimeoutError } from '../../../lib/errors.js';
import { dnsFiles, dnsmasqArgv, hostsFile } from './bridge-plan.js';
import type { NetworkPlan } from './types.js';

/** DnsServer manages the per-network dnsmasq; see the file comment. */
export class DnsServer {
  constructor(private readonly host: HostRunner) {}

  /** pid returns the pid of the network's running dnsmasq, or undefined when none runs. */
  async pid(stateDir: string): Promise<number | undefined> {
    const f = dnsFiles(stateDir);
    const text = await readFileIfExists(f.pid);
    const pid = text ? Number(text.trim()) : NaN;
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      // The pid file may outlive its process and the pid be reused: check it is our dnsmasq.
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.split('\0').includes(`--pid-file=${f.pid}`) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** ensure writes the hosts file and starts dnsmasq, or makes a running one re-read a changed file. */
  async ensure(plan: NetworkPlan): Promise<void> {
    const f = dnsFiles(plan.names.stateDir);
    await ensureDir(plan.names.stateDir, 0o755);
    const text = hostsFile(plan.hosts);
    const changed = (await readFileIfExists(f.hosts)) !== text;
    if (changed) await writeFileAtomic(f.hosts, text, { mode: 0o644 });
    const pid = await this.pid(plan.names.stateDir);
    if (pid === undefined) {
      await this.host.run(dnsmasqArgv(plan), { timeoutMs: 10_000 });
      return;
    }
    // dnsmasq re-reads --addn-hosts files on SIGHUP.
    if (changed) process.kill(pid, 'SIGHUP');
  }

  /** stop ends the network's dnsmasq (if any) and removes the state dir. */
  async stop(stateDir: string): Promise<void> {
    const pid = await this.pid(stateDir);
    if (pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; (await this.pid(stateDir)) !== undefined; i++) {
        if (i === 100) throw new TimeoutError(`dnsmasq ${pid} did not stop within 5 s of SIGTERM`);
        await sleep(50);
      }
    }
    await rm(stateDir, { recursive: true, force: true });
  }
}
