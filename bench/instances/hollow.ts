/**
 * The hollow-runtime part of bench/instances: a separate daemon started with
 * `--runtime hollow` (simulated containers, real store, scheduler and
 * reconcilers); 1,000 instances from the first create request until the watch
 * shows all Running; then the daemon is filled to a total object count and
 * its idle CPU is sampled from /proc/PID/stat over a window, with its RSS.
 */
import { pool, sleepMs } from '../common.js';
import { BenchDaemon, cpuSeconds, etcdPidOf, rssMb } from './bench-daemon.js';
import { metricsDelta, scrapeMetrics, type MetricsSnapshot } from './daemon-metrics.js';
import { PhaseTracker } from './phase-tracker.js';
import { burst, names, type BurstResult, type InstanceShape } from './scenarios.js';

/** FillKind: what the objects beyond the measured instances are — more hollow instances, or core v1 Events. */
export type FillKind = 'instances' | 'events';

/** HollowOptions configure the hollow run. */
export interface HollowOptions {
  instances: number;
  totalObjects: number;
  fill: FillKind;
  concurrency: number;
  idleSeconds: number;
  settleSeconds: number;
  cpuProfDir?: string;
  log: (line: string) => void;
  /** onDaemon hears the daemon as soon as it runs (so a Ctrl-C handler can stop it) */
  onDaemon?: (d: BenchDaemon) => void;
}

/** HollowResult is what the hollow run measured. */
export interface HollowResult {
  burst: BurstResult;
  /** burstMetrics: the daemon's reconcile and etcd histograms over the burst */
  burstMetrics: MetricsSnapshot;
  /** burstCpu: CPU seconds the daemon and its etcd used from the first create to all Running */
  burstCpu: { daemonSeconds: number; etcdSeconds: number };
  fill: { kind: FillKind; created: number; seconds: number; allRunningSeconds?: number };
  totalObjects: number;
  idle: { seconds: number; cpuSeconds: number; percentOfCore: number; etcdPercentOfCore?: number };
  rssMb: number;
  etcdRssMb?: number;
}

/** HOLLOW_SHAPE: small enough that 10,000 fit the member (CPU is overcommitted 8×, memory is not). */
export const HOLLOW_SHAPE: InstanceShape = { cpu: 0.001, memory: '1Mi' };

/** runHollow runs the hollow part on its own daemon and stops it (and its data dir) afterwards, also on failure. */
export async function runHollow(opts: HollowOptions): Promise<HollowResult> {
  const daemon = await BenchDaemon.start({ runtime: 'hollow', label: 'hollow', cpuProfDir: opts.cpuProfDir });
  opts.onDaemon?.(daemon);
  try {
    const api = daemon.api;
    if (!api) throw new Error('no API client');
    const tracker = new PhaseTracker(api, 'bench-hollow');
    await tracker.start();
    opts.log(`hollow: ${opts.instances} instances, concurrency ${opts.concurrency}`);
    const m0 = await scrapeMetrics(api);
    const cpu0 = cpuSeconds(daemon.pid);
    const etcdPid0 = etcdPidOf(daemon.dataDir);
    const ecpu0 = etcdPid0 ? cpuSeconds(etcdPid0) : NaN;
    const b = await burst({
      api,
      tracker,
      names: names('h', opts.instances),
      shape: HOLLOW_SHAPE,
      concurrency: opts.concurrency,
      timeoutMs: 10 * 60_000,
    });
    const burstMetrics = metricsDelta(m0, await scrapeMetrics(api));
    const burstCpu = { daemonSeconds: cpuSeconds(daemon.pid) - cpu0, etcdSeconds: etcdPid0 ? cpuSeconds(etcdPid0) - ecpu0 : NaN };
    opts.log(`hollow: all ${opts.instances} Running after ${(b.allRunningMs / 1000).toFixed(2)} s`);
    const extra = Math.max(0, opts.totalObjects - opts.instances);
    const fillStart = performance.now();
    let allRunningSeconds: number | undefined;
    if (opts.fill === 'instances') {
      const more = names('f', extra);
      await pool(extra, opts.concurrency, (i) =>
        api.must(
          'POST',
          tracker.collection,
          {
            apiVersion: 'cloudlet.dev/v1alpha1',
            kind: 'Instance',
            metadata: { name: more[i], namespace: tracker.namespace },
            spec: { image: 'busybox', ...HOLLOW_SHAPE },
          },
          [201],
        ),
      );
      opts.log(`hollow: ${extra} more instances created in ${((performance.now() - fillStart) / 1000).toFixed(1)} s; waiting for Running`);
      await tracker.waitRunning(more, 30 * 60_000);
      allRunningSeconds = (performance.now() - fillStart) / 1000;
    } else {
      await pool(extra, opts.concurrency, (i) => api.must('POST', '/api/v1/namespaces/bench-fill/events', fillEvent(i), [201]));
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    opts.log(
      `hollow: ${opts.totalObjects} objects after ${fillSeconds.toFixed(1)} s of filling; settling ${opts.settleSeconds} s, then sampling CPU for ${opts.idleSeconds} s`,
    );
    tracker.stop();
    await sleepMs(opts.settleSeconds * 1000);
    const etcdPid = etcdPidOf(daemon.dataDir);
    const c0 = cpuSeconds(daemon.pid);
    const e0 = etcdPid ? cpuSeconds(etcdPid) : NaN;
    const w0 = performance.now();
    await sleepMs(opts.idleSeconds * 1000);
    const wall = (performance.now() - w0) / 1000;
    const used = cpuSeconds(daemon.pid) - c0;
    const etcdUsed = etcdPid ? cpuSeconds(etcdPid) - e0 : NaN;
    return {
      burst: b,
      burstMetrics,
      burstCpu,
      fill: { kind: opts.fill, created: extra, seconds: fillSeconds, ...(allRunningSeconds !== undefined ? { allRunningSeconds } : {}) },
      totalObjects: opts.totalObjects,
      idle: {
        seconds: wall,
        cpuSeconds: used,
        percentOfCore: (100 * used) / wall,
        ...(etcdPid ? { etcdPercentOfCore: (100 * etcdUsed) / wall } : {}),
      },
      rssMb: rssMb(daemon.pid),
      ...(etcdPid ? { etcdRssMb: rssMb(etcdPid) } : {}),
    };
  } finally {
    await daemon.stop();
  }
}

function fillEvent(i: number): Record<string, unknown> {
  const name = `fill-${String(i).padStart(5, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'bench-fill' },
    involvedObject: { apiVersion: 'cloudlet.dev/v1alpha1', kind: 'Instance', namespace: 'bench-hollow', name: `h-${i % 1000}` },
    reason: 'BenchFill',
    message: 'an object that fills the store for the idle measurement',
    type: 'Normal',
    count: 1,
  };
}
