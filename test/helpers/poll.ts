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
