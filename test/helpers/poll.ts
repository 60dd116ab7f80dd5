/**
 * waitFor is the bounded poll the tests use instead of fixed sleeps: it
 * calls `check` until it returns a value other than undefined and resolves
 * with that value. A throw from `check` counts as "not yet" and is kept for
 * the message. After `timeoutMs` it rejects naming `what` and the last error,
 * so a failure says what never happened rather than just "timeout".
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  opts: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
  }
}
