/**
 * Admission: the checks a write passes after schema validation and before
 * the store, with the caller known.
 *
 * - Namespace lifecycle (as Kubernetes' NamespaceLifecycle): an object is
 *   created only in a namespace that exists and is not Terminating; a new
 *   Namespace gets the `kubernetes` finalizer (controllers/namespaces empties
 *   it before it goes), phase Active and its name label; `default` cannot be
 *   deleted.
 * - Host-reaching fields (HOST_FIELDS): a value that reaches the member's
 *   filesystem or devices may be set or changed only by a caller allowed
 *   `use` on `hostaccess.cloudlet.dev` (cluster-admin has it; admin, edit and
 *   view do not). An unchanged value on an update is not checked again.
 * - Quotas (lib/api/quota.ts) are charged here, last; a ResourceQuota's
 *   own limits must parse as quantities.
 */
import type { UserInfo } from '../auth/identity.js';
import type { Decision, PolicyRule, RoleRef } from '../auth/rbac.js';
import type { Authorizer } from './authz.js';
import { HOST_ACCESS } from '../auth/default-roles.js';
import { Informer } from '../controller/informer.js';
import { ForbiddenError, NotFoundError, isCode } from '../errors.js';
import {
  CLUSTER_ROLE_BINDING_KIND,
  CLUSTER_ROLE_KIND,
  NAMESPACE_KIND,
  RESOURCE_QUOTA_KIND,
  ROLE_BINDING_KIND,
  ROLE_KIND,
} from '../kinds/builtin.js';
import { completeNamespace, DEFAULT_NAMESPACE, newNamespace } from '../kinds/namespaces.js';
import type { KindInfo, KindRegistry } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { KubeObject, Store } from '../store/types.js';
import { deepEqual } from '../json.js';
import { parseResourceList, QuotaAdmission } from './quota.js';

/** UNDELETABLE_NAMESPACES cannot be deleted: `default` is where objects go without -n. */
export const UNDELETABLE_NAMESPACES: ReadonlySet<string> = new Set([DEFAULT_NAMESPACE]);

/** HostField is one field that reaches the member: its path and whether a value of it does. */
interface HostField {
  field: string;
  value(obj: KubeObject): unknown;
  reaches(value: unknown): boolean;
}

function at(obj: KubeObject, ...path: string[]): unknown {
  let v: unknown = obj;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

const isSet = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

/** HOST_FIELDS lists, per kind (`group/Kind`), the fields that reach the host; docs/security.md names them. */
export const HOST_FIELDS: Readonly<Record<string, readonly HostField[]>> = {
  'cloudlet.dev/Instance': [
    { field: 'spec.security.privileged', value: (o) => at(o, 'spec', 'security', 'privileged'), reaches: (v) => v === true },
    { field: 'spec.image', value: (o) => at(o, 'spec', 'image'), reaches: (v) => typeof v === 'string' && v.startsWith('file://') },
  ],
  'cloudlet.dev/StoragePool': [
    { field: 'spec.source', value: (o) => at(o, 'spec', 'source'), reaches: isSet },
    ...['conf', 'cluster', 'keyring'].map((k) => ({
      field: `spec.config.${k}`,
      value: (o: KubeObject) => at(o, 'spec', 'config', k),
      reaches: isSet,
    })),
  ],
};

/** AdmissionOptions wire the checks. */
export interface AdmissionOptions {
  store: Store;
  kinds: KindRegistry;
  logger: Logger;
  authz: Authorizer;
}

/** Admission: see the file comment. */
export class Admission {
  private readonly namespaces: Informer<KubeObject> | undefined;
  private readonly quota: QuotaAdmission;

  constructor(private readonly o: AdmissionOptions) {
    this.quota = new QuotaAdmission({ store: o.store, kinds: o.kinds, logger: o.logger });
    const served = o.kinds.all().includes(NAMESPACE_KIND);
    this.namespaces = served
      ? new Informer<KubeObject>({ store: o.store, kind: NAMESPACE_KIND, logger: o.logger, resyncPeriodMs: 0 })
      : undefined;
  }

  /** start makes sure `default` exists and fills the namespace cache. */
  async start(): Promise<void> {
    if (this.namespaces) {
      try {
        await this.o.store.create(NAMESPACE_KIND, newNamespace(DEFAULT_NAMESPACE));
      } catch (err) {
        if (!isCode(err, 'AlreadyExists')) throw err;
      }
    }
    this.namespaces?.start();
    this.quota.start();
    await this.namespaces?.waitForSync();
    await this.quota.waitForSync();
  }

  /** stop ends the namespace cache. */
  async stop(): Promise<void> {
    await this.namespaces?.stop();
    await this.quota.stop();
  }

  /** admitCreate checks (and for Namespaces, completes) an object about to be created, and charges its quotas last. */
  async admitCreate(kind: KindInfo, obj: KubeObject, user: UserInfo, dryRun = false): Promise<void> {
    if (kind === NAMESPACE_KIND) completeNamespace(obj);
    else if (kind.namespaced && obj.metadata.namespace !== undefined) await this.checkNamespace(obj.metadata.namespace);
    this.checkHostFields(kind, obj, undefined, user);
    this.checkEscalation(kind, obj, user);
    checkQuotaSpec(kind, obj);
    await this.quota.charge(kind, obj, undefined, dryRun);
  }

  /** admitUpdate checks an object about to replace `previous`. */
  async admitUpdate(kind: KindInfo, obj: KubeObject, previous: KubeObject, user: UserInfo, dryRun = false): Promise<void> {
    this.checkHostFields(kind, obj, previous, user);
    this.checkEscalation(kind, obj, user);
    checkQuotaSpec(kind, obj);
    await this.quota.charge(kind, obj, previous, dryRun);
  }

  /** checkEscalation: a role or binding may grant only what its writer holds (or may `escalate`/`bind`), as in Kubernetes. */
  private checkEscalation(kind: KindInfo, obj: KubeObject, user: UserInfo): void {
    const namespace = obj.metadata.namespace;
    const what = `${kind.plural}.${kind.group} "${obj.metadata.name}"`;
    let d: Decision | undefined;
    if (kind === ROLE_KIND || kind === CLUSTER_ROLE_KIND) {
      const rules = (Array.isArray(obj.rules) ? obj.rules : []) as PolicyRule[];
      d = this.o.authz.checkRoleWrite(user, { name: obj.metadata.name, rules, ...(kind === ROLE_KIND && namespace ? { namespace } : {}) });
    } else if (kind === ROLE_BINDING_KIND || kind === CLUSTER_ROLE_BINDING_KIND) {
      const roleRef = obj.roleRef as RoleRef;
      d = this.o.authz.checkBindingWrite(user, { roleRef, ...(kind === ROLE_BINDING_KIND && namespace ? { namespace } : {}) });
    }
    if (d && !d.allowed) throw new ForbiddenError(`${what} is forbidden: ${d.reason}`);
  }

  /** admitDelete refuses deleting what may not be deleted. */
  admitDelete(kind: KindInfo, name: string): void {
    if (kind === NAMESPACE_KIND && UNDELETABLE_NAMESPACES.has(name))
      throw new ForbiddenError(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
  }

  private async checkNamespace(namespace: string): Promise<void> {
    if (!this.namespaces) return;
    let ns = this.namespaces.get({ name: namespace });
    if (!ns) {
      // Created on another member a moment ago and not yet delivered here: ask etcd.
      try {
        ns = await this.o.store.get(NAMESPACE_KIND, namespace);
      } catch (err) {
        if (isCode(err, 'NotFound')) throw new NotFoundError(`namespaces "${namespace}" not found`);
        throw err;
      }
    }
    if (ns.metadata.deletionTimestamp !== undefined) {
      throw new ForbiddenError(`unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  private checkHostFields(kind: KindInfo, obj: KubeObject, previous: KubeObject | undefined, user: UserInfo): void {
    const fields = HOST_FIELDS[`${kind.group}/${kind.kind}`];
    if (!fields) return;
    let decision: Decision | undefined;
    for (const f of fields) {
      const value = f.value(obj);
      if (!f.reaches(value)) continue;
      if (previous !== undefined && deepEqual(f.value(previous), value)) continue;
      decision ??= this.o.authz.authorize(user, HOST_ACCESS);
      if (!decision.allowed) {
        const what = `${kind.plural}.${kind.group} "${obj.metadata.name}"`;
        throw new ForbiddenError(
          `${what} is forbidden: ${f.field} reaches the member's host and only subjects allowed "use" on "hostaccess.cloudlet.dev" ` +
            `(cluster-admin) may set it; User "${user.name}" is not`,
        );
      }
    }
  }
}

/** checkQuotaSpec refuses a ResourceQuota whose limits are not quantities (422 naming the field), so no later create trips on it. */
function checkQuotaSpec(kind: KindInfo, obj: KubeObject): void {
  if (kind !== RESOURCE_QUOTA_KIND) return;
  const spec = obj.spec as { hard?: Record<string, string | number> } | undefined;
  parseResourceList(spec?.hard, 'spec.hard');
}
