/**
 * ensureNamespaces makes the Namespace objects a member needs before the
 * API admits anything into a namespace: `default`, and — on an upgrade from
 * a release where namespaces were only a path segment — one for every
 * namespace that already holds objects. Every member runs it at start;
 * creates are idempotent (AlreadyExists is success).
 */
import { updateStatus } from '../../lib/controller/status.js';
import { isCode } from '../../lib/errors.js';
import { NAMESPACE_KIND } from '../../lib/kinds/builtin.js';
import type { KindRegistry } from '../../lib/kinds/registry.js';
import type { Namespace } from '../../lib/kinds/types.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Store } from '../../lib/store/types.js';
import { namespacedKinds } from './namespace-reconciler.js';
import { DEFAULT_NAMESPACE, newNamespace } from '../../lib/kinds/namespaces.js';

/**
 * ensureNamespaces creates Namespace `default` and one for every namespace
 * holding objects of a stored namespaced kind, each with phase Active;
 * existing Namespaces are left as they are. Resolves with the names it
 * created.
 */
export async function ensureNamespaces(store: Store, kinds: KindRegistry, logger: Logger): Promise<string[]> {
  const names = new Set([DEFAULT_NAMESPACE]);
  for (const kind of namespacedKinds(kinds)) {
    for (const obj of (await store.list(kind)).items) if (obj.metadata.namespace) names.add(obj.metadata.namespace);
  }
  const created: string[] = [];
  for (const name of [...names].sort()) {
    try {
      await store.create<Namespace>(NAMESPACE_KIND, newNamespace(name) as Namespace);
    } catch (err) {
      if (isCode(err, 'AlreadyExists')) continue;
      throw err;
    }
    // The create drops status (a status subresource); the phase is written through it.
    await updateStatus<Namespace>(
      store,
      NAMESPACE_KIND,
      { name },
      (latest) => (latest.status?.phase ? undefined : { ...latest.status, phase: 'Active' }),
      { ifGone: 'skip' },
    );
    created.push(name);
  }
  if (created.length > 0) logger.info('created namespaces', { component: 'namespaces', names: created });
  return created;
}
