/** Minimal kinds for controller tests. */
import type { KindInfo } from '../../../../lib/kinds/registry.js';

function kind(k: string, plural: string, namespaced: boolean): KindInfo {
  return {
    group: 'cloudlet.dev',
    version: 'v1alpha1',
    kind: k,
    listKind: `${k}List`,
    plural,
    singular: k.toLowerCase(),
    shortNames: [],
    categories: [],
    namespaced,
    schema: {},
    printerColumns: [],
    hasStatus: true,
    apiVersion: 'cloudlet.dev/v1alpha1',
  };
}

export const INSTANCE = kind('Instance', 'instances', true);
export const MEMBER = kind('Member', 'members', false);

export function instance(
  name: string,
  extra: Record<string, unknown> = {},
): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> } {
  return {
    apiVersion: 'cloudlet.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: 'default' },
    spec: { image: 'busybox', ...extra },
  };
}
