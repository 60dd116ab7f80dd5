/**
 * `cloudlet delete (-f FILE | KIND NAME... | KIND/NAME...) [--wait] [--timeout 60s]`.
 * Each object is deleted (propagationPolicy Background) and reported as
 * `instance.cloudlet.dev "web" deleted`; then, with --wait (the default),
 * the command waits until every one is gone — objects with finalizers stay
 * until their controllers remove them.
 */
import { ValidationError } from '../../lib/errors.js';
import { waitForObject, type ObjectTarget } from '../client/object-watch.js';
import { resourcePath, resourceRef } from '../client/resources.js';
import { formatCliError } from '../client/status.js';
import { parseDuration, type CliContext } from '../context.js';
import { loadManifests } from '../manifests/load.js';
import { resolveDocs } from './apply.js';
import { parseKindArgs } from './get.js';

/** DeleteOptions are delete's flags. */
export interface DeleteOptions {
  filename?: string[];
  wait?: boolean;
  timeout?: string;
  ignoreNotFound?: boolean;
}

async function targets(ctx: CliContext, args: string[], opts: DeleteOptions): Promise<ObjectTarget[]> {
  const catalog = await ctx.catalog();
  if (opts.filename && opts.filename.length > 0) {
    if (args.length > 0) throw new ValidationError('give either -f FILE or KIND NAME, not both');
    const docs = resolveDocs(loadManifests(opts.filename, ctx.io.readStdin), {
      catalog,
      flagNamespace: ctx.globals.namespace,
      defaultNamespace: await ctx.namespace(),
    });
    return docs.map((d) => ({ resource: d.resource, namespace: d.namespace, name: d.name }));
  }
  const { kind, names } = parseKindArgs(args);
  if (names.length === 0) throw new ValidationError(`resource(s) were provided, but no name was specified: cloudlet delete ${kind} NAME`);
  const resource = catalog.resolve(kind);
  const namespace = resource.namespaced ? await ctx.namespace() : undefined;
  return names.map((name) => ({ resource, namespace, name }));
}

/** runDelete implements `cloudlet delete`; returns the exit code (1 if any object failed). */
export async function runDelete(ctx: CliContext, args: string[], opts: DeleteOptions): Promise<number> {
  const timeoutMs = parseDuration(opts.timeout ?? '60s', '--timeout');
  const client = await ctx.client();
  const list = await targets(ctx, args, opts);
  let exit = 0;
  const deleted: ObjectTarget[] = [];
  for (const t of list) {
    try {
      await client.request({
        method: 'DELETE',
        path: resourcePath(t.resource, { namespace: t.namespace, name: t.name }),
        body: { propagationPolicy: 'Background' },
      });
      ctx.out(`${resourceRef(t.resource)} "${t.name}" deleted`);
      deleted.push(t);
    } catch (err) {
      if (opts.ignoreNotFound && err instanceof Error && 'code' in err && err.code === 'NotFound') continue;
      exit = 1;
      ctx.err(formatCliError(err));
    }
  }
  if (opts.wait === false) return exit;
  const deadline = Date.now() + timeoutMs;
  for (const t of deleted) {
    try {
      await waitForObject(client, t, { timeoutMs: Math.max(0, deadline - Date.now()), until: (obj) => obj === undefined });
    } catch (err) {
      exit = 1;
      ctx.err(formatCliError(err));
    }
  }
  return exit;
}
