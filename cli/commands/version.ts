/**
 * `cloudlet version`: the client's version from package.json and, when the
 * server can be reached, the server's `/version`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliContext } from '../context.js';

/** clientVersion reads the version of the Cloudlet package this CLI belongs to (from src or dist). */
export function clientVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'cloudlet' && parsed.version) return parsed.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** runVersion prints `Client Version: vX` and `Server Version: vY` (or why the server could not say). */
export async function runVersion(ctx: CliContext, opts: { clientOnly?: boolean }): Promise<number> {
  ctx.out(`Client Version: v${clientVersion()}`);
  if (opts.clientOnly) return 0;
  try {
    const client = await ctx.client();
    const v = await client.request<{ gitVersion?: string; major?: string; minor?: string; platform?: string }>({ path: '/version' });
    const cloudlet = (v as { cloudletVersion?: string }).cloudletVersion;
    ctx.out(`Server Version: ${v.gitVersion ?? `v${v.major ?? '?'}.${v.minor ?? '?'}`}${cloudlet ? ` (cloudlet ${cloudlet})` : ''}`);
  } catch (err) {
    ctx.err(`Server Version: unavailable (${err instanceof Error ? err.message : String(err)})`);
  }
  return 0;
}
