/**
 * Kubernetes label selector matching (matchLabels and matchExpressions), pure.
 */
import type { LabelSelector } from '../../lib/kinds/types.js';

/**
 * matchesSelector tells whether `labels` satisfy `selector`: every
 * matchLabels pair is present, and every matchExpressions requirement holds
 * (In / NotIn / Exists / DoesNotExist). An empty selector matches everything.
 */
export function matchesSelector(labels: Record<string, string> | undefined, selector: LabelSelector | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const req of selector?.matchExpressions ?? []) {
    const has = Object.hasOwn(l, req.key);
    const value = l[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
