/**
 * Membership commands: `init`, `join`, `token create|list|revoke`, `leave` and
 * `member remove`. init and join prepare a data dir (then `cloudlet daemon`
 * runs it); the others talk to the cluster's API with the admin kubeconfig.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDuration, type CliContext } from '../context.js';
import { retryTransient } from '../../lib/controller/backoff.js';
import { ValidationError, errorMessage } from '../../lib/errors.js';
import type { TokenCreateFlags } from './access.js';
import { serverStatusOf } from '../client/status.js';

interface MemberFlags {
  dataDir?: string;
  listen: string;
  member?: string;
  address?: string;
}

async function dataDirOf(flags: { dataDir?: string }): Promise<string> {
  const { DEFAULT_DATA_DIR } = await import('../../daemon/index.js');
  return flags.dataDir ?? DEFAULT_DATA_DIR;
}

function memberFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (default: $CLOUDLET_DATA_DIR or /var/lib/cloudlet)')
    .option('--listen <host:port>', 'API listen address', '127.0.0.1:6443')
    .option('--member <name>', 'member name (default: from the host name)')
    .option('--address <ip>', 'address other members reach this one at (default: the listen host)');
}

/** registerMembershipCommands adds the membership commands to `program`. */
export function registerMembershipCommands(program: Command, ctxOf: (cmd: Command) => CliContext, setExit: (code: number) => void): void {
  memberFlags(
    program.command('init').description('create a one-member cluster in a new data dir (then run it with `cloudlet daemon`)'),
  ).action(async (flags: MemberFlags, cmd: Command) => {
    const { runInit } = await import('../../daemon/init.js');
    const dataDir = await dataDirOf(flags);
    const { kubeconfig, identity } = await runInit({ dataDir, listen: flags.listen, ...opt(flags) });
    ctxOf(cmd).out(`initialised member ${identity.memberName} of a new cluster in ${dataDir}; kubeconfig: ${kubeconfig}`);
    setExit(0);
  });

  memberFlags(
    program.command('join').description('join the cluster named by TOKEN with a new data dir (then run it with `cloudlet daemon`)'),
  )
    .argument('<token>', 'join token printed by `cloudlet token create`')
    .option('--timeout <duration>', 'how long to wait for the cluster to accept the join (e.g. 2m)', '2m')
    .action(async (token: string, flags: MemberFlags & { timeout: string }, cmd: Command) => {
      const { runJoin } = await import('../../daemon/join-client.js');
      const dataDir = await dataDirOf(flags);
      const ctx = ctxOf(cmd);
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const { kubeconfig, identity } = await runJoin({
        token,
        dataDir,
        listen: flags.listen,
        timeoutMs,
        onProgress: (line) => ctx.err(line),
        ...opt(flags),
      });
      const role = identity.etcd?.mode === 'member' ? 'an etcd learner (promoted to voter when it starts)' : 'an etcd client';
      ctx.out(`joined as member ${identity.memberName}, ${role}; data dir ${dataDir}; kubeconfig: ${kubeconfig}`);
      setExit(0);
    });

  const token = program.command('token').description('join tokens, and API tokens for automation');
  token
    .command('create')
    .description('print a one-time join token, or with --user an API bearer token (shown once)')
    .option('--ttl <duration>', 'how long the token stays valid (e.g. 30m, 1h, 2d; join tokens default to 1h, API tokens to never)')
    .option('--user <name>', 'make an API token for this user instead of a join token')
    .option('--group <group>', 'API token: a group of the user (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--namespace <ns>', 'API token: bind --role in this namespace only')
    .option('--role <clusterrole>', 'API token: ClusterRole to bind to the user (edit, view, admin, …)')
    .option('--description <text>', 'API token: what it is for')
    .action(async (flags: TokenCreateFlags, cmd: Command) => {
      const { parseTtl } = await import('../../lib/join-token.js');
      const ctx = ctxOf(cmd);
      if (flags.user !== undefined) {
        const { createApiToken } = await import('./access.js');
        await createApiToken(ctx, { ...flags, user: flags.user, ...(flags.ttl ? { ttl: `${parseTtl(flags.ttl)}s` } : {}) });
        setExit(0);
        return;
      }
      if (flags.group.length > 0 || flags.namespace || flags.role || flags.description)
        throw new ValidationError('--group, --namespace, --role and --description are for API tokens: add --user NAME');
      const ttlSeconds = parseTtl(flags.ttl ?? '1h');
      const res = await (
        await ctx.client()
      ).request<{ token: string }>({ method: 'POST', path: '/cloudlet/join-tokens', body: { ttlSeconds } });
      ctx.out(res.token);
      setExit(0);
    });
  token
    .command('list')
    .description('list live join tokens and API tokens (ids and expiry, never secrets)')
    .action(async (_flags: unknown, cmd: Command) => {
      const { listTokens } = await import('./access.js');
      await listTokens(ctxOf(cmd));
      setExit(0);
    });
  token
    .command('revoke')
    .description('revoke a join token or an API token by its id')
    .argument('<id>', 'token id from `cloudlet token list`')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { revokeToken } = await import('./access.js');
      await revokeToken(ctxOf(cmd), id);
      setExit(0);
    });

  program
    .command('member')
    .description('cluster members')
    .command('remove')
    .description(
      'remove a member: its etcd membership, heartbeat and Member object (needs an etcd quorum without it; then stop its daemon)',
    )
    .argument('<name>', 'member name')
    .option('--timeout <duration>', 'how long to wait while etcd cannot take the removal yet', '2m')
    .action(async (name: string, flags: { timeout: string }, cmd: Command) => {
      setExit(await removeMember(ctxOf(cmd), name, parseDuration(flags.timeout, '--timeout')));
    });

  program
    .command('leave')
    .description("remove this machine's member from its cluster (run while the cluster has quorum without it; then stop its daemon)")
    .option('--data-dir <dir>', 'data directory of this member')
    .option('--timeout <duration>', 'how long to wait while etcd cannot take the removal yet', '2m')
    .action(async (flags: { dataDir?: string; timeout: string }, cmd: Command) => {
      const dataDir = await dataDirOf(flags);
      const { memberName } = JSON.parse(await readFile(join(dataDir, 'cluster.json'), 'utf8')) as { memberName: string };
      setExit(await removeMember(ctxOf(cmd), memberName, parseDuration(flags.timeout, '--timeout')));
    });
}

function opt(flags: MemberFlags): { memberName?: string; address?: string } {
  return { ...(flags.member ? { memberName: flags.member } : {}), ...(flags.address ? { address: flags.address } : {}) };
}

/**
 * removeMember asks the cluster to remove `name`. The server answers 503
 * while etcd cannot take the removal yet (another membership change in
 * flight, voters not connected long enough after a change): that is retried
 * with backoff for up to `timeoutMs`, saying what it waits for. A refused
 * connection is not retried (a wrong server is not a busy one).
 */
async function removeMember(ctx: CliContext, name: string, timeoutMs: number): Promise<number> {
  const client = await ctx.client();
  let last = '';
  const res = await retryTransient(
    () =>
      client.request<{ removed: string; etcdMemberRemoved: boolean }>({
        method: 'POST',
        path: '/cloudlet/members/remove',
        body: { member: name },
      }),
    {
      what: `remove member ${name}`,
      timeoutMs,
      transient: (err) => serverStatusOf(err)?.code === 503,
      backoff: { initialMs: 500, maxMs: 5000 },
      hint: 'check that the other members are Ready (`cloudlet get members`): etcd removes a voter only while the rest keep a quorum',
      onRetry: ({ error }) => {
        const line = `waiting for etcd to accept the removal… (${errorMessage(error)})`;
        if (line !== last) ctx.err(line);
        last = line;
      },
    },
  );
  ctx.out(`member ${res.removed} removed${res.etcdMemberRemoved ? ' (and its etcd member)' : ''}`);
  return 0;
}
