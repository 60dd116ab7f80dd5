/**
 * The one way controllers write status: read the latest copy, let the caller
 * compute the status from it, skip the write when nothing changed, and on a
 * write conflict read again and recompute — like client-go's
 * `retry.RetryOnConflict` around a status update.
 */
import { ConflictError, isCode } from '../errors.js';
import type { KindInfo } from '../kinds/registry.js';
import type { KubeObject, Store } from '../store/types.js';
import { deepEqual } from '../json.js';

/** StatusKey names the object whose status is written. */
export interface StatusKey {
  name: string;
  namespace?: string;
}

/** UpdateStatusOptions tune updateStatus; every field is optional. */
export interface UpdateStatusOptions<T> {
  /**
   * latest is a copy the caller already holds (from a get, an informer or an
   * earlier write): the first attempt uses it instead of reading; a conflict
   * reads afresh.
   */
  latest?: T;
  /** attempts bounds the writes tried (default 5); the last ConflictError is thrown after it */
  attempts?: number;
  /**
   * ignoreKeys are keys left out, at any depth, when deciding whether the
   * status changed (CONDITION_TIME_KEYS ignores conditions' transition
   * times); the write, when one happens, carries them.
   */
  ignoreKeys?: ReadonlySet<string>;
  /** ifGone: 'throw' (default) rethrows the store's NotFoundError; 'skip' resolves undefined */
  ifGone?: 'throw' | 'skip';
}

/** CONDITION_TIME_KEYS: ignoreKeys for statuses whose conditions differ only in when they last changed. */
export const CONDITION_TIME_KEYS: ReadonlySet<string> = new Set(['lastTransitionTime']);

/** DEFAULT_STATUS_ATTEMPTS is how many writes updateStatus tries before it gives up on conflicts. */
export const DEFAULT_STATUS_ATTEMPTS = 5;

/**
 * updateStatus writes the status `mutate` computes from the latest copy of
 * the object through the status subresource, and resolves with:
 * - the written object;
 * - the latest object, unwritten, when `mutate` returns undefined (nothing to
 *   write, e.g. the object is being deleted) or a status deepEqual to the
 *   current one (ignoring `ignoreKeys`);
 * - undefined when the object does not exist and `ifGone` is 'skip'.
 *
 * On a ConflictError it reads the object again and calls `mutate` again, up
 * to `attempts` writes; then it throws that ConflictError. `mutate` must not
 * change the object it is given (return a new status) and may be called more
 * than once. Any other error is thrown as is.
 */
export async function updateStatus<T extends KubeObject>(
  store: Store,
  kind: KindInfo,
  key: StatusKey,
  mutate: (latest: T) => T['status'] | undefined,
  opts: UpdateStatusOptions<T> = {},
): Promise<T | undefined> {
  const attempts = Math.max(1, opts.attempts ?? DEFAULT_STATUS_ATTEMPTS);
  let latest = opts.latest;
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      latest ??= await store.get<T>(kind, key.name, key.namespace);
      const status = mutate(latest);
      if (status === undefined || deepEqual(status, latest.status ?? {}, { ignoreKeys: opts.ignoreKeys })) return latest;
      return await store.update<T>(kind, { ...latest, status }, { subresource: 'status' });
    } catch (err) {
      if (isCode(err, 'NotFound') && opts.ifGone === 'skip') return undefined;
      if (!isCode(err, 'Conflict')) throw err;
      lastConflict = err;
      latest = undefined;
    }
  }
  throw lastConflict instanceof Error
    ? lastConflict
    : new ConflictError(`${kind.kind} ${key.name}: status write conflicted ${attempts} times`);
}
