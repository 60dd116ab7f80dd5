/**
 * The one registry of Cloudlet's etcd key space. Every key or prefix any
 * module reads or writes is defined here and documented in
 * docs/architecture.md ("Keys in etcd"); modules import their constant from
 * this file. All keys live under `/cloudlet/`.
 */

/** REGISTRY_PREFIX: `<prefix><group|core>/<plural>/[<namespace>/]<name>` holds every object as JSON. */
export const REGISTRY_PREFIX = '/cloudlet/registry/';

/** LEADER_PREFIX: `<prefix><election>` holds the leader's identity, bound to its lease. */
export const LEADER_PREFIX = '/cloudlet/leader/';

/** HEARTBEAT_PREFIX: `<prefix><member>` is bound to the member's heartbeat lease; gone = the lease expired. */
export const HEARTBEAT_PREFIX = '/cloudlet/heartbeats/';

/** INSTANCE_LOCK_PREFIX: `<prefix><namespace>/<name>` is the fencing lock of a failover instance, bound to its member's lease. */
export const INSTANCE_LOCK_PREFIX = '/cloudlet/locks/instances/';

/** ETCD_MEMBERSHIP_LOCK_KEY is the mutex every etcd membership change holds (joins, removals, the voter controller). */
export const ETCD_MEMBERSHIP_LOCK_KEY = '/cloudlet/locks/etcd-membership';

/** IPAM_PREFIX: `<prefix><network>/<address>` records one allocated address. */
export const IPAM_PREFIX = '/cloudlet/ipam/';

/** ETCD_CANDIDATE_PREFIX: `<prefix><member>` is the peer URL an etcd-client member's etcd would announce. */
export const ETCD_CANDIDATE_PREFIX = '/cloudlet/etcd-candidates/';

/** ETCD_LEARNER_PREFIX: `<prefix><member>` is the voter controller's assignment for a member it added as a learner. */
export const ETCD_LEARNER_PREFIX = '/cloudlet/etcd-learners/';

/** JOIN_TOKEN_KEY_PREFIX: `<prefix><sha256(secret)>` is a live join token, bound to a lease of its TTL. */
export const JOIN_TOKEN_KEY_PREFIX = '/cloudlet/join-tokens/';

/** JOIN_RECORD_PREFIX: `<prefix><sha256(secret)>` records an admitted join for 10 min, so a retried request gets the same answer. */
export const JOIN_RECORD_PREFIX = '/cloudlet/join-records/';

/** IDMAP_PREFIX: `<prefix><hostId>` is one private user-namespace id range, valued `<namespace>/<name>/<uid>` of the instance holding it. */
export const IDMAP_PREFIX = '/cloudlet/idmaps/';

/** ADMIN_TOKEN_PREFIX: `<prefix><sha256(token)>` marks a bootstrap admin token, so every member's API accepts it without holding it. */
export const ADMIN_TOKEN_PREFIX = '/cloudlet/auth/admin-tokens/';

/** AUTH_TOKEN_PREFIX: `<prefix><id>` is an API bearer token for automation: its user, groups, expiry and the SHA-256 of its secret. */
export const AUTH_TOKEN_PREFIX = '/cloudlet/auth/tokens/';

/** AUTH_USER_PREFIX: `<prefix><name>` records a user made by `cloudlet user create` and the serials of the certificates issued to it. */
export const AUTH_USER_PREFIX = '/cloudlet/auth/users/';

/** REVOKED_CERTIFICATE_PREFIX: `<prefix><serial>` denies a client certificate until it expires (`cloudlet user revoke`). */
export const REVOKED_CERTIFICATE_PREFIX = '/cloudlet/auth/revoked-certificates/';
