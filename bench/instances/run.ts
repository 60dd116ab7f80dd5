/**
 * bench/instances: the instance control plane against raw LXC, in one run (issues 3 and 11).
 *
 *   1. raw peer: N busybox containers made and started with the lxc tools
 *      the way the LXC runtime does it (raw-lxc.ts), one at a time, timed each,
 *      N unprivileged (the same id map and idmapped rootfs) and N privileged, interleaved;
 *   2. Cloudlet: N unprivileged and N privileged busybox instances on a real
 *      `cloudlet up` (LXC runtime), interleaved one at a time (isolation.ts), each
 *      from its create request (HTTPS, kubeconfig token) to Running seen through
 *      one watch stream; p50/p99, ratio and overhead (Cloudlet minus raw of the
 *      same kind) per instance; then deleted until the watch shows them gone;
 *   3. a burst of B instances applied at once (concurrency C) until all Running;
 *   3b. root filesystem preparation (--debian D, default 5; 0 skips): D
 *      unprivileged and D privileged debian/bookworm instances, interleaved, on
 *      the same daemon; the image is debootstrapped once into --image-cache
 *      (default /var/tmp/cloudlet-bench-images) and hard-linked into the data dir;
 *   4. hollow runtime (hollow.ts): 1,000 instances to all Running, then idle
 *      CPU and RSS of the daemon holding 10,000 objects. By default the 9,000
 *      objects beyond the 1,000 instances are core v1 Events (--fill events):
 *      9,000 more instances take the control plane tens of minutes today,
 *      because several leader controllers clone every cached instance on
 *      every instance change (O(n²); see the report). --fill instances tries it.
 * One untimed warm-up container/instance on each side first (the image
 * build and cold caches are not what is measured). Prints tables, writes
 * bench/results/instances.json, and removes every container, daemon and
 * temporary directory it made, also on failure or Ctrl-C.
 *
 * Usage: node dist/bench/instances/run.js [--n 20] [--burst 100] [--concurrency 20]
 *   [--hollow 1000] [--objects 10000] [--fill instances|events] [--idle-seconds 30]
 *   [--debian 5] [--image-cache DIR] [--skip-lxc] [--skip-hollow] [--cpu-prof DIR]
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../lib/kinds/registry.js';
import { percentile, printTable, ratio } from '../common.js';
import { BenchDaemon } from './bench-daemon.js';
import { runHollow, type FillKind, type HollowResult } from './hollow.js';
import { metricsDelta, metricsRows, scrapeMetrics, type MetricsSnapshot } from './daemon-metrics.js';
import { allNames, DEBIAN_IMAGE, debianCache, interleaved, rawPair, SHARED_MAP, type DebianCache, type Kind } from './isolation.js';
import { PhaseTracker } from './phase-tracker.js';
import { RawLxcPeer, type RawTiming } from './raw-lxc.js';
import { burst, deleteAll, names, phaseSummary, sequential, type BurstResult, type InstanceShape, type Timeline } from './scenarios.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i] ?? '';
  const v = process.argv[i + 1];
  if (v !== undefined && !v.startsWith('--')) {
    args.set(a, v);
    i++;
  } else args.set(a, 'true');
}
const N = Number(args.get('--n') ?? 20);
const BURST = Number(args.get('--burst') ?? 100);
const CONCURRENCY = Number(args.get('--concurrency') ?? 20);
const HOLLOW = Number(args.get('--hollow') ?? 1000);
const OBJECTS = Number(args.get('--objects') ?? 10000);
const FILL = (args.get('--fill') ?? 'events') as FillKind;
const IDLE_SECONDS = Number(args.get('--idle-seconds') ?? 30);
const CPU_PROF = args.get('--cpu-prof');
const DEBIAN = Number(args.get('--debian') ?? 5);
const IMAGE_CACHE = args.get('--image-cache') ?? '/var/tmp/cloudlet-bench-images';
const DEBIAN_SHAPE: InstanceShape = { cpu: 0.5, memory: '256Mi', image: DEBIAN_IMAGE };
const SHAPE: InstanceShape = { cpu: 0.1, memory: '32Mi' };
const LIMITS = { cpu: 0.1, memoryBytes: 32 * 1024 * 1024 };

const cleanups: Array<() => Promise<void>> = [];
const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

async function cleanupAll(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => console.error('cleanup failed:', err));
}

function checkHost(): void {
  if (process.getuid?.() !== 0) throw new Error('bench/instances needs root (privileged LXC containers)');
  for (const tool of ['/usr/bin/lxc-start', '/usr/bin/lxc-wait', '/usr/bin/lxc-stop', '/bin/busybox']) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install lxc busybox-static`);
  }
}

async function rawPeer(): Promise<Record<Kind, RawTiming[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'cl-bench-raw-'));
  await chmod(dir, 0o711); // the mapped root must search every directory down to its rootfs
  const peer = new RawLxcPeer(dir);
  cleanups.push(async () => {
    await peer.destroyAll();
    await rm(dir, { recursive: true, force: true });
  });
  await peer.prepare(SHARED_MAP.hostId);
  const out = await rawPair(peer, N, LIMITS);
  log(`raw: ${N} unprivileged + ${N} privileged containers started; destroying them`);
  await peer.destroyAll();
  return out;
}

interface LxcCloudlet {
  sequential: Record<Kind, Timeline[]>;
  debian?: Record<Kind, Timeline[]>;
  sequentialMetrics: MetricsSnapshot;
  sequentialDeleteMs: number;
  burst: BurstResult;
  burstDeleteMs: number;
}

async function cloudletLxc(debian: DebianCache | undefined): Promise<LxcCloudlet> {
  const seedImages = debian ? [debian.imageDir] : [];
  const daemon = await BenchDaemon.start({ runtime: 'lxc', label: 'lxc', cpuProfDir: CPU_PROF, seedImages });
  cleanups.push(() => daemon.stop());
  const api = daemon.api;
  if (!api) throw new Error('no API client');
  const tracker = new PhaseTracker(api, 'bench');
  await tracker.start();
  cleanups.push(async () => tracker.stop());
  // Warm-up: builds the busybox image into the daemon's cache; not timed.
  await sequential({ api, tracker, names: ['warmup'], shape: SHAPE, timeoutMs: 120_000 });
  await deleteAll({ api, tracker, names: ['warmup'], concurrency: 1, timeoutMs: 60_000 });
  await sequential({ api, tracker, names: ['warmup-p'], shape: { ...SHAPE, privileged: true }, timeoutMs: 120_000 });
  await deleteAll({ api, tracker, names: ['warmup-p'], concurrency: 1, timeoutMs: 60_000 });
  log('cloudlet: warm-up instances done; timing sequential instances, unprivileged and privileged interleaved');
  const seqNames = allNames('seq', N);
  const m0 = await scrapeMetrics(api);
  const seq = await interleaved({ api, tracker, prefix: 'seq', n: N, shape: SHAPE, timeoutMs: 60_000 });
  const sequentialMetrics = metricsDelta(m0, await scrapeMetrics(api));
  const seqDel = await deleteAll({ api, tracker, names: seqNames, concurrency: CONCURRENCY, timeoutMs: 120_000 });
  log(`cloudlet: ${N} sequential instances done; burst of ${BURST}`);
  const burstNames = names('burst', BURST);
  const b = await burst({ api, tracker, names: burstNames, shape: SHAPE, concurrency: CONCURRENCY, timeoutMs: 10 * 60_000 });
  log(`cloudlet: burst all Running after ${(b.allRunningMs / 1000).toFixed(2)} s; deleting`);
  const bDel = await deleteAll({ api, tracker, names: burstNames, concurrency: CONCURRENCY, timeoutMs: 10 * 60_000 });
  let deb: Record<Kind, Timeline[]> | undefined;
  if (debian) {
    log(`cloudlet: ${DEBIAN} unprivileged + ${DEBIAN} privileged ${DEBIAN_IMAGE} instances, interleaved (one warm-up first)`);
    await sequential({ api, tracker, names: ['warmup-deb'], shape: DEBIAN_SHAPE, timeoutMs: 300_000 });
    await deleteAll({ api, tracker, names: ['warmup-deb'], concurrency: 1, timeoutMs: 300_000 });
    // 5 s after each: systemd's boot of the last one is not what the next one is timed against.
    deb = await interleaved({ api, tracker, prefix: 'deb', n: DEBIAN, shape: DEBIAN_SHAPE, timeoutMs: 300_000, settleMs: 5_000 });
    await deleteAll({ api, tracker, names: allNames('deb', DEBIAN), concurrency: 4, timeoutMs: 10 * 60_000 });
  }
  tracker.stop();
  return { sequential: seq, ...(deb ? { debian: deb } : {}), sequentialMetrics, sequentialDeleteMs: seqDel, burst: b, burstDeleteMs: bDel };
}

/** burstCells are a burst's table cells: instances, concurrency, and the seconds until all were created and all Running. */
function burstCells(instances: number, b: BurstResult): string[] {
  return [String(instances), String(CONCURRENCY), (b.allCreatedMs / 1000).toFixed(2), (b.allRunningMs / 1000).toFixed(2)];
}

/** burstSummary is a burst's result entry: wall times, per-instance stats and the median phase times. */
function burstSummary(b: BurstResult, perInstance: ReturnType<typeof stats>): Record<string, unknown> {
  return {
    allCreatedMs: b.allCreatedMs,
    allRunningMs: b.allRunningMs,
    perInstance,
    phasesP50: phaseSummary(b.timelines, percentile, 50),
  };
}

function stats(xs: number[]): { p50: number; p99: number; mean: number; min: number; max: number } {
  return {
    p50: percentile(xs, 50),
    p99: percentile(xs, 99),
    mean: xs.reduce((a, b) => a + b, 0) / (xs.length || 1),
    min: Math.min(...xs),
    max: Math.max(...xs),
  };
}

async function main(): Promise<void> {
  checkHost();
  const result: Record<string, unknown> = {
    when: new Date().toISOString(),
    n: N,
    burstSize: BURST,
    concurrency: CONCURRENCY,
    shape: SHAPE,
  };
  const goals: Record<string, { value: number; goal: number; unit: string; met: boolean }> = {};
  if (!args.has('--skip-lxc')) {
    const debian = DEBIAN > 0 ? await debianCache(IMAGE_CACHE, log) : undefined;
    if (debian) log(`${DEBIAN_IMAGE} cached in ${debian.imageDir}: ${(debian.bytes / 2 ** 20).toFixed(0)} MiB, ${debian.files} files`);
    log(`raw peer: ${N} unprivileged + ${N} privileged busybox containers with the lxc tools`);
    const raw = await rawPeer();
    const cl = await cloudletLxc(debian);
    const rawS = stats(raw.u.map((r) => r.totalMs));
    const rawP = stats(raw.p.map((r) => r.totalMs));
    const clS = stats(cl.sequential.u.map((t) => t.totalMs));
    const clP = stats(cl.sequential.p.map((t) => t.totalMs));
    const over = { p50: clS.p50 - rawS.p50, p99: clS.p99 - rawS.p99 };
    const overP = { p50: clP.p50 - rawP.p50, p99: clP.p99 - rawP.p99 };
    const row = (label: string, x: ReturnType<typeof stats>): string[] => [label, f1(x.p50), f1(x.p99), f1(x.mean), f1(x.min), f1(x.max)];
    printTable(
      [`create → running (ms), ${N} each, interleaved`, 'p50', 'p99', 'mean', 'min', 'max'],
      [
        row('raw lxc tools, unprivileged (same map)', rawS),
        row('raw lxc tools, privileged', rawP),
        row('Cloudlet unprivileged (API → watch Running)', clS),
        row('Cloudlet privileged', clP),
        [
          'ratio Cloudlet/raw, unprivileged',
          ratio(clS.p50, rawS.p50).toFixed(2),
          ratio(clS.p99, rawS.p99).toFixed(2),
          ratio(clS.mean, rawS.mean).toFixed(2),
          '',
          '',
        ],
        ['overhead unprivileged − raw (goal p99 ≤ 100)', f1(over.p50), f1(over.p99), f1(clS.mean - rawS.mean), '', ''],
        ['overhead privileged − raw privileged', f1(overP.p50), f1(overP.p99), f1(clP.mean - rawP.mean), '', ''],
        ['Cloudlet unprivileged − privileged', f1(clS.p50 - clP.p50), f1(clS.p99 - clP.p99), f1(clS.mean - clP.mean), '', ''],
        ['raw unprivileged − privileged', f1(rawS.p50 - rawP.p50), f1(rawS.p99 - rawP.p99), f1(rawS.mean - rawP.mean), '', ''],
      ],
    );
    const partsOf = (xs: RawTiming[]): Record<string, number> => ({
      rootfs: stats(xs.map((r) => r.rootfsMs)).p50,
      define: stats(xs.map((r) => r.defineMs)).p50,
      start: stats(xs.map((r) => r.startMs)).p50,
    });
    const rawParts = { u: partsOf(raw.u), p: partsOf(raw.p) };
    printTable(
      ['raw parts p50 (ms)', 'rootfs copy', 'config', 'lxc-start+wait'],
      (['u', 'p'] as const).map((k) => [
        k === 'u' ? 'unprivileged' : 'privileged',
        f1(rawParts[k].rootfs ?? NaN),
        f1(rawParts[k].define ?? NaN),
        f1(rawParts[k].start ?? NaN),
      ]),
    );
    const seqPhases = phaseSummary(cl.sequential.u, percentile, 50);
    const seqPhasesP = phaseSummary(cl.sequential.p, percentile, 50);
    printTable(
      ['Cloudlet phase first seen, p50 ms after create', ...Object.keys(seqPhases)],
      [
        ['unprivileged', ...Object.values(seqPhases).map(f1)],
        ['privileged', ...Object.keys(seqPhases).map((k) => f1(seqPhasesP[k] ?? NaN))],
      ],
    );
    if (cl.debian && debian) {
      const d = cl.debian;
      const startingOf = (ts: Timeline[]): ReturnType<typeof stats> => stats(ts.map((t) => t.phases.Starting ?? NaN));
      const dS = { u: startingOf(d.u), p: startingOf(d.p) };
      const dR = { u: stats(d.u.map((t) => t.totalMs)), p: stats(d.p.map((t) => t.totalMs)) };
      const mib = (debian.bytes / 2 ** 20).toFixed(0);
      const ratioRow = (label: string, x: typeof dS): string[] => [
        label,
        ...(['p50', 'p99', 'mean'] as const).map((k) => ratio(x.u[k], x.p[k]).toFixed(2)),
        '',
        '',
      ];
      printTable(
        [`${DEBIAN_IMAGE} rootfs (${mib} MiB, ${debian.files} files), ${DEBIAN} each (ms)`, 'p50', 'p99', 'mean', 'min', 'max'],
        [
          row('create → Starting (rootfs ready), unprivileged', dS.u),
          row('create → Starting (rootfs ready), privileged', dS.p),
          ratioRow('ratio unprivileged/privileged (goal ≤ 1.2)', dS),
          row('create → Running, unprivileged', dR.u),
          row('create → Running, privileged', dR.p),
          ratioRow('ratio unprivileged/privileged', dR),
        ],
      );
      goals.debianRootfsRatio = { value: ratio(dS.u.p50, dS.p.p50), goal: 1.2, unit: '×', met: ratio(dS.u.p50, dS.p.p50) <= 1.2 };
      result.debian = {
        image: DEBIAN_IMAGE,
        rootfsBytes: debian.bytes,
        rootfsFiles: debian.files,
        n: DEBIAN,
        startingMs: dS,
        runningMs: dR,
        ratioStartingP50: ratio(dS.u.p50, dS.p.p50),
        ratioRunningP50: ratio(dR.u.p50, dR.p.p50),
        timelines: d,
      };
    }
    const bS = stats(cl.burst.timelines.map((t) => t.totalMs));
    printTable(
      ['burst', 'instances', 'conc', 'all created s', 'all Running s', 'per-instance p50 ms', 'p99 ms', 'delete all s'],
      [['LXC', ...burstCells(BURST, cl.burst), f1(bS.p50), f1(bS.p99), (cl.burstDeleteMs / 1000).toFixed(2)]],
    );
    printTable(['daemon metrics over the sequential instances', 'name', 'count', 'total s', 'mean ms'], metricsRows(cl.sequentialMetrics));
    goals.overheadP99 = { value: over.p99, goal: 100, unit: 'ms', met: over.p99 <= 100 };
    goals.unprivilegedVsPrivilegedP99 = { value: clS.p99 - clP.p99, goal: 100, unit: 'ms', met: clS.p99 - clP.p99 <= 100 };
    result.raw = { stats: rawS, statsPrivileged: rawP, parts: rawParts, timings: raw };
    result.cloudlet = {
      stats: clS,
      ratio: { p50: ratio(clS.p50, rawS.p50), p99: ratio(clS.p99, rawS.p99) },
      overhead: over,
      phasesP50: seqPhases,
      phasesP99: phaseSummary(cl.sequential.u, percentile, 99),
      timelines: cl.sequential.u,
      metrics: cl.sequentialMetrics,
      deleteAllMs: cl.sequentialDeleteMs,
    };
    result.cloudletPrivileged = {
      stats: clP,
      overhead: overP,
      phasesP50: seqPhasesP,
      timelines: cl.sequential.p,
      unprivilegedMinusPrivileged: { p50: clS.p50 - clP.p50, p99: clS.p99 - clP.p99 },
    };
    result.burst = { ...burstSummary(cl.burst, bS), deleteAllMs: cl.burstDeleteMs };
    await cleanupAll();
  }
  if (!args.has('--skip-hollow')) {
    const h: HollowResult = await runHollow({
      instances: HOLLOW,
      totalObjects: OBJECTS,
      fill: FILL,
      concurrency: CONCURRENCY,
      idleSeconds: IDLE_SECONDS,
      settleSeconds: 10,
      cpuProfDir: CPU_PROF,
      log,
      onDaemon: (d) => cleanups.push(() => d.stop()),
    });
    const hS = stats(h.burst.timelines.map((t) => t.totalMs));
    printTable(
      ['hollow', 'instances', 'conc', 'all created s', 'all Running s', 'goal', 'per-instance p50 ms', 'p99 ms'],
      [['hollow runtime', ...burstCells(HOLLOW, h.burst), '≤ 10 s', f1(hS.p50), f1(hS.p99)]],
    );
    printTable(
      ['idle daemon', 'objects', 'fill', 'window s', 'CPU % of one core', 'goal', 'daemon RSS MB', 'etcd CPU %', 'etcd RSS MB'],
      [
        [
          'hollow',
          String(h.totalObjects),
          `${h.fill.created} ${h.fill.kind} in ${h.fill.seconds.toFixed(0)} s`,
          h.idle.seconds.toFixed(1),
          h.idle.percentOfCore.toFixed(2),
          '≤ 5 %',
          f1(h.rssMb),
          f1(h.idle.etcdPercentOfCore ?? NaN),
          f1(h.etcdRssMb ?? NaN),
        ],
      ],
    );
    printTable(
      ['CPU during the hollow burst', 'daemon s', 'daemon % of one core', 'etcd s', 'etcd % of one core'],
      [
        [
          '',
          h.burstCpu.daemonSeconds.toFixed(1),
          ((100 * h.burstCpu.daemonSeconds * 1000) / h.burst.allRunningMs).toFixed(0),
          h.burstCpu.etcdSeconds.toFixed(1),
          ((100 * h.burstCpu.etcdSeconds * 1000) / h.burst.allRunningMs).toFixed(0),
        ],
      ],
    );
    printTable(['daemon metrics over the hollow burst', 'name', 'count', 'total s', 'mean ms'], metricsRows(h.burstMetrics));
    goals.hollow1000 = { value: h.burst.allRunningMs / 1000, goal: 10, unit: 's', met: h.burst.allRunningMs <= 10_000 };
    goals.idleCpu = { value: h.idle.percentOfCore, goal: 5, unit: '% of one core', met: h.idle.percentOfCore <= 5 };
    result.hollow = {
      instances: HOLLOW,
      ...burstSummary(h.burst, hS),
      metrics: h.burstMetrics,
      burstCpu: h.burstCpu,
      fill: h.fill,
      totalObjects: h.totalObjects,
      idle: h.idle,
      rssMb: h.rssMb,
      etcdRssMb: h.etcdRssMb,
    };
  }
  result.goals = goals;
  printTable(
    ['goal', 'value', 'goal', 'met'],
    Object.entries(goals).map(([k, g]) => [k, `${g.value.toFixed(2)} ${g.unit}`, `≤ ${g.goal} ${g.unit}`, g.met ? 'met' : 'NOT met']),
  );
  const out = join(projectRoot(), 'bench/results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'instances.json'), `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${join(out, 'instances.json')}`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main()
  .then(cleanupAll)
  .then(
    () => process.exit(0),
    async (err: unknown) => {
      console.error(err);
      await cleanupAll();
      process.exit(1);
    },
  );
