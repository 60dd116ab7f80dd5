/**
 * kubectl's JSONPath: evaluating the paths and templates jsonpath-parse.ts
 * reads. `executeJsonPath` prints a template as `kubectl get -o jsonpath`
 * does: strings as they are, numbers and booleans as text, null as `null`,
 * maps and lists as compact JSON with sorted keys, the values of one action
 * separated by spaces, no newline added. `evalJsonPath` gives the values of
 * a single path for printer columns and `wait`.
 */
import { BadRequestError } from '../errors.js';
import { deepEqual, isJsonMap } from '../json.js';
import {
  parseRelaxedPaths,
  parseTemplate,
  type Filter,
  type Literal,
  type Operand,
  type PathExpr,
  type Segment,
  type TemplateNode,
} from './jsonpath-parse.js';

interface EvalContext {
  root: unknown;
  /** a field or index that selects nothing is an error unless this is set */
  allowMissing: boolean;
  template: string;
}

function sortedValues(m: Record<string, unknown>): unknown[] {
  return Object.keys(m)
    .sort()
    .map((k) => m[k]);
}

function field(v: unknown, name: string): unknown[] {
  return isJsonMap(v) && Object.hasOwn(v, name) ? [v[name]] : [];
}

function index(v: unknown, i: number): unknown[] {
  if (!Array.isArray(v)) return [];
  const at = i < 0 ? i + v.length : i;
  return at >= 0 && at < v.length ? [v[at]] : [];
}

function slice(v: unknown, seg: Extract<Segment, { kind: 'slice' }>): unknown[] {
  if (!Array.isArray(v)) return [];
  const len = v.length;
  const clamp = (n: number | undefined, dflt: number) => (n === undefined ? dflt : Math.min(len, Math.max(0, n < 0 ? n + len : n)));
  const out: unknown[] = [];
  for (let i = clamp(seg.start, 0); i < clamp(seg.end, len); i += seg.step) out.push(v[i]);
  return out;
}

/** the value and everything below it, parents before children, map keys sorted */
function descendants(v: unknown): unknown[] {
  const out: unknown[] = [];
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const cur = stack.pop();
    out.push(cur);
    const children = Array.isArray(cur) ? cur : isJsonMap(cur) ? sortedValues(cur) : [];
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return out;
}

function compare(op: Exclude<Filter['op'], 'exists'>, a: unknown, b: Literal | unknown): boolean {
  if (op === '==') return deepEqual(a, b);
  if (op === '!=') return !deepEqual(a, b);
  const ordered = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!ordered) return false;
  const [x, y] = [a as number | string, b as number | string];
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

function operand(o: Operand, item: unknown, ctx: EvalContext): unknown[] {
  return o.kind === 'literal' ? [o.value] : evalPath(o.path, item, { ...ctx, allowMissing: true });
}

function matches(f: Filter, item: unknown, ctx: EvalContext): boolean {
  if (f.op === 'exists') return evalPath(f.path, item, { ...ctx, allowMissing: true }).length > 0;
  const rights = operand(f.right, item, ctx);
  return operand(f.left, item, ctx).some((l) => rights.some((r) => compare(f.op as Exclude<Filter['op'], 'exists'>, l, r)));
}

function step(v: unknown, seg: Exclude<Segment, { kind: 'descend' }>, ctx: EvalContext): unknown[] {
  switch (seg.kind) {
    case 'field':
      return field(v, seg.name);
    case 'index':
      return index(v, seg.index);
    case 'wildcard':
      return Array.isArray(v) ? v : isJsonMap(v) ? sortedValues(v) : [];
    case 'slice':
      return slice(v, seg);
    case 'union':
      return seg.keys.flatMap((k) => (typeof k === 'number' ? index(v, k) : field(v, k)));
    case 'filter':
      return Array.isArray(v) ? v.filter((item) => matches(seg.filter, item, ctx)) : [];
  }
}

function missing(seg: Segment, ctx: EvalContext): BadRequestError {
  const what =
    seg.kind === 'index' ? `array index ${seg.index} is out of range` : `${seg.kind === 'field' ? seg.name : 'the field'} is not found`;
  return new BadRequestError(`error executing jsonpath ${JSON.stringify(ctx.template)}: ${what}`);
}

function evalPath(p: PathExpr, current: unknown, ctx: EvalContext): unknown[] {
  let values = [p.from === 'root' ? ctx.root : current];
  let afterDescend = false;
  for (const seg of p.segments) {
    if (seg.kind === 'descend') {
      values = values.flatMap(descendants);
      afterDescend = true;
      continue;
    }
    const next = values.flatMap((v) => step(v, seg, ctx));
    // Like kubectl: an error only when a field or index selects nothing from any of the values before it.
    if (next.length === 0 && values.length > 0 && !ctx.allowMissing && !afterDescend && (seg.kind === 'field' || seg.kind === 'index')) {
      throw missing(seg, ctx);
    }
    values = next;
    afterDescend = false;
  }
  return values;
}

/** jsonPathText prints one value as kubectl's JSONPath printer does. */
export function jsonPathText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(sortKeys(v));
  return String(v);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isJsonMap(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort())
    Object.defineProperty(out, k, { value: sortKeys(v[k]), enumerable: true, writable: true, configurable: true });
  return out;
}

function run(nodes: TemplateNode[], current: unknown, ctx: EvalContext, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text') {
      out.push(node.text);
    } else if (node.kind === 'values') {
      out.push(
        node.paths
          .flatMap((p) => evalPath(p, current, ctx))
          .map(jsonPathText)
          .join(' '),
      );
    } else {
      let items = evalPath(node.path, current, ctx);
      // `{range .items}` walks the list as `{range .items[*]}` does
      const only = items[0];
      if (items.length === 1 && Array.isArray(only)) items = only;
      for (const item of items) run(node.body, item, ctx, out);
    }
  }
}

/** JsonPathOptions: kubectl's --allow-missing-template-keys (default true: a missing field prints nothing). */
export interface JsonPathOptions {
  allowMissingKeys?: boolean;
}

/**
 * executeJsonPath prints `template` over `data` as `kubectl get -o
 * jsonpath=TEMPLATE` does. A template it cannot parse is a BadRequestError
 * naming the template and the character; with `allowMissingKeys: false` a
 * field or index that selects nothing is a BadRequestError "… is not found".
 */
export function executeJsonPath(template: string, data: unknown, opts: JsonPathOptions = {}): string {
  const out: string[] = [];
  run(parseTemplate(template), data, { root: data, allowMissing: opts.allowMissingKeys ?? true, template }, out);
  return out.join('');
}

const cache = new Map<string, PathExpr[]>();
const CACHE_LIMIT = 512;

/**
 * evalJsonPath returns every value `path` selects in `root`, empty when
 * nothing matches. `path` is written as printer columns and `wait` write it:
 * `.a.b`, `{.a.b}`, `$.a`, `.a[*].b`, `.a['b.c']`, with filters, slices and
 * unions as in templates. A path it cannot parse is a BadRequestError.
 */
export function evalJsonPath(root: unknown, path: string): unknown[] {
  let paths = cache.get(path);
  if (!paths) {
    paths = parseRelaxedPaths(path);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(path, paths);
  }
  const ctx: EvalContext = { root, allowMissing: true, template: path };
  return paths.flatMap((p) => evalPath(p, root, ctx)).filter((v) => v !== undefined);
}
