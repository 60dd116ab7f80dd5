/**
 * LabDriver drives a deploy/lab/lab.sh cluster for the failover end-to-end
 * test and benchmark: lab.sh verbs (up, kill, partition, heal, restart, ps,
 * down), an HTTPS API client that fails over between the members' own
 * kubeconfigs, and a ps watcher that samples `lab.sh ps` every 0.5 s and
 * counts samples in which one instance runs on two members at once.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Instance, Member } from '../../lib/kinds/types.js';

/** LabDriverOptions choose the lab. */
export interface LabDriverOptions {
  root: string;
  labDir: string;
  /** labId: LAB_ID for lab.sh (a lab with its own bridge, namespaces and subnet) */
  labId: string;
  /** runtime: LAB_RUNTIME for lab.sh (default: lab.sh's, lxc) */
  runtime?: 'lxc' | 'hollow';
}

/** RunResult is a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Endpoint {
  server: string;
  token: string;
  ca: string;
}

/** Doubles is what the ps watcher saw. */
export interface WatchReport {
  samples: number;
  /** doubleSamples: samples in which some instance ran on two or more members */
  doubleSamples: number;
  /** examples of double samples, for the report */
  examples: string[];
}

/** LabDriver wraps one lab; see the file comment. */
export class LabDriver {
  private preferred = 0;

  constructor(private readonly o: LabDriverOptions) {}

  /** lab runs `lab.sh ARGS` with this lab's LAB_DIR and LAB_ID. */
  lab(args: string[], timeoutMs = 300_000): Promise<RunResult> {
    const env = {
      ...process.env,
      LAB_DIR: this.o.labDir,
      LAB_ID: this.o.labId,
      ...(this.o.runtime ? { LAB_RUNTIME: this.o.runtime } : {}),
    };
    return new Promise((res) => {
      execFile(
        join(this.o.root, 'deploy', 'lab', 'lab.sh'),
        args,
        { cwd: this.o.root, env, timeout: timeoutMs, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        },
      );
    });
  }

  /** labOk runs lab.sh and throws with its output when it fails. */
  async labOk(args: string[], timeoutMs?: number): Promise<string> {
    const r = await this.lab(args, timeoutMs);
    if (r.code !== 0) throw new Error(`lab.sh ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** ps maps namespace/instance to the members whose host runs a container for it. */
  async ps(): Promise<Map<string, string[]>> {
    const out = await this.labOk(['ps'], 30_000);
    const m = new Map<string, string[]>();
    for (const line of out.split('\n')) {
      const [member, inst] = line.trim().split(/\s+/);
      if (!member || !inst) continue;
      m.set(inst, [...(m.get(inst) ?? []), member]);
    }
    return m;
  }

  /** watch samples ps every `everyMs` until `signal` aborts, counting double-running samples into `report` (live). */
  async watch(
    signal: AbortSignal,
    everyMs = 500,
    report: WatchReport = { samples: 0, doubleSamples: 0, examples: [] },
  ): Promise<WatchReport> {
    while (!signal.aborted) {
      const started = Date.now();
      const ps = await this.ps().catch(() => undefined);
      if (ps) {
        report.samples++;
        const doubles = [...ps.entries()].filter(([, ms]) => ms.length > 1);
        if (doubles.length > 0) {
          report.doubleSamples++;
          if (report.examples.length < 5) report.examples.push(doubles.map(([i, ms]) => `${i} on ${ms.join('+')}`).join(', '));
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - started))));
    }
    return report;
  }

  /**
   * endpoints: every member's API, reached with the admin token. Only the
   * member that made the cluster (m1) holds the token; every member accepts
   * it (its hash is in etcd), so it is used with every member's address.
   */
  private endpoints(): Endpoint[] {
    const found: Array<{ server: string; ca: string; token?: string }> = [];
    for (let i = 1; i <= 9; i++) {
      const path = join(this.o.labDir, `m${i}`, 'kubeconfig');
      if (!existsSync(path)) continue;
      const kc = parse(readFileSync(path, 'utf8')) as {
        clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
        users: Array<{ user: { token?: string } }>;
      };
      const c = kc.clusters[0]?.cluster;
      const token = kc.users[0]?.user.token;
      if (c)
        found.push({
          server: c.server,
          ca: Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8'),
          ...(token ? { token } : {}),
        });
    }
    const token = found.find((f) => f.token)?.token;
    return token ? found.map((f) => ({ server: f.server, ca: f.ca, token })) : [];
  }

  /** api sends one request to a member that answers (the last one that did first). */
  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const eps = this.endpoints();
    if (eps.length === 0) throw new Error(`no member kubeconfig under ${this.o.labDir}`);
    let last: unknown;
    for (let k = 0; k < eps.length; k++) {
      const idx = (this.preferred + k) % eps.length;
      const ep = eps[idx]!;
      try {
        const res = await once<T>(ep, method, path, body);
        this.preferred = idx;
        return res;
      } catch (err) {
        last = err;
        if (err instanceof ApiStatusError && err.status < 500) throw err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  /** instances lists the Instances in `namespace`. */
  async instances(namespace = 'default'): Promise<Instance[]> {
    return (await this.api<{ items: Instance[] }>('GET', `/apis/cloudlet.dev/v1alpha1/namespaces/${namespace}/instances`)).items;
  }

  /** members lists the Members. */
  async members(): Promise<Member[]> {
    return (await this.api<{ items: Member[] }>('GET', '/apis/cloudlet.dev/v1alpha1/members')).items;
  }

  /** createInstance creates a busybox instance with recovery failover (small limits). */
  async createInstance(name: string, extra: Record<string, unknown> = {}, namespace = 'default'): Promise<void> {
    await this.api('POST', `/apis/cloudlet.dev/v1alpha1/namespaces/${namespace}/instances`, {
      apiVersion: 'cloudlet.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name, namespace },
      spec: { image: 'busybox', cpu: 0.1, memory: '64Mi', recovery: 'failover', ...extra },
    });
  }

  /** leader names the member whose daemon log says it leads the cluster controllers now, if any. */
  leader(): string | undefined {
    let best: { member: string; at: string } | undefined;
    for (let i = 1; i <= 9; i++) {
      const path = join(this.o.labDir, `m${i}.log`);
      if (!existsSync(path)) continue;
      const lines = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.includes('leading: starting cluster controllers') || l.includes('no longer leading'));
      const lastLine = lines[lines.length - 1];
      if (!lastLine || lastLine.includes('no longer leading')) continue;
      const at = /"timestamp":"([^"]+)"/.exec(lastLine)?.[1] ?? '';
      if (!best || at > best.at) best = { member: `m${i}`, at };
    }
    return best?.member;
  }

  /** until polls `check` every `everyMs` until it returns a value, or throws `what` after `timeoutMs`. */
  async until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 200): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await check().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

/** ApiStatusError is a non-2xx answer. */
export class ApiStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function once<T>(ep: Endpoint, method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(path, ep.server);
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: ep.ca,
        timeout: 3000,
        headers: {
          authorization: `Bearer ${ep.token}`,
          accept: 'application/json',
          ...(data ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(JSON.parse(text) as T);
          else reject(new ApiStatusError(status, `${method} ${path}: ${status} ${text.slice(0, 300)}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.host}${path}: no answer within 3 s`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}
