/**
 * The explicit registry of runtime drivers. Start-up code picks one by name
 * from configuration; nothing registers itself at import time. `lxc` is the
 * default; `hollow` is for scale benchmarks only and must be asked for.
 */
import type { HostRunner } from '../../../lib/host/exec.js';
import { HollowRuntime } from './hollow.js';
import { LxcRuntime } from './lxc.js';
import { containerNamePrefix } from './naming.js';
import type { Runtime } from './types.js';

/** RuntimeName names a registered runtime driver. */
export type RuntimeName = 'lxc' | 'hollow';

/** RuntimeFactoryOptions is what every factory receives. */
export interface RuntimeFactoryOptions {
  dataDir: string;
  runner?: HostRunner;
}

/** runtimes maps each runtime name to its factory. */
export const runtimes: Record<RuntimeName, (opts: RuntimeFactoryOptions) => Runtime> = {
  lxc: (opts) => new LxcRuntime({ dataDir: opts.dataDir, runner: opts.runner }),
  hollow: (opts) => new HollowRuntime({ prefix: containerNamePrefix(opts.dataDir) }),
};

/** DEFAULT_RUNTIME is the runtime a daemon uses unless configured otherwise. */
export const DEFAULT_RUNTIME: RuntimeName = 'lxc';

/** isRuntimeName tells whether `name` names a registered runtime. */
export function isRuntimeName(name: string): name is RuntimeName {
  return Object.hasOwn(runtimes, name);
}
