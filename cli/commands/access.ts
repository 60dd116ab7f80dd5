/**
 * Access commands: `user create|list|revoke` and the API-token side of
 * `token create|list|revoke` (a plain `token create` still makes a join
 * token). `user create` makes the private key here, sends only a CSR, and
 * writes a kubeconfig that kubectl and cloudlet use as they are.
 */
import type { Command } from 'commander';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseDuration, type CliContext } from '../context.js';
import { ValidationError } from '../../lib/errors.js';
import { run } from '../../lib/host/exec.js';
import { newKeyArgs } from '../../lib/pki/pki.js';
import { AlignedWriter } from '../output/table.js';

interface UserCreateFlags {
  namespace?: string;
  role?: string;
  group: string[];
  out?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** makeKeyAndCsr creates an ECDSA P-256 key and a CSR for `user` with openssl; returns both PEMs. */
async function makeKeyAndCsr(user: string): Promise<{ key: string; csr: string }> {
  const work = await mkdtemp(join(tmpdir(), 'cloudlet-user-'));
  try {
    const keyPath = join(work, 'user.key');
    const csrPath = join(work, 'user.csr');
    await run(['openssl', 'req', '-new', ...newKeyArgs(keyPath, csrPath), '-subj', `/CN=${user}`], { timeoutMs: 30_000 });
    return { key: await readFile(keyPath, 'utf8'), csr: await readFile(csrPath, 'utf8') };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** userKubeconfig renders a kubeconfig for a client-certificate user. */
export function userKubeconfig(o: {
  server: string;
  caPem: string | undefined;
  user: string;
  certPem: string;
  keyPem: string;
  namespace: string;
}): string {
  const cluster: Record<string, unknown> = { server: o.server };
  if (o.caPem) cluster['certificate-authority-data'] = Buffer.from(o.caPem).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cloudlet', cluster }],
    users: [
      {
        name: o.user,
        user: {
          'client-certificate-data': Buffer.from(o.certPem).toString('base64'),
          'client-key-data': Buffer.from(o.keyPem).toString('base64'),
        },
      },
    ],
    contexts: [{ name: `${o.user}@cloudlet`, context: { cluster: 'cloudlet', user: o.user, namespace: o.namespace } }],
    'current-context': `${o.user}@cloudlet`,
    preferences: {},
  });
}

function expiry(v: unknown): string {
  return typeof v === 'string' ? v : 'never';
}

/** registerAccessCommands adds `user` and the API-token parts of `token` to `program`. */
export function registerAccessCommands(program: Command, ctxOf: (cmd: Command) => CliContext, setExit: (code: number) => void): void {
  const user = program.command('user').description('users: client-certificate kubeconfigs with a role');
  user
    .command('create')
    .description('create a user: a key made here, a certificate from the cluster CA, a role binding; writes its kubeconfig')
    .argument('<name>', 'user name (the certificate CN)')
    .option('--namespace <ns>', 'bind the role in this namespace only (made if missing)')
    .option('--role <clusterrole>', 'ClusterRole to bind: admin, edit, view, cluster-admin or your own')
    .option('--group <group>', 'a group for the certificate (repeatable)', collect, [])
    .option('--out <file>', 'where to write the kubeconfig (default: ./<name>.kubeconfig)')
    .action(async (name: string, flags: UserCreateFlags, cmd: Command) => {
      const ctx = ctxOf(cmd);
      // -n/--namespace is also the global flag, which commander hands to the program: take it from there too
      const namespace = flags.namespace ?? ctx.globals.namespace;
      if (namespace !== undefined) flags.namespace = namespace;
      const client = await ctx.client();
      const { key, csr } = await makeKeyAndCsr(name);
      const res = await client.request<{ certificate: string; bindings: string[] }>({
        method: 'POST',
        path: '/cloudlet/users',
        body: {
          name,
          csr,
          groups: flags.group,
          ...(flags.role ? { role: flags.role } : {}),
          ...(flags.namespace ? { namespace: flags.namespace } : {}),
        },
      });
      const out = flags.out ?? `${name}.kubeconfig`;
      const text = userKubeconfig({
        server: client.server,
        caPem: await client.clusterCaPem(),
        user: name,
        certPem: res.certificate,
        keyPem: key,
        namespace: flags.namespace ?? 'default',
      });
      await writeFile(out, text, { mode: 0o600 });
      const where = flags.namespace ? `in namespace ${flags.namespace}` : 'cluster-wide';
      const bound =
        res.bindings.length > 0
          ? `${flags.role} ${where} (${res.bindings.join(', ')})`
          : 'no role bound yet (kubectl create rolebinding …)';
      ctx.out(`user ${name} created; ${bound}; kubeconfig: ${out}`);
      setExit(0);
    });
  user
    .command('list')
    .description('list users')
    .action(async (_flags: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await (
        await ctx.client()
      ).request<{ items: Array<{ name: string; groups: string[]; bindings: string[]; createdAt: string }> }>({ path: '/cloudlet/users' });
      const rows = [['NAME', 'GROUPS', 'BINDINGS', 'CREATED']];
      for (const u of res.items) rows.push([u.name, u.groups.join(',') || '<none>', u.bindings.join(',') || '<none>', u.createdAt]);
      for (const line of new AlignedWriter().lines(rows)) ctx.out(line);
      setExit(0);
    });
  user
    .command('revoke')
    .description('revoke a user: its certificates are refused by every member within seconds, its bindings removed')
    .argument('<name>', 'user name')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await (
        await ctx.client()
      ).request<{ revokedCertificates: string[]; removedBindings: string[] }>({
        method: 'POST',
        path: '/cloudlet/users/revoke',
        body: { name },
      });
      ctx.out(
        `user ${name} revoked: ${res.revokedCertificates.length} certificate(s) denied, ${res.removedBindings.length} binding(s) removed`,
      );
      setExit(0);
    });
}

/** TokenCreateFlags: a join token without --user; an API token with it. */
export interface TokenCreateFlags {
  ttl?: string;
  user?: string;
  group: string[];
  namespace?: string;
  role?: string;
  description?: string;
}

/** createApiToken is `token create --user …`: prints the token (shown once). */
export async function createApiToken(ctx: CliContext, flags: TokenCreateFlags & { user: string }): Promise<void> {
  const body: Record<string, unknown> = { user: flags.user, groups: flags.group };
  if (flags.ttl) body.ttlSeconds = Math.max(1, Math.round(parseDuration(flags.ttl, '--ttl') / 1000));
  if (flags.role) body.role = flags.role;
  const namespace = flags.namespace ?? ctx.globals.namespace;
  if (namespace) body.namespace = namespace;
  if (flags.description) body.description = flags.description;
  const res = await (await ctx.client()).request<{ token: string }>({ method: 'POST', path: '/cloudlet/api-tokens', body });
  ctx.out(res.token);
}

/** listTokens is `token list`: join and API tokens, never a secret. */
export async function listTokens(ctx: CliContext): Promise<void> {
  const client = await ctx.client();
  const joins = await client.request<{ items: Array<{ id: string; expiresAt: string }> }>({ path: '/cloudlet/join-tokens' });
  const apis = await client.request<{ items: Array<{ id: string; user: string; expiresAt: string | null; description: string }> }>({
    path: '/cloudlet/api-tokens',
  });
  const rows = [['ID', 'TYPE', 'USER', 'EXPIRES', 'DESCRIPTION']];
  for (const t of joins.items) rows.push([t.id, 'join', '-', t.expiresAt, '']);
  for (const t of apis.items) rows.push([t.id, 'api', t.user, expiry(t.expiresAt), t.description]);
  for (const line of new AlignedWriter().lines(rows)) ctx.out(line);
}

/** revokeToken is `token revoke ID`: tries the join tokens, then the API tokens. */
export async function revokeToken(ctx: CliContext, id: string): Promise<void> {
  if (!/^[0-9a-f]{16}$/.test(id)) throw new ValidationError(`"${id}" is not a token id: use the ID column of \`cloudlet token list\``);
  const client = await ctx.client();
  const joins = await client.request<{ items: Array<{ id: string }> }>({ path: '/cloudlet/join-tokens' });
  const path = joins.items.some((t) => t.id === id) ? '/cloudlet/join-tokens/revoke' : '/cloudlet/api-tokens/revoke';
  await client.request({ method: 'POST', path, body: { id } });
  ctx.out(`token ${id} revoked`);
}
