/**
 * HollowRuntime — FOR SCALE BENCHMARKS ONLY. It simulates containers in
 * memory: nothing is created on the host, nothing runs, no rootfs is needed.
 * It lets a benchmark drive a thousand instances through the real store,
 * scheduler and reconcilers on one small machine. It is never a default:
 * a daemon uses it only when explicitly configured with `runtime: hollow`.
 */
import { NotFoundError, UnavailableError, ValidationError } from '../../../lib/errors.js';
import { deepEqual } from '../../../lib/json.js';
import { BaseRuntime } from './base.js';
import type { ContainerSpec, EnsureResult, ExecStdio, Limits, Observation, RuntimeInfo, StopOptions } from './types.js';

/** HollowRuntimeOptions: tiny simulated delays (ms) per verb, default 0; `prefix` filters `list`. */
export interface HollowRuntimeOptions {
  prefix?: string;
  delays?: { create?: number; start?: number; stop?: number; delete?: number };
  /** now is the clock used for simulated start times (tests inject one) */
  now?: () => Date;
}

interface HollowContainer {
  spec: ContainerSpec;
  running: boolean;
  pid?: number;
  startedAt?: string;
}

/** HollowRuntime simulates containers in memory; benchmark-only (see the file comment). */
export class HollowRuntime extends BaseRuntime {
  readonly info: RuntimeInfo = { name: 'hollow', liveResize: true, console: false, exec: true, simulated: true };
  private readonly containers = new Map<string, HollowContainer>();
  private nextPid = 100000;
  private readonly now: () => Date;

  constructor(private readonly opts: HollowRuntimeOptions = {}) {
    super();
    this.now = opts.now ?? (() => new Date());
  }

  private async delay(ms: number | undefined): Promise<void> {
    if (ms && ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  private get(name: string): HollowContainer {
    const c = this.containers.get(name);
    if (!c) throw new NotFoundError(`hollow container ${name} does not exist`);
    return c;
  }

  /** ensureCreated records the spec; an existing container keeps its running state. */
  override async ensureCreated(spec: ContainerSpec): Promise<EnsureResult> {
    if (this.opts.prefix && !spec.containerName.startsWith(this.opts.prefix)) {
      throw new ValidationError(`container name "${spec.containerName}" does not carry prefix ${this.opts.prefix}`);
    }
    await this.delay(this.opts.delays?.create);
    const old = this.containers.get(spec.containerName);
    if (old) {
      const changed = !deepEqual(old.spec, spec);
      old.spec = { ...spec };
      return { created: false, configChanged: changed };
    }
    this.containers.set(spec.containerName, { spec: { ...spec }, running: false });
    return { created: true, configChanged: false };
  }

  /** start marks the container running with a fresh simulated pid and resolves with its observation; running already is success. */
  override async start(name: string): Promise<Observation> {
    const c = this.get(name);
    if (!c.running) {
      await this.delay(this.opts.delays?.start);
      c.running = true;
      c.pid = this.nextPid++;
      c.startedAt = this.now().toISOString();
    }
    return this.observe(name);
  }

  /** stop marks the container stopped; stopped or absent is success. */
  override async stop(name: string, _opts?: StopOptions): Promise<void> {
    const c = this.containers.get(name);
    if (!c || !c.running) return;
    await this.delay(this.opts.delays?.stop);
    c.running = false;
    delete c.pid;
    delete c.startedAt;
  }

  /** delete forgets the container; absent is success. */
  override async delete(name: string): Promise<void> {
    if (!this.containers.has(name)) return;
    await this.delay(this.opts.delays?.delete);
    this.containers.delete(name);
  }

  /** observe reports the simulated state. */
  override async observe(name: string): Promise<Observation> {
    const c = this.containers.get(name);
    if (!c) return { exists: false, state: 'STOPPED' };
    if (!c.running) return { exists: true, state: 'STOPPED' };
    const obs: Observation = { exists: true, state: 'RUNNING' };
    if (c.pid !== undefined) obs.pid = c.pid;
    if (c.startedAt !== undefined) obs.initStartedAt = c.startedAt;
    return obs;
  }

  /** list names the simulated containers (with the prefix, when one is set). */
  override async list(): Promise<string[]> {
    return [...this.containers.keys()].filter((n) => !this.opts.prefix || n.startsWith(this.opts.prefix)).sort();
  }

  /** setLimits records the limits. */
  override async setLimits(name: string, limits: Limits): Promise<void> {
    const c = this.get(name);
    c.spec = { ...c.spec, cpu: limits.cpu, memoryBytes: limits.memoryBytes };
  }

  /** exec pretends every command succeeds (exit 0) in a running container, writing nothing. */
  override async exec(name: string, _argv: string[], _stdio?: ExecStdio): Promise<number> {
    if (!this.get(name).running) throw new UnavailableError(`hollow container ${name} is not running`);
    return 0;
  }

  /** simulateCrash stops a running container as if its init died (for tests of crash handling). */
  simulateCrash(name: string): void {
    const c = this.get(name);
    c.running = false;
    delete c.pid;
    delete c.startedAt;
  }

  /** specOf returns the recorded spec (tests and benchmarks). */
  specOf(name: string): ContainerSpec | undefined {
    const c = this.containers.get(name);
    return c ? { ...c.spec } : undefined;
  }
}
