/**
 * The one poll helper of the test suite. Tests wait on a condition (an
 * informer caught up, a phase reached, a metric moved), never for a fixed
 * time; each caller keeps its own timeout and interval.
 */

/** PollOptions bound a poll: give up after `timeoutMs`, try again every `everyMs`. */
export interface PollOptions {
  timeoutMs: number;
  everyMs: number;
}

/** Pending is what a check returns while the condition does not hold yet. */
export type Pending = undefined | false;

/**
 * eventually calls `check` until it returns something other than
 * `undefined` or `false`, and returns that value (`true` for a boolean
 * check). A check that throws counts as "not yet"; after `timeoutMs` it
 * fails with `timed out after N ms waiting for <what>` and the last error or
 * the `detail()` the caller adds (what the last observation was).
 */
export async function eventually<T>(
  what: string,
  check: () => T | Pending | Promise<T | Pending>,
  opts: PollOptions & { detail?: () => string },
): Promise<Exclude<T, Pending>> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as Exclude<T, Pending>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = opts.detail ? `: ${opts.detail()}` : lastError !== undefined ? `: ${String(lastError)}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.everyMs));
  }
}

/**
 * waitFor is eventually with defaults (30 s, every 100 ms) for checks that
 * return a value once ready and undefined before.
 */
export function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  opts: { timeoutMs?: number; everyMs?: number } = {},
): Promise<Exclude<T, Pending>> {
  return eventually(what, check, { timeoutMs: opts.timeoutMs ?? 30_000, everyMs: opts.everyMs ?? 100 });
}
