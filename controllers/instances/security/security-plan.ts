/**
 * How an instance is isolated, decided once and recorded in its status, as
 * pure functions. The agent decides when it first creates the container and
 * writes `status.privileged` (and `status.idmap` for an unprivileged one);
 * from then on every member that runs the instance (after a failover or an
 * evacuation too) uses what status says, so the map follows the instance.
 * Changing `spec.security` later applies when the instance is re-created.
 *
 * An instance that already has a container but no `status.privileged` was
 * created before isolation existed: its container is privileged. It keeps
 * running privileged, with the condition Privileged=True, reason
 * LegacyPrivileged, which tells the user to re-create it (docs/security.md).
 */
import { setCondition } from '../../../lib/controller/conditions.js';
import type { Instance, InstanceStatus } from '../../../lib/kinds/types.js';
import type { IdMap } from './idmap.js';

/** PrivilegedReason is the reason of the Privileged condition. */
export type PrivilegedReason = 'Unprivileged' | 'PrivilegedRequested' | 'LegacyPrivileged';

/** SecurityDecision is what the agent must record before it plans: nothing, or a mode (with the map to get). */
export type SecurityDecision = { record: false } | { record: true; reason: PrivilegedReason; map: 'none' | 'shared' | 'isolated' };

/** decideSecurity tells whether the instance's isolation is still to be recorded, and how. */
export function decideSecurity(input: { instance: Instance; containerExists: boolean }): SecurityDecision {
  const { instance } = input;
  if (instance.status?.privileged !== undefined) return { record: false };
  if (input.containerExists) return { record: true, reason: 'LegacyPrivileged', map: 'none' };
  if (instance.spec?.security?.privileged === true) return { record: true, reason: 'PrivilegedRequested', map: 'none' };
  return { record: true, reason: 'Unprivileged', map: instance.spec?.security?.isolatedIdmap === true ? 'isolated' : 'shared' };
}

/** SecurityRecord is the decided mode with its map and the Event to record. */
export interface SecurityRecord {
  status: InstanceStatus;
  event?: { type: 'Normal' | 'Warning'; reason: string; message: string };
}

/** securityRecord builds the status that records the decision (and the Warning for a privileged instance). */
export function securityRecord(input: { instance: Instance; reason: PrivilegedReason; idmap?: IdMap; now: number }): SecurityRecord {
  const { instance, reason, idmap } = input;
  const old = instance.status ?? {};
  const privileged = reason !== 'Unprivileged';
  const message = messageFor(reason, idmap);
  const status: InstanceStatus = { ...old, privileged };
  if (idmap && !privileged) status.idmap = idmap;
  else delete status.idmap;
  status.conditions = setCondition(
    old.conditions,
    { type: 'Privileged', status: privileged ? 'True' : 'False', reason, message },
    input.now,
  );
  return privileged ? { status, event: { type: 'Warning', reason, message } } : { status };
}

function messageFor(reason: PrivilegedReason, idmap: IdMap | undefined): string {
  if (reason === 'LegacyPrivileged') {
    return 'this instance was created before instances became unprivileged and still runs privileged (root inside is root on the host); re-create it to run it unprivileged (docs/security.md)';
  }
  if (reason === 'PrivilegedRequested') {
    return 'spec.security.privileged is true: root inside this instance is root on the host, and an escape from it owns the member and the cluster (docs/security.md)';
  }
  const range = idmap ? `${idmap.hostId}-${idmap.hostId + idmap.size - 1}` : 'unknown';
  return `root inside is an unprivileged user on the host: ids 0-${(idmap?.size ?? 65536) - 1} map to host ids ${range}${idmap?.isolated ? ' (a private range)' : ' (the shared default map)'}`;
}

/**
 * containerSecurity is what the runtime needs from the recorded status: an
 * id map for an unprivileged instance, none for a privileged one. Only a
 * recorded `privileged: true` makes a container privileged; anything else
 * without a recorded map gets `fallback` (the shared map), never root.
 */
export function containerSecurity(status: InstanceStatus | undefined, fallback: IdMap): { privileged: boolean; idmap?: IdMap } {
  if (status?.privileged === true) return { privileged: true };
  return { privileged: false, idmap: status?.idmap ?? fallback };
}
