import { expect } from 'chai';
import { FakeClock, flushPromises } from '../../../../lib/controller/clock.js';
import type { ReconcileContext, Reconciler, Request, Result } from '../../../../lib/controller/reconciler.js';
import { ControllerRunner } from '../../../../lib/controller/runner.js';
import { TerminalError } from '../../../../lib/errors.js';
import { createMetrics } from '../../../../lib/metrics/metrics.js';
import { captureLogger, counterValue, deferred } from './helpers.js';

type Step = (req: Request, ctx: ReconcileContext) => Promise<Result>;

/** ScriptedReconciler runs each call through `step` and remembers when it was called. */
class ScriptedReconciler implements Reconciler {
  calls: Array<{ key: string; at: number; ctx: ReconcileContext }> = [];
  constructor(
    private readonly clock: FakeClock,
    public step: Step,
  ) {}
  reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    this.calls.push({ key: req.namespace ? `${req.namespace}/${req.name}` : req.name, at: this.clock.now(), ctx });
    return this.step(req, ctx);
  }
}

function setup(step: Step, opts: { concurrency?: number; timeoutMs?: number; stopGraceMs?: number } = {}) {
  const clock = new FakeClock({ start: 0 });
  const metrics = createMetrics();
  const { logger, records } = captureLogger();
  const reconciler = new ScriptedReconciler(clock, step);
  const runner = new ControllerRunner({ name: 'test', reconciler, logger, metrics, clock, ...opts });
  return { clock, metrics, records, reconciler, runner };
}

describe('ControllerRunner', () => {
  it('reconciles an added key once and counts a success', async () => {
    const t = setup(async () => ({}));
    t.runner.add({ namespace: 'default', name: 'web' });
    t.runner.start();
    await t.clock.advanceAsync(1000);
    expect(t.reconciler.calls.map((c) => c.key)).to.deep.equal(['default/web']);
    expect(await counterValue(t.metrics, 'reconciles', { controller: 'test', result: 'success' })).to.equal(1);
    await t.runner.stop();
  });

  it('gives each reconcile a child logger and an identifier', async () => {
    const t = setup(async (_req, ctx) => {
      ctx.log.info('inside');
      return {};
    });
    t.runner.add({ name: 'm1' });
    t.runner.start();
    await t.clock.advanceAsync(0);
    const rec = t.records.find((r) => r.message === 'inside');
    expect(rec).to.include({ controller: 'test', key: 'm1' });
    expect(rec?.reconcileId).to.be.a('string').and.not.equal('');
    await t.runner.stop();
  });

  it('requeues after the delay a reconcile asks for, and not before', async () => {
    let n = 0;
    const t = setup(async () => (++n === 1 ? { requeueAfter: 5000 } : {}));
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(4999);
    expect(t.reconciler.calls).to.have.length(1);
    await t.clock.advanceAsync(1);
    expect(t.reconciler.calls.map((c) => c.at)).to.deep.equal([0, 5000]);
    expect(await counterValue(t.metrics, 'reconciles', { controller: 'test', result: 'requeue' })).to.equal(1);
    await t.runner.stop();
  });

  it('retries a throwing reconcile with per-key exponential backoff and logs each failure once', async () => {
    const t = setup(async () => {
      throw new Error('host busy');
    });
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(36);
    expect(t.reconciler.calls.map((c) => c.at)).to.deep.equal([0, 5, 15, 35]);
    const warns = t.records.filter((r) => r.message === 'reconcile failed');
    expect(warns).to.have.length(4);
    expect(warns[0]).to.include({ level: 'warn', error: 'host busy', retries: 1, key: 'a' });
    expect(warns[3]).to.include({ retries: 4 });
    expect(await counterValue(t.metrics, 'reconciles', { controller: 'test', result: 'error' })).to.equal(4);
    expect(await counterValue(t.metrics, 'errors', { component: 'controller/test' })).to.equal(4);
    await t.runner.stop();
  });

  it('forgets the backoff once a reconcile succeeds', async () => {
    let fail = 2;
    const t = setup(async () => {
      if (fail-- > 0) throw new Error('not yet');
      return {};
    });
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(100);
    expect(t.reconciler.calls).to.have.length(3);
    fail = 1;
    t.runner.add({ name: 'a' });
    await t.clock.advanceAsync(0);
    const failedAt = t.clock.now();
    await t.clock.advanceAsync(5);
    expect(t.reconciler.calls.at(-1)?.at).to.equal(failedAt + 5);
    await t.runner.stop();
  });

  it('does not retry a TerminalError and logs it once as an error', async () => {
    const t = setup(async () => {
      throw new TerminalError('image does not exist');
    });
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(600_000);
    expect(t.reconciler.calls).to.have.length(1);
    const errs = t.records.filter((r) => r.level === 'error');
    expect(errs).to.have.length(1);
    expect(errs[0]).to.include({ error: 'image does not exist', errorCode: 'Terminal' });
    expect(await counterValue(t.metrics, 'reconciles', { controller: 'test', result: 'terminal' })).to.equal(1);
    await t.runner.stop();
  });

  it('captures a thrown string, a rejection with undefined and a synchronous throw as errors', async () => {
    const t = setup(async () => ({}));
    let n = 0;
    t.reconciler.step = (() => {
      n++;
      if (n === 1) return Promise.reject('plain string');
      if (n === 2) return Promise.reject(undefined);
      if (n === 3) throw { weird: true };
      return Promise.resolve({});
    }) as Step;
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(100);
    expect(n).to.equal(4);
    const errors = t.records.filter((r) => r.message === 'reconcile failed').map((r) => r.error);
    expect(errors).to.deep.equal(['plain string', 'undefined', '[object Object]']);
    expect(await counterValue(t.metrics, 'reconciles', { controller: 'test', result: 'success' })).to.equal(1);
    await t.runner.stop();
  });

  it('aborts a reconcile past its timeout, counts it as an error and retries only after it settles', async () => {
    const hung = deferred<Result>();
    let n = 0;
    const t = setup(() => (++n === 1 ? hung.promise : Promise.resolve({})), { timeoutMs: 1000 });
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(999);
    expect(t.reconciler.calls[0]?.ctx.signal.aborted).to.equal(false);
    await t.clock.advanceAsync(1);
    expect(t.reconciler.calls[0]?.ctx.signal.aborted).to.equal(true);
    expect(t.records.find((r) => r.message === 'reconcile failed')?.errorCode).to.equal('Timeout');
    expect(await counterValue(t.metrics, 'reconciles', { controller: 'test', result: 'error' })).to.equal(1);
    // the backoff has long passed, but the abandoned reconcile still holds the key
    await t.clock.advanceAsync(10_000);
    expect(n).to.equal(1);
    hung.resolve({});
    await t.clock.advanceAsync(0);
    expect(n).to.equal(2);
    await t.runner.stop();
  });

  it('never reconciles the same key twice at once, even with many workers', async () => {
    const active = new Map<string, number>();
    let maxSameKey = 0;
    let maxTotal = 0;
    let total = 0;
    const t = setup(
      async (req) => {
        const k = req.name;
        active.set(k, (active.get(k) ?? 0) + 1);
        total++;
        maxSameKey = Math.max(maxSameKey, active.get(k) ?? 0);
        maxTotal = Math.max(maxTotal, total);
        await flushPromises(2);
        active.set(k, (active.get(k) ?? 1) - 1);
        total--;
        return {};
      },
      { concurrency: 4 },
    );
    t.runner.start();
    for (let round = 0; round < 5; round++) {
      for (const name of ['a', 'b', 'c', 'a', 'a', 'b']) t.runner.add({ name });
      await flushPromises(1);
    }
    await t.clock.advanceAsync(0);
    await flushPromises(20);
    expect(maxSameKey).to.equal(1);
    expect(maxTotal).to.be.greaterThan(1);
    await t.runner.stop();
  });

  it('re-runs a key added while it was being reconciled, after the running one ends', async () => {
    const gate = deferred<Result>();
    let n = 0;
    const t = setup(() => (++n === 1 ? gate.promise : Promise.resolve({})), { concurrency: 2 });
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(0);
    t.runner.add({ name: 'a' });
    await t.clock.advanceAsync(0);
    expect(n).to.equal(1);
    gate.resolve({});
    await t.clock.advanceAsync(0);
    expect(n).to.equal(2);
    await t.runner.stop();
  });

  it('waits for a running reconcile at stop, and aborts it once the grace has passed', async () => {
    const gate = deferred<Result>();
    const t = setup(() => gate.promise, { stopGraceMs: 2000 });
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(0);
    let stopped = false;
    const stopping = t.runner.stop().then(() => (stopped = true));
    await t.clock.advanceAsync(1999);
    expect(stopped).to.equal(false);
    await t.clock.advanceAsync(1);
    await stopping;
    expect(t.reconciler.calls[0]?.ctx.signal.aborted).to.equal(true);
    expect(t.records.some((r) => r.message === 'stopped with reconciles still running')).to.equal(true);
    gate.resolve({});
  });

  it('returns from stop as soon as running reconciles finish', async () => {
    const gate = deferred<Result>();
    const t = setup(() => gate.promise, { stopGraceMs: 60_000 });
    t.runner.add({ name: 'a' });
    t.runner.start();
    await t.clock.advanceAsync(0);
    const stopping = t.runner.stop();
    gate.resolve({});
    await stopping;
    expect(t.reconciler.calls[0]?.ctx.signal.aborted).to.equal(false);
    expect(t.runner.isRunning()).to.equal(false);
  });
});
