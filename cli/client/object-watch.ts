/**
 * Waiting for one object to reach a state, the way kubectl's delete and
 * wait do it: list with a name field selector (for a resourceVersion), check,
 * then watch from that version and check every event; relist when the
 * server says the version is too old (410) or closes the stream.
 */
import { isTransportFailure } from './transport.js';
import { GoneError, TimeoutError } from '../../lib/errors.js';
import { isJsonMap, type JsonMap } from '../../lib/json.js';
import type { ApiClient } from './api-client.js';
import { resourcePath, type ResourceInfo } from './resources.js';

/** ObjectTarget names one object of a resource. */
export interface ObjectTarget {
  resource: ResourceInfo;
  /** namespace of a namespaced object; ignored for cluster-scoped kinds */
  namespace?: string;
  name: string;
}

/** targetText is the `plural/name` kubectl uses in wait messages. */
export function targetText(t: ObjectTarget): string {
  return `${t.resource.plural}/${t.name}`;
}

function nameOf(obj: unknown): string | undefined {
  return isJsonMap(obj) && isJsonMap(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : undefined;
}

function namespaceOf(obj: unknown): string | undefined {
  return isJsonMap(obj) && isJsonMap(obj.metadata) && typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : undefined;
}

/**
 * waitForObject resolves with the object (undefined = absent) as soon as
 * `until` returns true for it, checking the current state first. Throws
 * TimeoutError `timed out waiting for the condition on plural/name` after
 * `timeoutMs`, and the server's errors as catalogue errors.
 */
export async function waitForObject(
  client: ApiClient,
  target: ObjectTarget,
  opts: { timeoutMs: number; until: (obj: JsonMap | undefined) => boolean },
): Promise<JsonMap | undefined> {
  const path = resourcePath(target.resource, { namespace: target.namespace });
  const fieldSelector = `metadata.name=${target.name}`;
  const mine = (obj: unknown): boolean =>
    nameOf(obj) === target.name && (!target.resource.namespaced || target.namespace === undefined || namespaceOf(obj) === target.namespace);
  const outer = new AbortController();
  const timer = setTimeout(() => outer.abort(), opts.timeoutMs);
  const timedOut = (): TimeoutError => new TimeoutError(`timed out waiting for the condition on ${targetText(target)}`);
  try {
    while (!outer.signal.aborted) {
      let list: { metadata?: { resourceVersion?: string }; items?: unknown[] };
      try {
        list = await client.request<{ metadata?: { resourceVersion?: string }; items?: unknown[] }>({ path, query: { fieldSelector } });
      } catch (err) {
        // No answer (a connection refused or timed out while the member is busy): try again until the deadline.
        if (!isTransportFailure(err) || outer.signal.aborted) throw err;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      let current = (list.items ?? []).find(mine) as JsonMap | undefined;
      if (opts.until(current)) return current;
      const inner = new AbortController();
      const signal = AbortSignal.any([outer.signal, inner.signal]);
      let met = false;
      try {
        await client.watch(
          { path, query: { fieldSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: 'true' }, signal },
          (ev) => {
            if (met || ev.type === 'BOOKMARK' || !mine(ev.object)) return;
            current = ev.type === 'DELETED' ? undefined : ev.object;
            if (opts.until(current)) {
              met = true;
              inner.abort();
            }
          },
        );
      } catch (err) {
        // 410 Gone: our version was compacted away; relist and go on. A watch that lost its connection: the same.
        if (!(err instanceof GoneError) && !isTransportFailure(err)) throw err;
      }
      if (met) return current;
      if (!outer.signal.aborted) await new Promise((r) => setTimeout(r, 100));
    }
    throw timedOut();
  } finally {
    clearTimeout(timer);
  }
}
