/**
 * Pure helpers for `status.conditions[]` (like apimachinery meta.SetStatusCondition).
 */
import type { Condition } from '../store/types.js';

/** ConditionInput is a condition without its transition time, which setCondition manages. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string };

/**
 * setCondition returns a new conditions list with `cond` set: an existing
 * condition of the same type keeps its lastTransitionTime when its status is
 * unchanged (reason, message and observedGeneration are still updated);
 * otherwise lastTransitionTime becomes `now` (or cond.lastTransitionTime).
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  cond: ConditionInput,
  now: Date | number = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const idx = list.findIndex((c) => c.type === cond.type);
  const existing = idx >= 0 ? list[idx] : undefined;
  const transitioned = !existing || existing.status !== cond.status;
  const lastTransitionTime = transitioned ? (cond.lastTransitionTime ?? new Date(now).toISOString()) : existing.lastTransitionTime;
  const next: Condition = { ...cond, lastTransitionTime };
  if (idx >= 0) list[idx] = next;
  else list.push(next);
  return list;
}

/** getCondition finds the condition of `type`, or undefined. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** isTrue tells whether the condition of `type` exists with status True. */
export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** isFalse tells whether the condition of `type` exists with status False. */
export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'False';
}

/** removeCondition returns a new list without the condition of `type`. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
