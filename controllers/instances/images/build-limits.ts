/**
 * Limits of one image build: a deadline, a size cap on what the build
 * writes, and cancellation from outside. A watchdog measures the build
 * directory (`du`) while the build runs and aborts it past the cap; the
 * build's host commands take the returned signal, so an abort kills them.
 */
import { CancelledError, CloudletError, TimeoutError, ValidationError } from '../../../lib/errors.js';
import type { HostRunner } from '../../../lib/host/exec.js';

/** BuildLimits bound one image build. */
export interface BuildLimits {
  /** timeoutMs: the build is aborted with TimeoutError after this long */
  timeoutMs: number;
  /** maxBytes: the build is aborted with ValidationError once its directory holds more */
  maxBytes: number;
  /** pollMs: how often the directory is measured */
  pollMs: number;
}

/** DEFAULT_BUILD_LIMITS: 30 minutes, 8 GiB, measured every 2 s. */
export const DEFAULT_BUILD_LIMITS: BuildLimits = { timeoutMs: 30 * 60_000, maxBytes: 8 * 2 ** 30, pollMs: 2000 };

/** directoryBytes measures `dir` with `du -s -B1 -x` (apparent use on its own filesystem); 0 when it cannot be read yet. */
export async function directoryBytes(runner: HostRunner, dir: string, signal?: AbortSignal): Promise<number> {
  const { stdout } = await runner.run(['du', '-s', '-B1', '-x', '--', dir], {
    timeoutMs: 60_000,
    okExitCodes: [0, 1],
    ...(signal ? { signal } : {}),
  });
  const n = Number(stdout.split(/\s/)[0]);
  return Number.isFinite(n) ? n : 0;
}

/**
 * withBuildLimits runs `build(signal)` under `limits` for the directory
 * `dir`, and aborts the signal it passed when the deadline passes
 * (TimeoutError), the directory grows past `maxBytes` (ValidationError) or
 * `outer` is aborted (its reason, or CancelledError). The build's promise
 * rejects with that reason once its commands are killed.
 */
export async function withBuildLimits<T>(
  opts: { dir: string; what: string; limits: BuildLimits; runner: HostRunner; outer?: AbortSignal },
  build: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController();
  const abort = (reason: CloudletError): void => {
    if (!ctl.signal.aborted) ctl.abort(reason);
  };
  const onOuter = (): void => {
    const reason: unknown = opts.outer?.reason;
    abort(reason instanceof CloudletError ? reason : new CancelledError(`building ${opts.what} was cancelled`, { cause: reason }));
  };
  if (opts.outer?.aborted) onOuter();
  opts.outer?.addEventListener('abort', onOuter, { once: true });
  const deadline = setTimeout(
    () => abort(new TimeoutError(`building ${opts.what} took longer than ${Math.round(opts.limits.timeoutMs / 1000)} s; it was stopped`)),
    opts.limits.timeoutMs,
  );
  let polling = true;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (wake = r));
  const watch = (async () => {
    while (polling && !ctl.signal.aborted) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, opts.limits.pollMs))), stopped]);
      clearTimeout(timer);
      if (!polling || ctl.signal.aborted) return;
      const bytes = await directoryBytes(opts.runner, opts.dir, ctl.signal).catch(() => 0);
      if (bytes > opts.limits.maxBytes) {
        abort(
          new ValidationError(`building ${opts.what} wrote more than ${opts.limits.maxBytes} bytes (the image size limit); it was stopped`),
        );
      }
    }
  })();
  try {
    const result = await build(ctl.signal);
    // A limit hit after the last command finished still fails the build: the image is over the limit.
    if (ctl.signal.aborted) throw ctl.signal.reason;
    return result;
  } catch (err) {
    throw ctl.signal.aborted ? (ctl.signal.reason as unknown) : err;
  } finally {
    polling = false;
    wake();
    clearTimeout(deadline);
    opts.outer?.removeEventListener('abort', onOuter);
    await watch;
  }
}
