/**
 * PhaseTracker follows the Instances of one namespace through a single watch
 * stream and remembers, per instance, when each phase was first seen (local
 * performance.now() at the moment the event was read) and when it was
 * deleted. Callers wait for conditions over that record without polling the
 * API.
 */
import type { Instance } from '../../lib/kinds/types.js';
import type { BenchApiClient, WatchEvent } from './api-client.js';

/** InstanceTrace is what the watch showed of one instance. */
export interface InstanceTrace {
  /** phases maps a phase to the first time it was seen */
  phases: Map<string, number>;
  /** order lists phases in the order they were first seen */
  order: string[];
  deletedAt?: number;
  member?: string;
  message?: string;
}

/** PhaseTracker: see the file comment. */
export class PhaseTracker {
  readonly traces = new Map<string, InstanceTrace>();
  private readonly waiters = new Set<() => void>();
  private handle: { close(): void } | undefined;
  events = 0;

  constructor(
    private readonly api: BenchApiClient,
    readonly namespace: string,
  ) {}

  /** collection is the namespace's instances path. */
  get collection(): string {
    return `/apis/cloudlet.dev/v1alpha1/namespaces/${this.namespace}/instances`;
  }

  /** start makes the namespace (the API refuses objects in a missing one), lists it to learn the current resourceVersion and watches from there. */
  async start(): Promise<void> {
    await this.api.must(
      'POST',
      '/api/v1/namespaces',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } },
      [201, 409],
    );
    const list = await this.api.must<{ metadata: { resourceVersion: string } }>('GET', this.collection, undefined, [200]);
    this.handle = this.api.watch(this.collection, list.metadata.resourceVersion, (ev) => this.onEvent(ev));
  }

  private onEvent(ev: WatchEvent): void {
    this.events++;
    const obj = ev.object as Instance;
    const name = obj.metadata.name;
    let t = this.traces.get(name);
    if (!t) {
      t = { phases: new Map(), order: [] };
      this.traces.set(name, t);
    }
    if (ev.type === 'DELETED') t.deletedAt = ev.at;
    const phase = obj.status?.phase;
    if (phase && !t.phases.has(phase)) {
      t.phases.set(phase, ev.at);
      t.order.push(phase);
    }
    if (obj.status?.member) t.member = obj.status.member;
    if (obj.status?.message) t.message = obj.status.message;
    for (const w of [...this.waiters]) w();
  }

  /** forget drops the traces of `names` (before they are created again). */
  forget(names: string[]): void {
    for (const n of names) this.traces.delete(n);
  }

  /** phaseAt is when `name` was first seen in `phase`, or undefined. */
  phaseAt(name: string, phase: string): number | undefined {
    return this.traces.get(name)?.phases.get(phase);
  }

  /** waitUntil resolves when `cond` holds after some event; rejects after timeoutMs with describe()'s text. */
  waitUntil(cond: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** waitRunning waits until every one of `names` has been seen Running. */
  waitRunning(names: string[], timeoutMs: number): Promise<void> {
    return this.waitUntil(
      () => names.every((n) => this.phaseAt(n, 'Running') !== undefined),
      timeoutMs,
      () => {
        const missing = names.filter((n) => this.phaseAt(n, 'Running') === undefined);
        const sample = missing
          .slice(0, 3)
          .map((n) => `${n}: ${this.traces.get(n)?.order.join('→') ?? 'no event'} (${this.traces.get(n)?.message ?? ''})`);
        return `${missing.length} of ${names.length} not Running, e.g. ${sample.join('; ')}`;
      },
    );
  }

  /** waitGone waits until every one of `names` has been seen DELETED. */
  waitGone(names: string[], timeoutMs: number): Promise<void> {
    return this.waitUntil(
      () => names.every((n) => this.traces.get(n)?.deletedAt !== undefined),
      timeoutMs,
      () => `${names.filter((n) => this.traces.get(n)?.deletedAt === undefined).length} of ${names.length} not deleted yet`,
    );
  }

  /** stop closes the watch. */
  stop(): void {
    this.handle?.close();
  }
}
