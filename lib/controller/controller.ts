/**
 * Controller wires a Reconciler to informers: `watches(informer, handler)`
 * registers the handler so events become keys on the runner's queue, and
 * `start()` launches the workers once every watched informer has synced.
 */
import type { KubeObject } from '../store/types.js';
import type { EventHandler, RequestQueue } from './handlers.js';
import type { Informer } from './informer.js';
import type { Request } from './reconciler.js';
import type { ControllerRunnerOptions } from './runner.js';
import { ControllerRunner } from './runner.js';

/** ControllerOptions are the runner's options (name, reconciler, logger, metrics, clock, concurrency, timeouts, rate limiter). */
export type ControllerOptions = ControllerRunnerOptions;

interface Watched {
  informer: { waitForSync(signal?: AbortSignal): Promise<void> };
  remove: () => void;
}

/** Controller is one named reconcile loop fed by informers; see the file comment. */
export class Controller implements RequestQueue {
  readonly name: string;
  private readonly runner: ControllerRunner;
  private readonly watched: Watched[] = [];
  private readonly stopSignal = new AbortController();

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.runner = new ControllerRunner(opts);
  }

  /** watches turns `informer`'s events into keys through `handler`; returns this for chaining. */
  watches<T extends KubeObject>(informer: Informer<T>, handler: EventHandler<T>): this {
    const remove = informer.addEventHandler({
      onAdd: (obj) => handler.onAdd(obj, this),
      onUpdate: (oldObj, newObj) => handler.onUpdate(oldObj, newObj, this),
      onDelete: (obj) => handler.onDelete(obj, this),
    });
    this.watched.push({ informer, remove });
    return this;
  }

  /** add queues a reconcile of `req` (for timers and triggers outside informers). */
  add(req: Request): void {
    this.runner.add(req);
  }

  /** addAfter queues a reconcile of `req` after `ms`. */
  addAfter(req: Request, ms: number): void {
    this.runner.addAfter(req, ms);
  }

  /**
   * start waits until every watched informer has synced, then starts the
   * workers. Informers must be started by their factory; start resolves
   * without starting workers if stop() comes first.
   */
  async start(): Promise<void> {
    await Promise.all(this.watched.map((w) => w.informer.waitForSync(this.stopSignal.signal)));
    if (this.stopSignal.signal.aborted) return;
    this.runner.start();
  }

  /** stop removes the handlers and stops the runner (waiting for running reconciles up to its grace). */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    for (const w of this.watched.splice(0)) w.remove();
    await this.runner.stop();
  }

  /** queueLength is the number of keys waiting. */
  queueLength(): number {
    return this.runner.queueLength();
  }
}
