/**
 * API discovery documents: aggregated (apidiscovery.k8s.io/v2 and v2beta1)
 * when the client asks for it, the legacy documents otherwise.
 */
import type { KindInfo, KindRegistry } from '../kinds/registry.js';

/** VERBS are the verbs served for every kind. */
export const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** verbsOf is what a kind serves: every verb unless it says otherwise (the review kinds: create only). */
export function verbsOf(k: KindInfo): readonly string[] {
  return k.verbs ?? VERBS;
}

/** aggregatedVersionOf returns `v2` or `v2beta1` when Accept asks for an APIGroupDiscoveryList, else undefined. */
export function aggregatedVersionOf(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('g') === 'apidiscovery.k8s.io' && params.get('as') === 'APIGroupDiscoveryList') {
      const v = params.get('v');
      if (v === 'v2' || v === 'v2beta1') return v;
    }
  }
  return undefined;
}

/** aggregatedContentType is the Content-Type that makes clients parse an aggregated document. */
export function aggregatedContentType(v: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}

function aggregatedResource(k: KindInfo): Record<string, unknown> {
  const r: Record<string, unknown> = {
    resource: k.plural,
    singularResource: k.singular,
    scope: k.namespaced ? 'Namespaced' : 'Cluster',
    responseKind: { group: k.group, version: k.version, kind: k.kind },
    verbs: verbsOf(k),
  };
  if (k.shortNames.length > 0) r.shortNames = k.shortNames;
  if (k.categories.length > 0) r.categories = k.categories;
  if (k.hasStatus) {
    r.subresources = [
      { subresource: 'status', responseKind: { group: k.group, version: k.version, kind: k.kind }, verbs: ['get', 'patch', 'update'] },
    ];
  }
  return r;
}

function groupsOf(kinds: readonly KindInfo[]): Map<string, Map<string, KindInfo[]>> {
  const groups = new Map<string, Map<string, KindInfo[]>>();
  for (const k of kinds) {
    const versions = groups.get(k.group) ?? new Map<string, KindInfo[]>();
    versions.set(k.version, [...(versions.get(k.version) ?? []), k]);
    groups.set(k.group, versions);
  }
  return groups;
}

/** aggregatedDiscovery is the APIGroupDiscoveryList for `/api` (core) or `/apis` (named groups). */
export function aggregatedDiscovery(kinds: KindRegistry, which: 'core' | 'apis', v: 'v2' | 'v2beta1'): Record<string, unknown> {
  const items: Array<Record<string, unknown>> = [];
  for (const [group, versions] of groupsOf(kinds.all())) {
    if ((group === '') !== (which === 'core')) continue;
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: [...versions].map(([version, ks]) => ({ version, resources: ks.map(aggregatedResource), freshness: 'Current' })),
    });
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${v}`, metadata: {}, items };
}

/** legacyApiVersions is the legacy `/api` document. */
export function legacyApiVersions(kinds: KindRegistry): Record<string, unknown> {
  const core = kinds.all().some((k) => k.group === '');
  return { kind: 'APIVersions', versions: core ? ['v1'] : [], serverAddressByClientCIDRs: [] };
}

/** legacyGroupList is the legacy `/apis` document (APIGroupList). */
export function legacyGroupList(kinds: KindRegistry): Record<string, unknown> {
  const groups: Array<Record<string, unknown>> = [];
  for (const [group, versions] of groupsOf(kinds.all())) {
    if (group === '') continue;
    const vs = [...versions.keys()].map((version) => ({ groupVersion: `${group}/${version}`, version }));
    groups.push({ name: group, versions: vs, preferredVersion: vs[0] });
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** legacyResourceList is `/apis/{g}/{v}` or `/api/v1` (APIResourceList); undefined for an unknown group-version. */
export function legacyResourceList(kinds: KindRegistry, group: string, version: string): Record<string, unknown> | undefined {
  const ks = kinds.all().filter((k) => k.group === group && k.version === version);
  if (ks.length === 0) return undefined;
  const resources: Array<Record<string, unknown>> = [];
  for (const k of ks) {
    resources.push({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: verbsOf(k),
      shortNames: k.shortNames,
      categories: k.categories,
    });
    if (k.hasStatus)
      resources.push({
        name: `${k.plural}/status`,
        singularName: '',
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: ['get', 'patch', 'update'],
      });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}
