/**
 * Undo lists for multi-step host actions: each step that made a change
 * registers how to undo it; if a later step fails, the undo steps run in
 * reverse order and the original error is rethrown.
 */

/** UndoStep undoes one change; it may be async. */
export type UndoStep = () => unknown;

/** RevertOptions: `onUndoError` hears about undo steps that themselves failed (log and count them). */
export interface RevertOptions {
  onUndoError?: (err: unknown) => void;
}

/**
 * Reverter collects undo steps. Call `success()` once every step worked, and
 * `fail()` in a finally block: after `success()` it does nothing; otherwise it
 * runs the steps newest first, each exactly once, and never throws (failures
 * go to `onUndoError`).
 */
export class Reverter {
  private steps: UndoStep[] = [];
  private done = false;
  constructor(private readonly opts: RevertOptions = {}) {}

  /** add registers how to undo the change just made. */
  add(step: UndoStep): void {
    this.steps.push(step);
  }

  /** success keeps every change: a later `fail()` does nothing. */
  success(): void {
    this.done = true;
    this.steps = [];
  }

  /** fail runs the undo steps newest first unless `success()` was called. */
  async fail(): Promise<void> {
    if (this.done) return;
    this.done = true;
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.opts.onUndoError?.(err);
      }
    }
  }
}

/**
 * withRevert runs `fn` with a fresh Reverter; when `fn` throws, the undo
 * steps run (newest first) and the original error is rethrown; when it
 * returns, every change is kept.
 */
export async function withRevert<T>(fn: (revert: Reverter) => Promise<T>, opts: RevertOptions = {}): Promise<T> {
  const revert = new Reverter(opts);
  try {
    const result = await fn(revert);
    revert.success();
    return result;
  } finally {
    await revert.fail();
  }
}
