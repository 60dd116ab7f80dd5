/**
 * `cloudlet apply -f FILE|DIR|-`: all or nothing validation, then apply.
 *
 * 1. Every document is loaded and checked locally (apiVersion and kind known,
 *    metadata.name present, namespace consistent).
 * 2. Every document is sent to the server as a dry run (create or patch with
 *    dryRun=All), so schema errors surface before anything is written.
 * 3. Only if all passed: each document is created, patched (three-way merge
 *    with last-applied, like kubectl) or left unchanged, and reported as
 *    `instance.cloudlet.dev/web created|configured|unchanged`.
 */
import { NotFoundError, ValidationError, isCode } from '../../lib/errors.js';
import { LAST_APPLIED_ANNOTATION, lastAppliedOf, threeWayMergePatch, withLastApplied } from '../apply/merge-patch.js';
import { isJsonMap, type JsonMap } from '../../lib/json.js';
import type { ApiClient } from '../client/api-client.js';
import { resourcePath, resourceRef, type ResourceCatalog, type ResourceInfo } from '../client/resources.js';
import { formatCliError } from '../client/status.js';
import { isTransportFailure } from '../client/transport.js';
import type { CliContext } from '../context.js';
import { docLabel, loadManifests, type ManifestDoc } from '../manifests/load.js';

/** ApplyOptions are apply's flags. */
export interface ApplyOptions {
  filename: string[];
  dryRun?: boolean;
  serverSide?: boolean;
  forceConflicts?: boolean;
}

/** ResolvedDoc is a manifest checked locally: its resource, namespace and name are known. */
export interface ResolvedDoc {
  doc: ManifestDoc;
  resource: ResourceInfo;
  namespace: string | undefined;
  name: string;
  /** the manifest, with metadata.namespace set (namespaced kinds) or removed (cluster-scoped) */
  object: JsonMap;
}

/**
 * resolveDocs checks every document locally and returns them resolved, or
 * throws one ValidationError listing every problem (`FILE: document N: ...`).
 * `flagNamespace` is -n (undefined if not given); `defaultNamespace` is used otherwise.
 */
export function resolveDocs(
  docs: ManifestDoc[],
  opts: { catalog: ResourceCatalog; flagNamespace?: string; defaultNamespace: string },
): ResolvedDoc[] {
  const problems: string[] = [];
  const out: ResolvedDoc[] = [];
  for (const doc of docs) {
    const o = doc.object;
    const say = (msg: string): void => void problems.push(`${docLabel(doc)}: ${msg}`);
    if (typeof o.apiVersion !== 'string' || o.apiVersion === '') {
      say('apiVersion is required');
      continue;
    }
    if (typeof o.kind !== 'string' || o.kind === '') {
      say('kind is required');
      continue;
    }
    const resource = opts.catalog.byApiVersionKind(o.apiVersion, o.kind);
    if (!resource) {
      say(`no matches for kind "${o.kind}" in version "${o.apiVersion}"`);
      continue;
    }
    const meta = isJsonMap(o.metadata) ? o.metadata : undefined;
    if (!meta || typeof meta.name !== 'string' || meta.name === '') {
      say('metadata.name is required');
      continue;
    }
    const object = structuredClone(o);
    const objMeta = object.metadata as JsonMap;
    let namespace: string | undefined;
    if (resource.namespaced) {
      const own = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
      if (own && opts.flagNamespace && own !== opts.flagNamespace) {
        say(
          `the namespace from the provided object "${own}" does not match the namespace "${opts.flagNamespace}"; pass --namespace=${own} or remove -n`,
        );
        continue;
      }
      namespace = own ?? opts.flagNamespace ?? opts.defaultNamespace;
      objMeta.namespace = namespace;
    } else {
      delete objMeta.namespace;
    }
    out.push({ doc, resource, namespace, name: meta.name, object });
  }
  if (problems.length > 0) throw new ValidationError(problems.join('\n'));
  return out;
}

/** ApplyPlan is what one document needs: a create, a merge patch, a server-side apply, or nothing. */
export type ApplyPlan =
  | { action: 'create'; body: JsonMap }
  | { action: 'patch'; body: JsonMap }
  | { action: 'server-side'; body: JsonMap }
  | { action: 'unchanged' };

async function getLive(client: ApiClient, d: ResolvedDoc): Promise<JsonMap | undefined> {
  try {
    return await client.request<JsonMap>({ path: resourcePath(d.resource, { namespace: d.namespace, name: d.name }) });
  } catch (err) {
    if (isCode(err, 'NotFound')) return undefined;
    throw err;
  }
}

/** planApply decides what to send for one document given the live object (undefined = absent). */
export function planApply(d: ResolvedDoc, live: JsonMap | undefined, serverSide: boolean): ApplyPlan {
  if (serverSide) {
    const body = structuredClone(d.object);
    const meta = body.metadata as JsonMap;
    if (isJsonMap(meta.annotations)) delete meta.annotations[LAST_APPLIED_ANNOTATION];
    return { action: 'server-side', body };
  }
  const { modified } = withLastApplied(d.object);
  if (!live) return { action: 'create', body: modified };
  const patch = threeWayMergePatch({ original: lastAppliedOf(live), modified, current: live });
  return Object.keys(patch).length === 0 ? { action: 'unchanged' } : { action: 'patch', body: patch };
}

async function send(client: ApiClient, d: ResolvedDoc, plan: ApplyPlan, opts: { dryRun: boolean; force: boolean }): Promise<string> {
  const dryRun = opts.dryRun ? 'All' : undefined;
  switch (plan.action) {
    case 'unchanged':
      return 'unchanged';
    case 'create':
      await client.request({
        method: 'POST',
        path: resourcePath(d.resource, { namespace: d.namespace }),
        query: { fieldManager: 'cloudlet-client-side-apply', fieldValidation: 'Strict', dryRun },
        body: plan.body,
      });
      return 'created';
    case 'patch':
      await client.request({
        method: 'PATCH',
        path: resourcePath(d.resource, { namespace: d.namespace, name: d.name }),
        query: { fieldManager: 'cloudlet-client-side-apply', fieldValidation: 'Strict', dryRun },
        body: plan.body,
        contentType: 'application/merge-patch+json',
      });
      return 'configured';
    case 'server-side':
      await client.request({
        method: 'PATCH',
        path: resourcePath(d.resource, { namespace: d.namespace, name: d.name }),
        query: { fieldManager: 'cloudlet', fieldValidation: 'Strict', force: String(opts.force), dryRun },
        body: plan.body,
        contentType: 'application/apply-patch+yaml',
      });
      return 'serverside-applied';
  }
}

/** ValidationPass is what apply's first pass found: a plan per document, or the failures, or that the server stopped answering. */
export interface ValidationPass {
  plans: ApplyPlan[];
  /** failures counts the documents the server (or planning) refused */
  failures: number;
  /** unreachable is set when a request got no answer: `checked` documents were checked before it */
  unreachable?: { error: unknown; checked: number };
}

/**
 * validateAll runs `check` on every document in order, reporting each
 * refusal through `report` and counting it. A transport failure (no answer
 * from the server, see isTransportFailure) is not a refusal: it ends the
 * pass at once, reported in `unreachable`, since every later check would
 * fail the same way and say nothing about the documents.
 */
export async function validateAll<D>(
  docs: readonly D[],
  check: (d: D) => Promise<ApplyPlan>,
  report: (d: D, err: unknown) => void,
): Promise<ValidationPass> {
  const plans: ApplyPlan[] = [];
  let failures = 0;
  for (const [i, d] of docs.entries()) {
    try {
      plans.push(await check(d));
    } catch (err) {
      if (isTransportFailure(err)) return { plans, failures, unreachable: { error: err, checked: i } };
      failures++;
      report(d, err);
    }
  }
  return { plans, failures };
}

/** runApply implements `cloudlet apply`; returns the exit code. */
export async function runApply(ctx: CliContext, opts: ApplyOptions): Promise<number> {
  if (opts.filename.length === 0) throw new ValidationError('must specify one of -f and -k (only -f is supported): apply -f FILE|DIR|-');
  const docs = loadManifests(opts.filename, ctx.io.readStdin);
  if (docs.length === 0) throw new NotFoundError('no objects passed to apply');
  const client = await ctx.client();
  const resolved = resolveDocs(docs, {
    catalog: await ctx.catalog(),
    flagNamespace: ctx.globals.namespace,
    defaultNamespace: await ctx.namespace(),
  });

  // Pass 1: plan every document and dry-run it on the server; write nothing if any fails.
  const pass = await validateAll(
    resolved,
    async (d) => {
      const plan = planApply(d, await getLive(client, d), opts.serverSide === true);
      await send(client, d, plan, { dryRun: true, force: opts.forceConflicts === true });
      return plan;
    },
    (d, err) => ctx.err(formatCliError(err, `error when applying ${docLabel(d.doc)} (${resourceRef(d.resource)}/${d.name})`)),
  );
  if (pass.unreachable) {
    ctx.err(formatCliError(pass.unreachable.error, 'error: the server stopped answering during the validation pass'));
    ctx.err(
      `error: nothing was applied: the server could not be reached after ${pass.unreachable.checked} of ${resolved.length} objects were checked`,
    );
    return 1;
  }
  const { plans, failures } = pass;
  if (failures > 0) {
    ctx.err(`error: nothing was applied: ${failures} of ${resolved.length} objects failed validation`);
    return 1;
  }

  // Pass 2: apply for real (or report the dry run).
  let exit = 0;
  for (const [i, d] of resolved.entries()) {
    const ref = `${resourceRef(d.resource)}/${d.name}`;
    try {
      if (opts.dryRun) {
        const plan = plans[i] ?? { action: 'unchanged' };
        const verb =
          plan.action === 'create'
            ? 'created'
            : plan.action === 'patch'
              ? 'configured'
              : plan.action === 'server-side'
                ? 'serverside-applied'
                : 'unchanged';
        ctx.out(`${ref} ${verb} (dry run)`);
        continue;
      }
      // Re-read: an earlier document of this run may have touched the same object.
      const plan = planApply(d, await getLive(client, d), opts.serverSide === true);
      ctx.out(`${ref} ${await send(client, d, plan, { dryRun: false, force: opts.forceConflicts === true })}`);
    } catch (err) {
      exit = 1;
      ctx.err(formatCliError(err, `error when applying ${docLabel(d.doc)} (${ref})`));
    }
  }
  return exit;
}
