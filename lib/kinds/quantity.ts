/**
 * Kubernetes quantities (`256Mi`, `1Gi`, `500m`, `2`) as numbers and back.
 */
import { ValidationError } from '../errors.js';
import type { Quantity } from './types.js';

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY_RE = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;

/** parseQuantity returns the value of a quantity as a number (bytes for sizes); throws ValidationError naming `field`. */
export function parseQuantity(q: Quantity | undefined, field = 'quantity'): number {
  if (q === undefined) throw new ValidationError(`${field}: a quantity is required`, [{ field, message: 'Required value' }]);
  if (typeof q === 'number') {
    if (!Number.isFinite(q) || q < 0)
      throw new ValidationError(`${field}: ${q} is not a valid quantity`, [{ field, message: 'must be a non-negative number' }]);
    return q;
  }
  const m = QUANTITY_RE.exec(q.trim());
  if (!m) {
    throw new ValidationError(`${field}: "${q}" is not a valid quantity (examples: 256Mi, 1Gi, 500M)`, [
      { field, message: `"${q}" is not a valid quantity` },
    ]);
  }
  return Number(m[1]) * (SUFFIX[m[2] ?? ''] ?? 1);
}

/** formatBytes renders a byte count as a binary-suffixed quantity (`512Mi`, `1.5Gi`), exact to 0.1 of the unit. */
export function formatBytes(bytes: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const rounded = Math.round(v * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)}${units[i]}`;
}

/** formatExactBytes renders bytes exactly, in the largest binary unit that divides them (1280Mi, 2Gi, 1000). */
export function formatExactBytes(bytes: number): string {
  const n = Math.round(bytes);
  for (const [unit, size] of [
    ['Ei', 2 ** 60],
    ['Pi', 2 ** 50],
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

/** formatCores renders a cpu amount as Kubernetes does: whole cores plainly (`3`), else millicores (`2500m`). */
export function formatCores(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
