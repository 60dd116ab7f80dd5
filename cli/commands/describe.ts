/**
 * `cloudlet describe KIND NAME` (or KIND/NAME): the object and its events.
 */
import { ValidationError } from '../../lib/errors.js';
import { isJsonMap, type JsonMap } from '../../lib/json.js';
import type { ApiClient } from '../client/api-client.js';
import { resourcePath } from '../client/resources.js';
import type { CliContext } from '../context.js';
import { describeObject, type EventLike } from '../output/describe.js';
import { parseKindArgs } from './get.js';

/**
 * eventsFor lists the core Events about one object (by name and uid). A
 * server without events, or any failure, gives no events: describe still
 * prints the object, as kubectl does.
 */
export async function eventsFor(client: ApiClient, obj: JsonMap): Promise<EventLike[]> {
  const meta = isJsonMap(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const uid = typeof meta.uid === 'string' ? meta.uid : undefined;
  const selector = uid ? `involvedObject.name=${name},involvedObject.uid=${uid}` : `involvedObject.name=${name}`;
  // Events about cluster-scoped objects live in the `default` namespace.
  const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
  try {
    const list = await client.request<{ items?: unknown[] }>({
      path: `/api/v1/namespaces/${encodeURIComponent(ns)}/events`,
      query: { fieldSelector: selector, limit: '500' },
    });
    const kind = typeof obj.kind === 'string' ? obj.kind : undefined;
    return (list.items ?? []).filter(isJsonMap).filter((e) => {
      // A server that ignores fieldSelector still gives the right events.
      const io = isJsonMap(e.involvedObject) ? e.involvedObject : {};
      return (
        io.name === name &&
        (uid === undefined || io.uid === undefined || io.uid === uid) &&
        (kind === undefined || io.kind === undefined || io.kind === kind)
      );
    }) as EventLike[];
  } catch {
    return [];
  }
}

/** runDescribe implements `cloudlet describe`; returns the exit code. */
export async function runDescribe(ctx: CliContext, args: string[]): Promise<number> {
  const { kind, names } = parseKindArgs(args);
  if (names.length === 0) throw new ValidationError('describe needs a name: cloudlet describe KIND NAME');
  const client = await ctx.client();
  const r = (await ctx.catalog()).resolve(kind);
  const namespace = r.namespaced ? await ctx.namespace() : undefined;
  const pages: string[] = [];
  for (const name of names) {
    const obj = await client.request<JsonMap>({ path: resourcePath(r, { namespace, name }) });
    const full: JsonMap = { apiVersion: r.apiVersion, kind: r.kind, ...obj };
    pages.push(describeObject({ object: full, events: await eventsFor(client, full), now: Date.now() }));
  }
  ctx.io.stdout(pages.join('\n\n'));
  return 0;
}
