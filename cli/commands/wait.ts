/**
 * `cloudlet wait --for=CONDITION KIND/NAME [--timeout 60s]`, where CONDITION is
 * `condition=Ready` (status True), `condition=Ready=False`, `delete`, or
 * `jsonpath={.status.phase}=Running` (`jsonpath={.path}` alone waits for a
 * non-empty value). Uses a watch; exit 0 when met, 1 on timeout.
 */
import { evalJsonPath } from '../../lib/api/jsonpath.js';
import { ValidationError } from '../../lib/errors.js';
import { isJsonMap, type JsonMap } from '../../lib/json.js';
import { waitForObject, type ObjectTarget } from '../client/object-watch.js';
import { resourceRef } from '../client/resources.js';
import { formatCliError } from '../client/status.js';
import { parseDuration, type CliContext } from '../context.js';
import { parseKindArgs } from './get.js';

/** WaitCondition is a parsed --for. */
export type WaitCondition =
  | { type: 'delete' }
  | { type: 'condition'; condition: string; status: string }
  | { type: 'jsonpath'; path: string; value: string | undefined };

/** parseWaitFor reads a --for value; throws ValidationError naming the accepted forms. */
export function parseWaitFor(spec: string): WaitCondition {
  if (spec === 'delete') return { type: 'delete' };
  if (spec.startsWith('condition=')) {
    const [condition, status, ...extra] = spec.slice('condition='.length).split('=');
    if (!condition || extra.length > 0) throw new ValidationError(`--for=${spec}: use condition=NAME or condition=NAME=STATUS`);
    return { type: 'condition', condition, status: status ?? 'True' };
  }
  if (spec.startsWith('jsonpath=')) {
    let rest = spec.slice('jsonpath='.length);
    // Quotes survive when the shell did not remove them: --for=jsonpath='{.status.phase}'=Running
    rest = rest.replace(/^'(\{[^}]*\})'/, '$1');
    const m = /^(\{[^}]+\}|[^=]+)(?:=(.*))?$/.exec(rest);
    if (!m?.[1]) throw new ValidationError(`--for=${spec}: use jsonpath='{.status.phase}'=Running`);
    const value = m[2] !== undefined ? m[2].replace(/^'(.*)'$/, '$1') : undefined;
    return { type: 'jsonpath', path: m[1], value };
  }
  throw new ValidationError(
    `unrecognized condition: "${spec}" (use --for=condition=NAME[=STATUS], --for=delete or --for=jsonpath='{.path}'=VALUE)`,
  );
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** conditionMet tells whether `obj` (undefined = absent) satisfies `cond`. */
export function conditionMet(cond: WaitCondition, obj: JsonMap | undefined): boolean {
  if (cond.type === 'delete') return obj === undefined;
  if (obj === undefined) return false;
  if (cond.type === 'condition') {
    const status = isJsonMap(obj.status) ? obj.status : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isJsonMap) : [];
    const found = conditions.find((c) => typeof c.type === 'string' && c.type.toLowerCase() === cond.condition.toLowerCase());
    return found !== undefined && typeof found.status === 'string' && found.status.toLowerCase() === cond.status.toLowerCase();
  }
  const values = evalJsonPath(obj, cond.path);
  if (cond.value === undefined) return values.length > 0 && values.some((v) => v !== null && v !== '');
  return values.length > 0 && values.every((v) => text(v) === cond.value);
}

/** WaitOptions are wait's flags. */
export interface WaitOptions {
  for?: string;
  timeout?: string;
}

/** runWait implements `cloudlet wait`; returns the exit code. */
export async function runWait(ctx: CliContext, args: string[], opts: WaitOptions): Promise<number> {
  if (!opts.for)
    throw new ValidationError("--for is required: --for=condition=Ready, --for=delete or --for=jsonpath='{.status.phase}'=Running");
  const cond = parseWaitFor(opts.for);
  const timeoutMs = parseDuration(opts.timeout ?? '60s', '--timeout');
  const { kind, names } = parseKindArgs(args);
  if (names.length === 0) throw new ValidationError('wait needs KIND/NAME or KIND NAME');
  const client = await ctx.client();
  const resource = (await ctx.catalog()).resolve(kind);
  const namespace = resource.namespaced ? await ctx.namespace() : undefined;
  const deadline = Date.now() + timeoutMs;
  let exit = 0;
  for (const name of names) {
    const target: ObjectTarget = { resource, namespace, name };
    try {
      await waitForObject(client, target, { timeoutMs: Math.max(0, deadline - Date.now()), until: (obj) => conditionMet(cond, obj) });
      ctx.out(`${resourceRef(resource)}/${name} ${cond.type === 'delete' ? 'deleted' : 'condition met'}`);
    } catch (err) {
      exit = 1;
      ctx.err(formatCliError(err));
    }
  }
  return exit;
}
