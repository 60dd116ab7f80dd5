/**
 * Authorization of API requests: Kubernetes RBAC (lib/auth/rbac.ts) over the
 * Role, ClusterRole and binding objects the API itself serves. RbacCache
 * follows the four kinds with informers whose events upsert into and delete
 * from the evaluator's index in place — so a request costs an index lookup,
 * never an etcd read or a rebuild, and a new binding takes effect as soon as
 * this API server's watch delivers it.
 */
import { Informer } from '../controller/informer.js';
import type { UserInfo } from '../auth/identity.js';
import { RbacAuthorizer, RbacIndex, type Decision, type RequestAttributes, type SubjectRules } from '../auth/rbac.js';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from '../auth/rbac.js';
import { checkBindingEscalation, checkRoleEscalation, type BindingWrite, type RoleWrite } from '../auth/rbac-escalation.js';
import { CLUSTER_ROLE_BINDING_KIND, CLUSTER_ROLE_KIND, ROLE_BINDING_KIND, ROLE_KIND } from '../kinds/builtin.js';
import type { KindInfo } from '../kinds/registry.js';
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
  /** the evaluator over one index that the informers' events update in place (RbacIndex upserts and deletes) */
  private readonly authorizer = new RbacAuthorizer(RbacIndex.from({}));

  constructor(opts: { store: Store; logger: Logger; metrics?: Metrics }) {
    const index = this.authorizer.index;
    const ns = (o: KubeObject): string => o.metadata.namespace ?? '';
    const feeds: Array<[KindInfo, (o: KubeObject) => void, (o: KubeObject) => void]> = [
      [ROLE_KIND, (o) => index.upsertRole(o as unknown as Role), (o) => index.deleteRole(ns(o), o.metadata.name)],
      [CLUSTER_ROLE_KIND, (o) => index.upsertClusterRole(o as unknown as ClusterRole), (o) => index.deleteClusterRole(o.metadata.name)],
      [
        ROLE_BINDING_KIND,
        (o) => index.upsertRoleBinding(o as unknown as RoleBinding),
        (o) => index.deleteRoleBinding(ns(o), o.metadata.name),
      ],
      [
        CLUSTER_ROLE_BINDING_KIND,
        (o) => index.upsertClusterRoleBinding(o as unknown as ClusterRoleBinding),
        (o) => index.deleteClusterRoleBinding(o.metadata.name),
      ],
    ];
    this.informers = feeds.map(([kind, upsert, remove]) => {
      const inf = new Informer<KubeObject>({
        store: opts.store,
        kind,
        logger: opts.logger,
        resyncPeriodMs: 0,
        ...(opts.metrics ? { metrics: opts.metrics } : {}),
      });
      inf.addEventHandler({ onAdd: upsert, onUpdate: (_old, obj) => upsert(obj), onDelete: remove });
      return inf;
    });
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

  authorize(user: UserInfo, attrs: RequestAttributes): Decision {
    return this.authorizer.authorize(user, attrs);
  }

  rulesFor(user: UserInfo, namespace?: string): SubjectRules {
    return this.authorizer.rulesFor(user, namespace);
  }

  checkRoleWrite(user: UserInfo, role: RoleWrite): Decision {
    return checkRoleEscalation(this.authorizer, user, role);
  }

  checkBindingWrite(user: UserInfo, binding: BindingWrite): Decision {
    return checkBindingEscalation(this.authorizer, user, binding);
  }
}
