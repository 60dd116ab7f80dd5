/**
 * CliContext carries what every command shares: the global flags, the
 * output streams, and lazily built clients (kubeconfig, API client,
 * discovery). Commands receive it explicitly; nothing here is global.
 */
import { join } from 'node:path';
import { ValidationError } from '../lib/errors.js';
import type { ApiClient } from './client/api-client.js';
import type { ResourceCatalog } from './client/resources.js';

/** GlobalOptions are the flags every command accepts. */
export interface GlobalOptions {
  kubeconfig?: string;
  namespace?: string;
  requestTimeout?: string;
}

/** CliIO is where a command writes and reads; tests pass buffers. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
  env: Record<string, string | undefined>;
}

/** parseDuration reads `60s`, `2m`, `1h`, `500ms`, `1m30s` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, flag = 'duration'): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    pos = re.lastIndex;
  }
  if (t === '' || pos !== t.length)
    throw new ValidationError(`invalid ${flag} "${text}": use a number of seconds or units like 30s, 2m, 1h`);
  return Math.round(total);
}

/** CliContext gives commands the global settings and shared clients. */
export class CliContext {
  private clientPromise: Promise<ApiClient> | undefined;
  private catalogPromise: Promise<ResourceCatalog> | undefined;

  constructor(
    readonly globals: GlobalOptions,
    readonly io: CliIO,
  ) {}

  /** out writes one line to stdout. */
  out(line: string): void {
    this.io.stdout(`${line}\n`);
  }

  /** err writes one line to stderr. */
  err(line: string): void {
    this.io.stderr(`${line}\n`);
  }

  /** kubeconfigPath: --kubeconfig, else the first entry of $KUBECONFIG, else <DEFAULT_DATA_DIR>/kubeconfig. */
  async kubeconfigPath(): Promise<string> {
    if (this.globals.kubeconfig) return this.globals.kubeconfig;
    const env = this.io.env.KUBECONFIG?.split(':').find((p) => p !== '');
    if (env) return env;
    const { DEFAULT_DATA_DIR } = await import('../lib/defaults.js');
    return join(DEFAULT_DATA_DIR, 'kubeconfig');
  }

  /** client loads the kubeconfig once and returns the API client. */
  client(): Promise<ApiClient> {
    this.clientPromise ??= (async () => {
      const { ApiClient } = await import('./client/api-client.js');
      const timeout = this.globals.requestTimeout ? parseDuration(this.globals.requestTimeout, '--request-timeout') : 0;
      return ApiClient.load({ kubeconfigPath: await this.kubeconfigPath(), requestTimeoutMs: timeout });
    })();
    return this.clientPromise;
  }

  /** catalog discovers the server's resources once (falling back to the local CRDs). */
  catalog(): Promise<ResourceCatalog> {
    this.catalogPromise ??= (async () => {
      const { ResourceCatalog } = await import('./client/resources.js');
      return ResourceCatalog.discover(await this.client());
    })();
    return this.catalogPromise;
  }

  /** namespace: -n, else the kubeconfig context's namespace, else `default`. */
  async namespace(): Promise<string> {
    if (this.globals.namespace) return this.globals.namespace;
    return (await this.client()).contextNamespace ?? 'default';
  }
}
