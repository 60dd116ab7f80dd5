/**
 * Member health as a pure decision: from whether the member's heartbeat key
 * exists (its lease is alive) and the current phase, the phase it should have
 * and the Ready condition to write. No wall clocks are compared across
 * machines: the lease TTL in etcd is the only timer.
 */
import type { MemberPhase } from '../../lib/kinds/types.js';

/** HealthInput is what the membership controller observed. */
export interface HealthInput {
  heartbeatPresent: boolean;
  phase: MemberPhase | undefined;
}

/** HealthDecision is the phase and Ready condition a member should have. */
export interface HealthDecision {
  phase: MemberPhase;
  ready: boolean;
  reason: string;
  message: string;
}

/** decideMemberHealth maps heartbeat presence to phase, keeping maintenance phases (Evacuating, Evacuated) and Left. */
export function decideMemberHealth(input: HealthInput): HealthDecision {
  const maintenance = input.phase === 'Evacuating' || input.phase === 'Evacuated';
  if (input.phase === 'Left') {
    return { phase: 'Left', ready: false, reason: 'MemberLeft', message: 'the member has left the cluster' };
  }
  if (input.heartbeatPresent) {
    return {
      phase: maintenance ? input.phase! : 'Ready',
      ready: true,
      reason: 'HeartbeatCurrent',
      message: 'the member renews its heartbeat lease',
    };
  }
  return {
    phase: maintenance ? input.phase! : 'NotReady',
    ready: false,
    reason: 'HeartbeatLost',
    message: 'the heartbeat lease expired or was revoked: the member stopped renewing it',
  };
}
