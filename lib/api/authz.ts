/**
 * Authorization of API requests: Kubernetes RBAC (lib/auth/rbac.ts) over the
 * Role, ClusterRole and binding objects the API itself serves. RbacCache
 * follows the four kinds with informers and rebuilds the evaluator's index
 * when one of them changed, on the next request — so a request costs an
 * index lookup, never an etcd read, and a new binding takes effect as soon
 * as this API server's watch delivers it.
 */
import { Informer } from '../controller/informer.js';
import type { UserInfo } from '../auth/identity.js';
import { RbacAuthorizer, type Decision, type RequestAttributes, type SubjectRules } from '../auth/rbac.js';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from '../auth/rbac.js';
import { checkBindingEscalation, checkRoleEscalation, type BindingWrite, type RoleWrite } from '../auth/rbac-escalation.js';
import { CLUSTER_ROLE_BINDING_KIND, CLUSTER_ROLE_KIND, ROLE_BINDING_KIND, ROLE_KIND } from '../kinds/builtin.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KubeObject, Store } from '../store/types.js';
import type { Route } from './router.js';

/** Authorizer decides whether a user may make a request. */
export interface Authorizer {
  authorize(user: UserInfo, attrs: RequestAttributes): Decision;
  /** rulesFor lists a user's rules in a namespace (SelfSubjectRulesReview) */
  rulesFor(user: UserInfo, namespace?: string): SubjectRules;
  /** checkRoleWrite refuses a Role or ClusterRole that grants more than its writer holds (escalation) */
  checkRoleWrite(user: UserInfo, role: RoleWrite): Decision;
  /** checkBindingWrite refuses a binding to a role whose rules its writer does not hold, unless allowed `bind` */
  checkBindingWrite(user: UserInfo, binding: BindingWrite): Decision;
}

/** requestAttributes are what the authorizer decides on for a routed request. */
export function requestAttributes(route: Route, verb: string, path: string, method: string): RequestAttributes {
  if (route.type !== 'resource') return { verb: method.toLowerCase(), path };
  const attrs: RequestAttributes = { verb, apiGroup: route.kind.group, resource: route.kind.plural };
  if (route.subresource) attrs.subresource = route.subresource;
  if (route.namespace !== undefined) attrs.namespace = route.namespace;
  else if (route.kind.plural === 'namespaces' && route.kind.group === '' && route.name !== undefined) attrs.namespace = route.name;
  if (route.name !== undefined) attrs.name = route.name;
  return attrs;
}

/** RbacCache: see the file comment. */
export class RbacCache implements Authorizer {
  private readonly informers: Array<Informer<KubeObject>>;
  private authorizer: RbacAuthorizer | undefined;

  constructor(opts: { store: Store; logger: Logger; metrics?: Metrics }) {
    this.informers = [ROLE_KIND, CLUSTER_ROLE_KIND, ROLE_BINDING_KIND, CLUSTER_ROLE_BINDING_KIND].map(
      (kind) =>
        new Informer<KubeObject>({
          store: opts.store,
          kind,
          logger: opts.logger,
          resyncPeriodMs: 0,
          ...(opts.metrics ? { metrics: opts.metrics } : {}),
        }),
    );
    const dirty = (): void => {
      this.authorizer = undefined;
    };
    for (const inf of this.informers) inf.addEventHandler({ onAdd: dirty, onUpdate: (a, b) => a !== b && dirty(), onDelete: dirty });
  }

  /** start begins following the RBAC kinds and resolves once all four caches have synced. */
  async start(signal?: AbortSignal): Promise<void> {
    for (const inf of this.informers) inf.start();
    await Promise.all(this.informers.map((inf) => inf.waitForSync(signal)));
  }

  /** stop ends the informers. */
  async stop(): Promise<void> {
    await Promise.all(this.informers.map((inf) => inf.stop()));
  }

  private current(): RbacAuthorizer {
    if (!this.authorizer) {
      const [roles, clusterRoles, roleBindings, clusterRoleBindings] = this.informers.map((inf) => inf.listShared()) as [
        readonly KubeObject[],
        readonly KubeObject[],
        readonly KubeObject[],
        readonly KubeObject[],
      ];
      this.authorizer = RbacAuthorizer.fromObjects({
        roles: roles as unknown as Role[],
        clusterRoles: clusterRoles as unknown as ClusterRole[],
        roleBindings: roleBindings as unknown as RoleBinding[],
        clusterRoleBindings: clusterRoleBindings as unknown as ClusterRoleBinding[],
      });
    }
    return this.authorizer;
  }

  authorize(user: UserInfo, attrs: RequestAttributes): Decision {
    return this.current().authorize(user, attrs);
  }

  rulesFor(user: UserInfo, namespace?: string): SubjectRules {
    return this.current().rulesFor(user, namespace);
  }

  checkRoleWrite(user: UserInfo, role: RoleWrite): Decision {
    return checkRoleEscalation(this.current(), user, role);
  }

  checkBindingWrite(user: UserInfo, binding: BindingWrite): Decision {
    return checkBindingEscalation(this.current(), user, binding);
  }
}
