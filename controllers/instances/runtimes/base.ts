/**
 * BaseRuntime: the shared base of runtime drivers. Every verb rejects with
 * NotSupportedError (consoleLogPath throws it) until a driver overrides it, so a driver implements only
 * what its `info` flags promise.
 */
import { NotSupportedError } from '../../../lib/errors.js';
import type { ContainerSpec, EnsureResult, ExecStdio, Limits, Observation, Runtime, RuntimeInfo, StopOptions } from './types.js';

/** BaseRuntime implements Runtime with verbs that throw NotSupportedError; drivers override what they support. */
export abstract class BaseRuntime implements Runtime {
  abstract readonly info: RuntimeInfo;

  protected unsupported(verb: string): never {
    throw new NotSupportedError(`the ${this.info.name} runtime does not support ${verb}`);
  }
  async ensureCreated(_spec: ContainerSpec): Promise<EnsureResult> {
    return this.unsupported('ensureCreated');
  }
  async start(_name: string): Promise<Observation> {
    return this.unsupported('start');
  }
  async stop(_name: string, _opts?: StopOptions): Promise<void> {
    return this.unsupported('stop');
  }
  async delete(_name: string): Promise<void> {
    return this.unsupported('delete');
  }
  async observe(_name: string): Promise<Observation> {
    return this.unsupported('observe');
  }
  async list(): Promise<string[]> {
    return this.unsupported('list');
  }
  async setLimits(_name: string, _limits: Limits): Promise<void> {
    return this.unsupported('setLimits');
  }
  async exec(_name: string, _argv: string[], _stdio?: ExecStdio): Promise<number> {
    return this.unsupported('exec');
  }
  consoleLogPath(_name: string): string {
    return this.unsupported('consoleLogPath');
  }
}
