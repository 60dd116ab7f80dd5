/**
 * What a user of a running daemon can see besides kubectl and the CLI: HTTPS
 * requests made with the daemon's own kubeconfig (its cluster CA and bearer
 * token), the Prometheus text at /metrics, and finalizer edits made the way
 * an operator makes them (`kubectl patch --type=merge`, pinned to the
 * resourceVersion that was read, retried on a conflict as client-go's
 * RetryOnConflict does).
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { parse as parseYaml } from 'yaml';
import type { KubectlRunner } from '../../helpers/kubectl.js';
import type { TestDaemon } from './daemon.js';
import { readText } from '../../../lib/http-text.js';

interface Kubeconfig {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ user: { token: string } }>;
}

/** DaemonApi makes authenticated HTTPS requests to one daemon. */
export interface DaemonApi {
  /** get sends GET `path` with the kubeconfig's token, trusting only the kubeconfig's CA. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** openWatches reads `cloudlet_api_watches{resource=…}` (open API watch streams) from /metrics; 0 when the series is absent. */
  openWatches(resource: string): Promise<number>;
}

/** daemonApi reads `d`'s kubeconfig once and gives back its request helpers. */
export async function daemonApi(d: TestDaemon): Promise<DaemonApi> {
  const kc = parseYaml(await readFile(d.kubeconfig, 'utf8')) as Kubeconfig;
  const cluster = kc.clusters[0]?.cluster;
  const token = kc.users[0]?.user.token;
  if (!cluster || !token) throw new Error(`${d.kubeconfig} has no cluster or no token`);
  const server = new URL(cluster.server);
  const ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: server.hostname, port: server.port, path, ca, headers: { authorization: `Bearer ${token}` } }, (res) =>
        readText(res).then(({ status, text }) => resolve({ status, body: text }), reject),
      );
      req.on('error', reject);
      req.end();
    });
  return {
    get,
    async openWatches(resource) {
      const r = await get('/metrics');
      if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}: ${r.body.slice(0, 200)}`);
      for (const m of r.body.matchAll(/^cloudlet_api_watches\{([^}]*)\} (\S+)$/gm)) {
        if ((m[1] ?? '').split(',').includes(`resource="${resource}"`)) return Number(m[2]);
      }
      return 0;
    },
  };
}

/**
 * patchFinalizers sets the finalizers of `kind/name` to `change(current)` with
 * `kubectl patch --type=merge`. A merge patch replaces a list whole, so the
 * patch carries the resourceVersion it was computed from: a controller that
 * adds or removes its own finalizer in between makes it fail with a Conflict,
 * and it is recomputed from a fresh read (at most 10 times).
 */
export async function patchFinalizers(
  kubectl: KubectlRunner,
  target: { kind: string; name: string; namespace?: string },
  change: (current: string[]) => string[],
): Promise<void> {
  const ns = target.namespace !== undefined ? ['-n', target.namespace] : [];
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const got = await kubectl.run(['get', target.kind, target.name, ...ns, '-o', 'json']);
    if (got.code !== 0) throw new Error(`kubectl get ${target.kind} ${target.name} failed: ${got.stderr}`);
    const meta = (JSON.parse(got.stdout) as { metadata: { resourceVersion: string; finalizers?: string[] } }).metadata;
    const patch = { metadata: { resourceVersion: meta.resourceVersion, finalizers: change(meta.finalizers ?? []) } };
    const r = await kubectl.run(['patch', target.kind, target.name, ...ns, '--type=merge', '-p', JSON.stringify(patch)]);
    if (r.code === 0) return;
    last = r.stderr;
    if (!/Conflict|has been modified/.test(r.stderr))
      throw new Error(`kubectl patch of the finalizers of ${target.kind}/${target.name} failed: ${r.stderr}`);
  }
  throw new Error(`kubectl patch of the finalizers of ${target.kind}/${target.name} kept conflicting: ${last}`);
}
