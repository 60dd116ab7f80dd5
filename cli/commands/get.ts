/**
 * `cloudlet get KIND [NAME] [-o wide|yaml|json|name|jsonpath=TEMPLATE] [-w] [-l SEL] [-A]`.
 * Tables come from the server (Accept: Table); `-w` prints the table, then a
 * row per watch event until interrupted, relisting on 410 Gone.
 */
import { stringify } from 'yaml';
import { executeJsonPath } from '../../lib/api/jsonpath.js';
import { parseTemplate } from '../../lib/api/jsonpath-parse.js';
import { GoneError, ValidationError } from '../../lib/errors.js';
import { isJsonMap, type JsonMap } from '../../lib/json.js';
import { JSON_ACCEPT, TABLE_ACCEPT, type ApiClient } from '../client/api-client.js';
import { resourcePath, resourceRef, type ResourceInfo } from '../client/resources.js';
import type { CliContext } from '../context.js';
import { AlignedWriter, fallbackTable, formatTable, tableView, type ObjectLike } from '../output/table.js';
import { isTable, type ReceivedTable } from '../../lib/api/table.js';

/** OutputFormat is a value of -o (`jsonpath=TEMPLATE` is 'jsonpath'). */
export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name' | 'jsonpath';

/** GetOptions are get's flags. */
export interface GetOptions {
  output?: string;
  watch?: boolean;
  selector?: string;
  allNamespaces?: boolean;
  /** like kubectl's --allow-missing-template-keys (default true): a missing field prints nothing instead of failing */
  allowMissingTemplateKeys?: boolean;
}

/** JsonPathPrint is the -o jsonpath template and whether a missing field is allowed. */
interface JsonPathPrint {
  template: string;
  allowMissingKeys: boolean;
}

/** parseKindArgs reads `KIND [NAME...]` or `KIND/NAME [KIND/NAME...]` into a kind word and names. */
export function parseKindArgs(args: string[]): { kind: string; names: string[] } {
  const [first, ...rest] = args;
  if (first === undefined) throw new ValidationError('you must specify the type of resource to get, e.g. "cloudlet get instances"');
  if (!first.includes('/')) return { kind: first, names: rest };
  const pairs = args.map((a) => {
    const slash = a.indexOf('/');
    if (slash <= 0 || slash === a.length - 1) throw new ValidationError(`"${a}" is not KIND/NAME; use either KIND NAME... or KIND/NAME...`);
    return { kind: a.slice(0, slash), name: a.slice(slash + 1) };
  });
  const kinds = new Set(pairs.map((p) => p.kind));
  if (kinds.size > 1) throw new ValidationError('all KIND/NAME arguments must name the same kind');
  return { kind: pairs[0]?.kind ?? first, names: pairs.map((p) => p.name) };
}

/** parseOutput checks -o; `jsonpath=TEMPLATE` also gives the template. */
export function parseOutput(value: string | undefined): { format: OutputFormat; template?: string } {
  if (value === undefined || value === '') return { format: 'table' };
  if (value === 'wide' || value === 'yaml' || value === 'json' || value === 'name') return { format: value };
  if (value.startsWith('jsonpath=') && value.length > 'jsonpath='.length)
    return { format: 'jsonpath', template: value.slice('jsonpath='.length) };
  throw new ValidationError(
    `unable to match a printer suitable for the output format "${value}", allowed formats are: json, jsonpath=TEMPLATE, name, wide, yaml`,
  );
}

/** forPrinting adds apiVersion/kind when the server left them out and hides managedFields, as kubectl does. */
function forPrinting(obj: JsonMap, r: ResourceInfo): JsonMap {
  const out: JsonMap = { apiVersion: r.apiVersion, kind: r.kind, ...obj };
  if (isJsonMap(out.metadata) && 'managedFields' in out.metadata) {
    const { managedFields: _hidden, ...metadata } = out.metadata;
    out.metadata = metadata;
  }
  return out;
}

function asTable(body: unknown, now: number): ReceivedTable {
  if (isTable(body)) return body;
  if (isJsonMap(body) && Array.isArray(body.items)) {
    const rv = isJsonMap(body.metadata) && typeof body.metadata.resourceVersion === 'string' ? body.metadata.resourceVersion : undefined;
    return fallbackTable(body.items.filter(isJsonMap) as ObjectLike[], { now, resourceVersion: rv });
  }
  return fallbackTable(isJsonMap(body) ? [body as ObjectLike] : [], { now });
}

function printObjects(
  ctx: CliContext,
  r: ResourceInfo,
  objects: JsonMap[],
  format: OutputFormat,
  asList: boolean,
  jsonpath?: JsonPathPrint,
): void {
  const typed = objects.map((o) => forPrinting(o, r));
  if (format === 'name') {
    for (const o of typed) ctx.out(`${resourceRef(r)}/${String((o.metadata as JsonMap | undefined)?.name ?? '')}`);
    return;
  }
  const value = asList ? { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: typed } : typed[0];
  if (format === 'jsonpath') {
    // Like kubectl: the template applies to the object (or the List), values joined by spaces, no newline.
    ctx.io.stdout(executeJsonPath(jsonpath?.template ?? '', value, { allowMissingKeys: jsonpath?.allowMissingKeys ?? true }));
    return;
  }
  ctx.io.stdout(format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value, { lineWidth: 0 }));
}

/** runGet implements `cloudlet get`; returns the exit code. */
export async function runGet(ctx: CliContext, args: string[], opts: GetOptions): Promise<number> {
  const { format, template } = parseOutput(opts.output);
  let jsonpath: JsonPathPrint | undefined;
  if (format === 'jsonpath' && template !== undefined) {
    parseTemplate(template); // a bad template fails before any request, as in kubectl
    jsonpath = { template, allowMissingKeys: opts.allowMissingTemplateKeys ?? true };
  }
  const { kind, names } = parseKindArgs(args);
  const client = await ctx.client();
  const r = (await ctx.catalog()).resolve(kind);
  const allNs = opts.allNamespaces === true && r.namespaced;
  const namespace = r.namespaced && !allNs ? await ctx.namespace() : undefined;
  if (names.length > 0 && allNs) throw new ValidationError('a resource cannot be retrieved by name across all namespaces');
  if (opts.watch && names.length > 1) throw new ValidationError('you may only watch a single resource or a collection');
  const tabular = format === 'table' || format === 'wide';
  const accept = tabular ? TABLE_ACCEPT : JSON_ACCEPT;
  const now = Date.now();
  const writer = new AlignedWriter();
  const view = (t: ReceivedTable) => tableView(t, { wide: format === 'wide', withNamespace: allNs });
  let headerShown = false;

  let resourceVersion: string | undefined;
  if (names.length > 0) {
    const bodies: unknown[] = [];
    for (const name of names) bodies.push(await client.request({ path: resourcePath(r, { namespace, name }), accept }));
    if (tabular) {
      const tables = bodies.map((b) => asTable(b, now));
      const first = tables[0];
      if (first)
        ctx.io.stdout(
          formatTable({ header: view(first).header, rows: tables.flatMap((t) => view(t).rows) }, writer)
            .map((l) => `${l}\n`)
            .join(''),
        );
      headerShown = first !== undefined;
    } else {
      printObjects(ctx, r, bodies.filter(isJsonMap), format, names.length > 1, jsonpath);
    }
  } else {
    const body = await client.request({ path: resourcePath(r, { namespace }), accept, query: { labelSelector: opts.selector } });
    if (tabular) {
      const table = asTable(body, now);
      resourceVersion = table.metadata?.resourceVersion;
      if (table.rows.length === 0) {
        if (!opts.watch) ctx.err(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found');
      } else {
        ctx.io.stdout(
          formatTable(view(table), writer)
            .map((l) => `${l}\n`)
            .join(''),
        );
        headerShown = true;
      }
    } else {
      const list = isJsonMap(body) ? body : {};
      resourceVersion =
        isJsonMap(list.metadata) && typeof list.metadata.resourceVersion === 'string' ? list.metadata.resourceVersion : undefined;
      const items = Array.isArray(list.items) ? list.items.filter(isJsonMap) : [];
      if (format === 'name' || !opts.watch) printObjects(ctx, r, items, format, true, jsonpath);
      else for (const item of items) printObjects(ctx, r, [item], format, false, jsonpath);
    }
  }
  if (!opts.watch) return 0;
  await watchLoop(client, {
    resource: r,
    namespace,
    name: names[0],
    selector: opts.selector,
    resourceVersion,
    accept,
    onObject: (body) => {
      if (tabular) {
        const v = view(asTable(body, Date.now()));
        // The header goes out once: with the first table, or with the first event after an empty list.
        const lines = writer.lines(headerShown ? v.rows : [v.header, ...v.rows]);
        headerShown = true;
        ctx.io.stdout(lines.map((l) => `${l}\n`).join(''));
      } else if (isJsonMap(body)) {
        if (format === 'yaml') ctx.out('---');
        printObjects(ctx, r, [body], format, false, jsonpath);
        if (format === 'jsonpath') ctx.out('');
      }
    },
  });
  return 0;
}

interface WatchLoopOptions {
  resource: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  selector: string | undefined;
  resourceVersion: string | undefined;
  accept: string;
  onObject: (body: unknown) => void;
}

/** watchLoop follows the collection forever: resumes after a closed stream, relists after 410 Gone. */
async function watchLoop(client: ApiClient, o: WatchLoopOptions): Promise<never> {
  let rv = o.resourceVersion;
  const path = resourcePath(o.resource, { namespace: o.namespace });
  const fieldSelector = o.name !== undefined ? `metadata.name=${o.name}` : undefined;
  for (;;) {
    if (rv === undefined) {
      // A named get (or a list without a version): find the version to watch from.
      const list = await client.request<{ metadata?: { resourceVersion?: string } }>({
        path,
        query: { fieldSelector, labelSelector: o.selector },
      });
      rv = list.metadata?.resourceVersion ?? '0';
    }
    try {
      await client.watch({ path, accept: o.accept, query: { resourceVersion: rv, fieldSelector, labelSelector: o.selector } }, (ev) => {
        if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') return;
        const meta = isJsonMap(ev.object.metadata) ? ev.object.metadata : undefined;
        if (typeof meta?.resourceVersion === 'string') rv = meta.resourceVersion;
        o.onObject(ev.object);
      });
    } catch (err) {
      if (!(err instanceof GoneError)) throw err;
      // Our version was compacted: relist and print the current rows again, as kubectl does.
      const body = await client.request({ path, accept: o.accept, query: { fieldSelector, labelSelector: o.selector } });
      const list = isJsonMap(body) ? body : {};
      rv = isJsonMap(list.metadata) && typeof list.metadata.resourceVersion === 'string' ? list.metadata.resourceVersion : undefined;
      if (isTable(body)) {
        if (body.rows.length > 0) o.onObject(body);
      } else if (Array.isArray(list.items)) {
        for (const item of list.items) o.onObject(item);
      }
      continue;
    }
    // The server closed the stream: resume from the last version seen, after a short pause.
    await new Promise((r) => setTimeout(r, 200));
  }
}
