/**
 * Who a request is from, in Kubernetes' terms: a user name and groups
 * (authentication's result, authorization's input). The names below are the
 * ones Cloudlet's authenticators give and its default bindings name.
 */

/** UserInfo is an authenticated caller. */
export interface UserInfo {
  name: string;
  groups: string[];
}

/** SYSTEM_MASTERS: members of this group are allowed everything (like Kubernetes); the bootstrap admin token has it. */
export const SYSTEM_MASTERS = 'system:masters';
/** SYSTEM_AUTHENTICATED is added to every authenticated caller's groups. */
export const SYSTEM_AUTHENTICATED = 'system:authenticated';
/** SYSTEM_UNAUTHENTICATED is the group of a request without credentials. */
export const SYSTEM_UNAUTHENTICATED = 'system:unauthenticated';
/** CLOUDLET_MEMBERS is the group of cluster members' own identities (their certificate's O; bound to ClusterRole cloudlet:member). */
export const CLOUDLET_MEMBERS = 'cloudlet:members';
/** ADMIN_USER is the user name of the bootstrap admin token. */
export const ADMIN_USER = 'cloudlet-admin';

/** memberUserName is the user name in a member's certificate. */
export function memberUserName(member: string): string {
  return `system:member:${member}`;
}

/** withAuthenticated adds system:authenticated to `groups` once. */
export function withAuthenticated(groups: readonly string[]): string[] {
  return groups.includes(SYSTEM_AUTHENTICATED) ? [...groups] : [...groups, SYSTEM_AUTHENTICATED];
}
