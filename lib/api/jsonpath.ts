/**
 * A small evaluator for the JSONPath subset CRD printer columns use:
 * `.a.b`, `.a[0]`, `.a[*].b`, `.a['b.c']`.
 */
import { isJsonMap } from '../json.js';

type Step = { key: string } | { index: number } | { all: true };

const cache = new Map<string, Step[]>();

/** parseJsonPath splits a printer-column path into steps; a leading `$` or braces are allowed. */
export function parseJsonPath(path: string): Step[] {
  const hit = cache.get(path);
  if (hit) return hit;
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1);
  if (p.startsWith('$')) p = p.slice(1);
  const steps: Step[] = [];
  const re = /\.([A-Za-z0-9_\-/]+)|\[(\d+)\]|\[\*\]|\[['"]([^'"]+)['"]\]/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < p.length) {
    re.lastIndex = pos;
    m = re.exec(p);
    if (!m) break;
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ key: m[3] });
    else steps.push({ all: true });
    pos = re.lastIndex;
  }
  cache.set(path, steps);
  return steps;
}

/** evalJsonPath returns every value `path` selects in `root` (empty when nothing matches). */
export function evalJsonPath(root: unknown, path: string): unknown[] {
  let cur: unknown[] = [root];
  for (const step of parseJsonPath(path)) {
    const next: unknown[] = [];
    for (const v of cur) {
      if ('key' in step) {
        if (isJsonMap(v) && step.key in v) next.push(v[step.key]);
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (Array.isArray(v)) {
        next.push(...v);
      }
    }
    cur = next;
  }
  return cur.filter((v) => v !== undefined);
}
