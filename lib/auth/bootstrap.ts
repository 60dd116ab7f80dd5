/**
 * ensureDefaultRbac writes the default ClusterRoles and ClusterRoleBindings
 * (lib/auth/default-roles.ts) at start-up, as Kubernetes' API server does:
 * missing ones are created; existing ones marked
 * `rbac.authorization.kubernetes.io/autoupdate: "true"` are brought back to
 * the default rules and subjects (so an upgrade's new rules arrive); ones an
 * admin set to "false" are left alone. Every member may run it; races end in
 * AlreadyExists or Conflict, which are fine (another member wrote the same).
 */
import { deepEqual } from '../json.js';
import { AlreadyExistsError, isCode } from '../errors.js';
import { CLUSTER_ROLE_BINDING_KIND, CLUSTER_ROLE_KIND } from '../kinds/builtin.js';
import type { KindInfo } from '../kinds/registry.js';
import type { Logger } from '../log/logger.js';
import type { KubeObject, Store } from '../store/types.js';
import { defaultClusterRoleBindings, defaultClusterRoles } from './default-roles.js';

const AUTOUPDATE = 'rbac.authorization.kubernetes.io/autoupdate';

async function ensure(store: Store, kind: KindInfo, want: KubeObject, fields: string[], logger: Logger): Promise<void> {
  try {
    await store.create(kind, want);
    logger.info('default RBAC object created', { kind: kind.kind, name: want.metadata.name });
    return;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  const current = await store.get(kind, want.metadata.name);
  if (current.metadata.annotations?.[AUTOUPDATE] === 'false') return;
  if (fields.every((f) => deepEqual(current[f], want[f]))) return;
  const next: KubeObject = { ...current };
  for (const f of fields) next[f] = want[f];
  try {
    await store.update(kind, next);
    logger.info('default RBAC object brought up to date', { kind: kind.kind, name: want.metadata.name });
  } catch (err) {
    if (!isCode(err, 'Conflict')) throw err;
  }
}

/** ensureDefaultRbac: see the file comment. */
export async function ensureDefaultRbac(store: Store, logger: Logger): Promise<void> {
  for (const role of defaultClusterRoles())
    await ensure(store, CLUSTER_ROLE_KIND, role as unknown as KubeObject, ['rules', 'aggregationRule'], logger);
  for (const b of defaultClusterRoleBindings())
    await ensure(store, CLUSTER_ROLE_BINDING_KIND, b as unknown as KubeObject, ['roleRef', 'subjects'], logger);
}
