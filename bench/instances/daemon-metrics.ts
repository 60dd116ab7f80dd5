/**
 * Reading the daemon's own Prometheus metrics (GET /metrics) to explain where
 * the time went: reconcile count, total and mean per controller, and etcd
 * round trips per operation. Differences of two scrapes isolate one phase.
 */
import type { BenchApiClient } from './api-client.js';

/** SumCount is a histogram's _sum (seconds) and _count for one label value. */
export interface SumCount {
  sum: number;
  count: number;
}

/** MetricsSnapshot holds the histograms the benchmark explains with. */
export interface MetricsSnapshot {
  reconcile: Record<string, SumCount>;
  etcd: Record<string, SumCount>;
}

function histogram(text: string, metric: string, label: string): Record<string, SumCount> {
  const out: Record<string, SumCount> = {};
  const re = new RegExp(`^${metric}_(sum|count)\\{[^}]*${label}="([^"]*)"[^}]*\\} ([0-9.e+-]+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const key = m[2] ?? '';
    const entry = (out[key] ??= { sum: 0, count: 0 });
    if (m[1] === 'sum') entry.sum += Number(m[3]);
    else entry.count += Number(m[3]);
  }
  return out;
}

/** scrapeMetrics reads reconcile durations per controller and etcd round trips per op. */
export async function scrapeMetrics(api: BenchApiClient): Promise<MetricsSnapshot> {
  const r = await api.call('GET', '/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
  return {
    reconcile: histogram(r.text, 'cloudlet_reconcile_duration_seconds', 'controller'),
    etcd: histogram(r.text, 'cloudlet_etcd_request_duration_seconds', 'op'),
  };
}

function diff(a: Record<string, SumCount>, b: Record<string, SumCount>): Record<string, SumCount> {
  const out: Record<string, SumCount> = {};
  for (const [k, v] of Object.entries(b)) {
    const before = a[k] ?? { sum: 0, count: 0 };
    const d = { sum: v.sum - before.sum, count: v.count - before.count };
    if (d.count > 0) out[k] = d;
  }
  return out;
}

/** metricsDelta is `after` minus `before`, keeping only series that moved. */
export function metricsDelta(before: MetricsSnapshot, after: MetricsSnapshot): MetricsSnapshot {
  return { reconcile: diff(before.reconcile, after.reconcile), etcd: diff(before.etcd, after.etcd) };
}

/** metricsRows renders a delta as table rows: kind, name, count, total s, mean ms. */
export function metricsRows(d: MetricsSnapshot): string[][] {
  const rows: string[][] = [];
  for (const [kind, series] of [
    ['reconcile', d.reconcile],
    ['etcd', d.etcd],
  ] as const) {
    for (const [name, v] of Object.entries(series).sort((x, y) => y[1].sum - x[1].sum)) {
      rows.push([kind, name, String(v.count), v.sum.toFixed(2), ((1000 * v.sum) / v.count).toFixed(1)]);
    }
  }
  return rows;
}
