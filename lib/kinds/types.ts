/**
 * TypeScript types of Cloudlet's kinds, written once and kept in step with
 * the schemas in `crds/` by test/unit/lib/kinds/types.test.ts.
 */
import type { Condition, KubeObject } from '../store/types.js';

/** Quantity is a Kubernetes quantity: a string such as `256Mi`, or a plain number of bytes. */
export type Quantity = string | number;

/** MemberRole is a role a member plays. */
export type MemberRole = 'control-plane' | 'worker';
/** MemberPhase is the membership phase of a member. */
export type MemberPhase = 'Joining' | 'Ready' | 'NotReady' | 'Evacuating' | 'Evacuated' | 'Left';

/** MemberSpec is the desired state of a Member. */
export interface MemberSpec {
  address?: string;
  roles?: MemberRole[];
  unschedulable?: boolean;
  failureDomain?: string;
}
/** Resources is an amount of cpu (cores), memory and disk (quantities). */
export interface Resources {
  cpu?: number;
  memory?: Quantity;
  disk?: Quantity;
}
/** MemberStatus is the observed state of a Member. */
export interface MemberStatus {
  observedGeneration?: number;
  phase?: MemberPhase;
  heartbeat?: string;
  capacity?: Resources;
  allocated?: Resources;
  etcdRole?: 'voter' | 'learner' | 'none';
  fenced?: boolean;
  version?: string;
  message?: string;
  conditions?: Condition[];
}
/** Member is one machine of the cluster. */
export type Member = KubeObject<MemberSpec, MemberStatus>;

/** StoragePoolSpec is the desired state of a StoragePool. */
export interface StoragePoolSpec {
  driver: 'dir' | 'btrfs' | 'ceph';
  size?: Quantity;
  source?: string;
  members?: string[];
  config?: Record<string, string>;
}
/** PoolMemberStatus is one member's view of a pool. */
export interface PoolMemberStatus {
  name: string;
  ready?: boolean;
  capacity?: Quantity;
  used?: Quantity;
  message?: string;
}
/** StoragePoolStatus is the observed state of a StoragePool. */
export interface StoragePoolStatus {
  observedGeneration?: number;
  phase?: 'Pending' | 'Ready' | 'Degraded' | 'NotReady' | 'Deleting';
  shared?: boolean;
  message?: string;
  members?: PoolMemberStatus[];
  conditions?: Condition[];
}
/** StoragePool is storage on the members. */
export type StoragePool = KubeObject<StoragePoolSpec, StoragePoolStatus>;

/** VolumeSpec is the desired state of a Volume. */
export interface VolumeSpec {
  pool: string;
  size: Quantity;
  source?: { snapshot?: string; image?: string };
  snapshots?: string[];
  /** restore asks for the volume's content to be replaced by a snapshot once per distinct token (default: the snapshot name) */
  restore?: { snapshot: string; token?: string };
}
/** VolumeStatus is the observed state of a Volume. */
export interface VolumeStatus {
  observedGeneration?: number;
  phase?: 'Pending' | 'Creating' | 'Ready' | 'Failed' | 'Deleting';
  member?: string;
  used?: Quantity;
  attachedTo?: string;
  replicas?: number;
  snapshots?: string[];
  /** restored is the key (token or snapshot) of the last restore done */
  restored?: string;
  message?: string;
  conditions?: Condition[];
}
/** Volume is storage from a pool that instances mount. */
export type Volume = KubeObject<VolumeSpec, VolumeStatus>;

/** NetworkSpec is the desired state of a Network. */
export interface NetworkSpec {
  driver: 'bridge' | 'vxlan' | 'ovn';
  subnet: string;
  gateway?: string;
  nat?: boolean;
  dns?: boolean;
  mtu?: number;
  vni?: number;
}
/** NetworkStatus is the observed state of a Network. */
export interface NetworkStatus {
  observedGeneration?: number;
  phase?: 'Pending' | 'Ready' | 'Degraded' | 'NotReady' | 'Deleting';
  gateway?: string;
  allocated?: number;
  vni?: number;
  message?: string;
  members?: Array<{ name: string; ready?: boolean; message?: string }>;
  conditions?: Condition[];
}
/** Network is a virtual network. */
export type Network = KubeObject<NetworkSpec, NetworkStatus>;

/** LabelSelectorRequirement is one matchExpressions entry. */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
/** LabelSelector is a Kubernetes label selector object. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}
/** InstancePhase is the lifecycle phase of an instance. */
export type InstancePhase =
  'Pending' | 'Scheduled' | 'Creating' | 'Starting' | 'Running' | 'Stopping' | 'Stopped' | 'Failed' | 'Unknown' | 'Deleting';
/** DEFAULT_CPU and DEFAULT_MEMORY are the CRD defaults of an Instance's spec.cpu and spec.memory, used when a spec leaves them out. */
export const DEFAULT_CPU = 1;
export const DEFAULT_MEMORY = '256Mi';
/** InstanceSpec is the desired state of an Instance. */
export interface InstanceSpec {
  image: string;
  cpu?: number;
  memory?: Quantity;
  state?: 'Running' | 'Stopped';
  recovery?: 'failover' | 'restart' | 'none';
  rootfs?: { pool?: string; size?: Quantity };
  nics?: Array<{ network: string; address?: string }>;
  volumes?: Array<{ name: string; path: string; readOnly?: boolean }>;
  placement?: { member?: string; memberSelector?: LabelSelector; spreadGroup?: string };
  /** limits beyond cpu and memory; processes defaults to DEFAULT_PROCESS_LIMIT */
  limits?: { processes?: number };
  /** security: privileged is a dangerous opt-in (root inside is root on the host); isolatedIdmap asks for a private id range */
  security?: { privileged?: boolean; isolatedIdmap?: boolean };
}
/** InstanceIdmap is the user-namespace id map an unprivileged instance runs with. */
export interface InstanceIdmap {
  /** hostId is the host uid and gid that root (0) inside maps to */
  hostId: number;
  size: number;
  /** isolated: a private range no other instance uses */
  isolated: boolean;
}
/** InstanceStatus is the observed state of an Instance. */
export interface InstanceStatus {
  observedGeneration?: number;
  phase?: InstancePhase;
  member?: string;
  placementEpoch?: number;
  addresses?: string[];
  startedAt?: string;
  restartCount?: number;
  recoverable?: boolean;
  recoverableReason?: string;
  message?: string;
  containerName?: string;
  imageProgress?: string;
  /** privileged: the container runs privileged (requested, or created before isolation); recorded at creation */
  privileged?: boolean;
  /** idmap: the id map of an unprivileged instance, recorded at creation and kept on every member */
  idmap?: InstanceIdmap;
  conditions?: Condition[];
}
/** Instance is a system container. */
export type Instance = KubeObject<InstanceSpec, InstanceStatus>;

/** EventObject is a core v1 Event as Cloudlet writes it. */
export interface EventObject extends KubeObject {
  involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

/** ResourceList maps resource names (`requests.cpu`, `count/instances.cloudlet.dev`) to quantities, as in core v1. */
export type ResourceList = Record<string, Quantity>;
/** ResourceQuotaSpec is core v1 ResourceQuotaSpec: the hard limits of a namespace (scopes are not supported). */
export interface ResourceQuotaSpec {
  hard?: ResourceList;
  scopes?: string[];
  scopeSelector?: unknown;
}
/** ResourceQuotaStatus is core v1 ResourceQuotaStatus: the limits enforced and what the namespace uses. */
export interface ResourceQuotaStatus {
  hard?: ResourceList;
  used?: ResourceList;
}
/** ResourceQuota is core v1 ResourceQuota. */
export type ResourceQuota = KubeObject<ResourceQuotaSpec, ResourceQuotaStatus>;

/** NamespacePhase is core v1 NamespacePhase. */
export type NamespacePhase = 'Active' | 'Terminating';
/** NamespaceSpec is core v1 NamespaceSpec. */
export interface NamespaceSpec {
  finalizers?: string[];
}
/** NamespaceStatus is core v1 NamespaceStatus. */
export interface NamespaceStatus {
  phase?: NamespacePhase;
  conditions?: Condition[];
}
/** Namespace is core v1 Namespace: a tenant. */
export type Namespace = KubeObject<NamespaceSpec, NamespaceStatus>;
