/**
 * RbacIndex: the authorizer's snapshot of the RBAC objects, indexed so that
 * deciding a request only looks at the bindings that name the user or one of
 * its groups, never at every binding.
 *
 * - ClusterRoleBindings: subject key → binding name → binding.
 * - RoleBindings: namespace → subject key → binding name → binding.
 * - Roles: namespace → name; ClusterRoles: name.
 *
 * It is built from full lists (`RbacIndex.from`, linear in the objects) and
 * kept current one object at a time (`upsert*`, `delete*`, costing the
 * object's subjects), which is what an informer's add/update/delete
 * handlers call. Roles are looked up by a binding's roleRef at decision
 * time, so a role edited after its bindings takes effect at once.
 *
 * ClusterRole aggregation is supported: a ClusterRole with an
 * aggregationRule has, besides its own rules, the rules of every ClusterRole
 * one of its selectors matches (transitively, cycles ignored) — what the
 * Kubernetes aggregation controller would write into it. The aggregated
 * rules are cached per role and the cache is dropped on any ClusterRole
 * change.
 */
import { labelMatcherFromSelector, matchesLabels, type LabelMatcher } from '../store/selectors.js';
import { subjectKey, type SubjectKey } from './rbac-match.js';
import type { ClusterRole, ClusterRoleBinding, PolicyRule, RbacObjects, Role, RoleBinding, RoleRef, Subject } from './rbac-types.js';

type BySubject<B> = Map<SubjectKey, Map<string, B>>;

function addBySubject<B>(index: BySubject<B>, name: string, subjects: readonly Subject[] | undefined, ns: string | undefined, b: B): void {
  for (const s of subjects ?? []) {
    const key = subjectKey(s, ns);
    if (!key) continue;
    let m = index.get(key);
    if (!m) index.set(key, (m = new Map()));
    m.set(name, b);
  }
}

function removeBySubject<B>(index: BySubject<B>, name: string, subjects: readonly Subject[] | undefined, ns: string | undefined): void {
  for (const s of subjects ?? []) {
    const key = subjectKey(s, ns);
    const m = key && index.get(key);
    if (!m) continue;
    m.delete(name);
    if (m.size === 0) index.delete(key as SubjectKey);
  }
}

interface NamespaceBindings {
  byName: Map<string, RoleBinding>;
  bySubject: BySubject<RoleBinding>;
}

const NO_BINDINGS: ReadonlyMap<string, never> = new Map<string, never>();

/** RbacIndex is the indexed, incrementally updatable snapshot of Roles, ClusterRoles and their bindings. */
export class RbacIndex {
  private readonly roles = new Map<string, Map<string, Role>>();
  private readonly clusterRoles = new Map<string, ClusterRole>();
  private readonly clusterBindings = new Map<string, ClusterRoleBinding>();
  private readonly clusterBySubject: BySubject<ClusterRoleBinding> = new Map();
  private readonly namespaceBindings = new Map<string, NamespaceBindings>();
  private aggregated = new Map<string, readonly PolicyRule[]>();

  /** from builds an index from full lists of the four kinds. */
  static from(objects: RbacObjects): RbacIndex {
    const index = new RbacIndex();
    for (const r of objects.roles ?? []) index.upsertRole(r);
    for (const r of objects.clusterRoles ?? []) index.upsertClusterRole(r);
    for (const b of objects.roleBindings ?? []) index.upsertRoleBinding(b);
    for (const b of objects.clusterRoleBindings ?? []) index.upsertClusterRoleBinding(b);
    return index;
  }

  /** upsertRole adds or replaces a Role (keyed by namespace and name). */
  upsertRole(role: Role): void {
    const ns = role.metadata.namespace ?? '';
    let m = this.roles.get(ns);
    if (!m) this.roles.set(ns, (m = new Map()));
    m.set(role.metadata.name, role);
  }

  /** deleteRole removes a Role; absent is fine. */
  deleteRole(namespace: string, name: string): void {
    const m = this.roles.get(namespace);
    m?.delete(name);
    if (m?.size === 0) this.roles.delete(namespace);
  }

  /** upsertClusterRole adds or replaces a ClusterRole. */
  upsertClusterRole(role: ClusterRole): void {
    this.clusterRoles.set(role.metadata.name, role);
    this.aggregated = new Map();
  }

  /** deleteClusterRole removes a ClusterRole; absent is fine. */
  deleteClusterRole(name: string): void {
    if (this.clusterRoles.delete(name)) this.aggregated = new Map();
  }

  /** upsertRoleBinding adds or replaces a RoleBinding (keyed by namespace and name), re-indexing its subjects. */
  upsertRoleBinding(binding: RoleBinding): void {
    const ns = binding.metadata.namespace ?? '';
    this.deleteRoleBinding(ns, binding.metadata.name);
    let nb = this.namespaceBindings.get(ns);
    if (!nb) this.namespaceBindings.set(ns, (nb = { byName: new Map(), bySubject: new Map() }));
    nb.byName.set(binding.metadata.name, binding);
    addBySubject(nb.bySubject, binding.metadata.name, binding.subjects, ns, binding);
  }

  /** deleteRoleBinding removes a RoleBinding; absent is fine. */
  deleteRoleBinding(namespace: string, name: string): void {
    const nb = this.namespaceBindings.get(namespace);
    const old = nb?.byName.get(name);
    if (!nb || !old) return;
    nb.byName.delete(name);
    removeBySubject(nb.bySubject, name, old.subjects, namespace);
    if (nb.byName.size === 0) this.namespaceBindings.delete(namespace);
  }

  /** upsertClusterRoleBinding adds or replaces a ClusterRoleBinding, re-indexing its subjects. */
  upsertClusterRoleBinding(binding: ClusterRoleBinding): void {
    this.deleteClusterRoleBinding(binding.metadata.name);
    this.clusterBindings.set(binding.metadata.name, binding);
    addBySubject(this.clusterBySubject, binding.metadata.name, binding.subjects, undefined, binding);
  }

  /** deleteClusterRoleBinding removes a ClusterRoleBinding; absent is fine. */
  deleteClusterRoleBinding(name: string): void {
    const old = this.clusterBindings.get(name);
    if (!old) return;
    this.clusterBindings.delete(name);
    removeBySubject(this.clusterBySubject, name, old.subjects, undefined);
  }

  /** clusterRoleBindingsFor returns the ClusterRoleBindings naming `key` (a live view: do not modify). */
  clusterRoleBindingsFor(key: SubjectKey): ReadonlyMap<string, ClusterRoleBinding> {
    return this.clusterBySubject.get(key) ?? NO_BINDINGS;
  }

  /** roleBindingsFor returns the RoleBindings in `namespace` naming `key` (a live view: do not modify). */
  roleBindingsFor(namespace: string, key: SubjectKey): ReadonlyMap<string, RoleBinding> {
    return this.namespaceBindings.get(namespace)?.bySubject.get(key) ?? NO_BINDINGS;
  }

  /**
   * rulesForRef resolves a binding's roleRef to rules: a ClusterRole by name,
   * or a Role in `bindingNamespace` (a ClusterRoleBinding, namespace
   * undefined, cannot name a Role). Undefined when the role does not exist.
   */
  rulesForRef(ref: RoleRef, bindingNamespace: string | undefined): readonly PolicyRule[] | undefined {
    if (ref.kind === 'ClusterRole') return this.clusterRoleRules(ref.name);
    if (ref.kind === 'Role' && bindingNamespace !== undefined) {
      const role = this.roles.get(bindingNamespace)?.get(ref.name);
      return role ? (role.rules ?? []) : undefined;
    }
    return undefined;
  }

  /** clusterRoleRules returns a ClusterRole's effective rules (its own plus aggregated ones), or undefined when it does not exist. */
  clusterRoleRules(name: string): readonly PolicyRule[] | undefined {
    const role = this.clusterRoles.get(name);
    if (!role) return undefined;
    if (!role.aggregationRule) return role.rules ?? [];
    let rules = this.aggregated.get(name);
    if (!rules) {
      rules = this.aggregate(role, new Set([name]));
      this.aggregated.set(name, rules);
    }
    return rules;
  }

  private aggregate(role: ClusterRole, visiting: Set<string>): PolicyRule[] {
    const rules = [...(role.rules ?? [])];
    const matchers: LabelMatcher[] = (role.aggregationRule?.clusterRoleSelectors ?? []).map((s) => labelMatcherFromSelector(s));
    // An empty selector list selects nothing (as in Kubernetes), an empty selector would select everything.
    if (matchers.length === 0) return rules;
    for (const [name, other] of this.clusterRoles) {
      if (visiting.has(name) || !matchers.some((m) => matchesLabels(m, other.metadata.labels))) continue;
      visiting.add(name);
      rules.push(...(other.aggregationRule ? this.aggregate(other, visiting) : (other.rules ?? [])));
    }
    return rules;
  }
}
