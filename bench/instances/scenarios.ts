/**
 * The timed scenarios of bench/instances against one daemon: sequential
 * instances (create request → Running seen through the watch), a burst of
 * instances applied at once, and deleting a set until the watch shows every
 * one gone. Each instance's phase timeline is kept for the breakdown.
 */
import { pool } from '../common.js';
import type { BenchApiClient } from './api-client.js';
import type { PhaseTracker } from './phase-tracker.js';

/** InstanceShape is what the benchmark's instances ask for: image busybox unless set; unprivileged unless `privileged`. */
export interface InstanceShape {
  cpu: number;
  memory: string;
  image?: string;
  privileged?: boolean;
}

/** Timeline is one instance's create→Running time and the first-seen offset (ms from the create request) of each phase. */
export interface Timeline {
  name: string;
  totalMs: number;
  createAckMs: number;
  phases: Record<string, number>;
}

/** manifest is the Instance object the benchmark creates. */
export function manifest(name: string, namespace: string, shape: InstanceShape): Record<string, unknown> {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace, labels: { bench: 'instances' } },
    spec: {
      image: shape.image ?? 'busybox',
      cpu: shape.cpu,
      memory: shape.memory,
      ...(shape.privileged ? { security: { privileged: true } } : {}),
    },
  };
}

function timelineOf(tracker: PhaseTracker, name: string, t0: number, ack: number): Timeline {
  const phases: Record<string, number> = {};
  for (const [phase, at] of tracker.traces.get(name)?.phases ?? []) phases[phase] = at - t0;
  return { name, totalMs: (tracker.phaseAt(name, 'Running') ?? NaN) - t0, createAckMs: ack - t0, phases };
}

/** createOne POSTs one instance and resolves with the time the API acknowledged it. */
async function createOne(api: BenchApiClient, tracker: PhaseTracker, name: string, shape: InstanceShape): Promise<number> {
  await api.must('POST', tracker.collection, manifest(name, tracker.namespace, shape), [201]);
  return performance.now();
}

/** sequential creates `names` one at a time, each timed from its create request to Running on the watch. */
export async function sequential(opts: {
  api: BenchApiClient;
  tracker: PhaseTracker;
  names: string[];
  shape: InstanceShape;
  timeoutMs: number;
}): Promise<Timeline[]> {
  const out: Timeline[] = [];
  opts.tracker.forget(opts.names);
  for (const name of opts.names) {
    const t0 = performance.now();
    const ack = await createOne(opts.api, opts.tracker, name, opts.shape);
    await opts.tracker.waitRunning([name], opts.timeoutMs);
    out.push(timelineOf(opts.tracker, name, t0, ack));
  }
  return out;
}

/** BurstResult: time from the first create request to all Running, and each instance's own timeline. */
export interface BurstResult {
  allRunningMs: number;
  allCreatedMs: number;
  timelines: Timeline[];
}

/** burst creates `names` with at most `concurrency` requests in flight and waits until all are Running. */
export async function burst(opts: {
  api: BenchApiClient;
  tracker: PhaseTracker;
  names: string[];
  shape: InstanceShape;
  concurrency: number;
  timeoutMs: number;
}): Promise<BurstResult> {
  opts.tracker.forget(opts.names);
  const started = new Map<string, { t0: number; ack: number }>();
  const t0 = performance.now();
  await pool(opts.names.length, opts.concurrency, async (i) => {
    const name = opts.names[i] ?? '';
    const s = performance.now();
    const ack = await createOne(opts.api, opts.tracker, name, opts.shape);
    started.set(name, { t0: s, ack });
  });
  const allCreated = performance.now();
  await opts.tracker.waitRunning(opts.names, opts.timeoutMs);
  const lastRunning = Math.max(...opts.names.map((n) => opts.tracker.phaseAt(n, 'Running') ?? NaN));
  const timelines = opts.names.map((n) => {
    const s = started.get(n) ?? { t0, ack: t0 };
    return timelineOf(opts.tracker, n, s.t0, s.ack);
  });
  return { allRunningMs: lastRunning - t0, allCreatedMs: allCreated - t0, timelines };
}

/** deleteAll deletes `names` (concurrency-bounded) and resolves with the ms until the watch showed every one gone. */
export async function deleteAll(opts: {
  api: BenchApiClient;
  tracker: PhaseTracker;
  names: string[];
  concurrency: number;
  timeoutMs: number;
}): Promise<number> {
  const t0 = performance.now();
  await pool(opts.names.length, opts.concurrency, (i) =>
    opts.api.must('DELETE', `${opts.tracker.collection}/${opts.names[i] ?? ''}`, undefined, [200, 202, 404]),
  );
  await opts.tracker.waitGone(opts.names, opts.timeoutMs);
  return performance.now() - t0;
}

/** names makes `count` instance names `prefix-000`…. */
export function names(prefix: string, count: number): string[] {
  const width = String(Math.max(0, count - 1)).length;
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`);
}

/** phaseSummary gives, per phase, the p50 of first-seen offsets over timelines (ms after the create request). */
export function phaseSummary(timelines: Timeline[], percentileOf: (xs: number[], p: number) => number, p: number): Record<string, number> {
  const byPhase = new Map<string, number[]>();
  for (const t of timelines) for (const [phase, ms] of Object.entries(t.phases)) byPhase.set(phase, [...(byPhase.get(phase) ?? []), ms]);
  const out: Record<string, number> = {
    createAck: percentileOf(
      timelines.map((t) => t.createAckMs),
      p,
    ),
  };
  for (const [phase, xs] of byPhase) out[phase] = percentileOf(xs, p);
  return out;
}
