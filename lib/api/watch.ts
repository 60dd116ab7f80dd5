/**
 * Watch streams (`?watch=true`): one JSON event per line, flushed at once.
 * Without a resourceVersion (or with 0) the current matches come first as
 * ADDED; with one, only later changes. A compacted revision ends the stream
 * with an ERROR event carrying a 410 Expired Status.
 */
import type { Subscription } from 'rxjs';
import { BadRequestError, GoneError, errorMessage } from '../errors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, supportedFields } from '../store/selectors.js';
import type { KubeObject, WatchEvent } from '../store/types.js';
import type { HandlerDeps, ResourceRequest } from './handler-context.js';
import { includeObjectParam, wantsTable } from './request.js';
import { statusOf } from './status.js';
import { buildTable } from './table.js';

/** WatchHooks let the server count open watches. */
export interface WatchHooks {
  opened(): void;
  closed(): void;
}

/** watchObjects serves a watch on a collection until the client leaves, the timeout passes or the server closes. */
export async function watchObjects(deps: HandlerDeps, r: ResourceRequest, hooks: WatchHooks): Promise<void> {
  const { kind, namespace } = r.route;
  const labels = parseLabelSelector(r.query.get('labelSelector') ?? undefined);
  const fields = parseFieldSelector(r.query.get('fieldSelector') ?? undefined, supportedFields(kind));
  const table = wantsTable(r.req);
  const include = includeObjectParam(r.query);
  const bookmarks = r.query.get('allowWatchBookmarks') === 'true';
  const timeoutParam = r.query.get('timeoutSeconds');
  const timeoutSeconds = timeoutParam === null ? undefined : Number(timeoutParam);
  if (timeoutSeconds !== undefined && (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0)) {
    throw new BadRequestError(`timeoutSeconds must be a non-negative number, not "${timeoutParam}"`);
  }
  let from = r.query.get('resourceVersion') ?? '';
  const matches = (o: KubeObject): boolean => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);

  // list before committing to a 200, so a bad selector is still a plain error response
  let initial: KubeObject[] = [];
  if (from === '' || from === '0') {
    const listOpts: { namespace?: string } = {};
    if (namespace !== undefined) listOpts.namespace = namespace;
    const list = await deps.store.list<KubeObject>(kind, listOpts);
    initial = list.items.filter(matches);
    from = list.resourceVersion;
  }

  const { res, req } = r;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  req.socket.setNoDelay(true);
  let latest = from;
  let closed = false;
  let sub: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  hooks.opened();

  const send = (type: string, object: unknown): void => {
    if (!closed) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const sendObject = (type: string, o: KubeObject): void => {
    const rv = o.metadata.resourceVersion;
    if (rv) latest = rv;
    send(type, table ? buildTable(kind, [o], { resourceVersion: rv, include, now: deps.now().getTime() }) : o);
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    sub?.unsubscribe();
    if (timer) clearTimeout(timer);
    if (ticker) clearInterval(ticker);
    deps.watchClosers.delete(close);
    hooks.closed();
    res.end();
  };
  deps.watchClosers.add(close);
  req.on('close', close);
  res.on('close', close);

  for (const o of initial) sendObject('ADDED', o);
  const watchOpts: { namespace?: string; fromRevision: string } = { fromRevision: from };
  if (namespace !== undefined) watchOpts.namespace = namespace;
  sub = deps.store.watch<KubeObject>(kind, watchOpts).subscribe({
    next: (ev: WatchEvent<KubeObject>) => {
      if (matches(ev.object)) sendObject(ev.type, ev.object);
      else latest = ev.revision;
    },
    error: (err: unknown) => {
      if (!(err instanceof GoneError)) deps.logger.warn('watch failed', { resource: kind.plural, error: errorMessage(err) });
      send('ERROR', statusOf(err, { kind }));
      close();
    },
    complete: close,
  });
  if (closed) sub.unsubscribe();
  if (timeoutSeconds !== undefined && timeoutSeconds > 0) timer = setTimeout(close, timeoutSeconds * 1000);
  if (bookmarks) {
    ticker = setInterval(() => {
      send('BOOKMARK', { kind: kind.kind, apiVersion: kind.apiVersion, metadata: { resourceVersion: latest } });
    }, deps.bookmarkIntervalMs);
  }
}
