/**
 * Quota admission: core v1 ResourceQuota semantics, with Kubernetes' field
 * and resource names. `usageOf` says what one object uses (pure, tabled);
 * `QuotaAdmission.charge` is called by the API's admission before an object
 * is created or updated and either refuses it (ForbiddenError, Kubernetes'
 * message) or adds its usage to `status.used` of every quota in its namespace
 * that limits something it uses.
 *
 * Charging is a compare-and-swap on the quota's resourceVersion: two racing
 * creates that each fit alone but not together read the same `used`, one
 * write wins, the other conflicts, re-reads, and is refused. A charge is never
 * refunded here (a failed create, a delete, a shrinking update): the quota
 * reconciler (controllers/namespaces/quota-reconciler.ts) recomputes `used`
 * from the live objects, as Kubernetes' quota controller does. Decreases are
 * not applied at admission for the same reason: if the write that follows
 * failed, `used` would be too low and admit more than the quota allows.
 */
import { ForbiddenError, UnavailableError, isCode } from '../errors.js';
import { RESOURCE_QUOTA_KIND } from '../kinds/builtin.js';
import { formatCores, formatExactBytes, parseQuantity } from '../kinds/quantity.js';
import type { KindInfo, KindRegistry } from '../kinds/registry.js';
import { CLOUDLET_GROUP } from '../kinds/registry.js';
import { DEFAULT_CPU, DEFAULT_MEMORY } from '../kinds/types.js';
import type { Instance, ResourceList, ResourceQuota, Volume } from '../kinds/types.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KubeObject, Store } from '../store/types.js';
import type { Clock } from '../controller/clock.js';
import { Informer } from '../controller/informer.js';

/** Usage maps quota resource names to amounts: cores for cpu, bytes for memory and storage, a number for counts. */
export type Usage = Record<string, number>;

/** CPU_RESOURCES are the quota names of an instance's cores. */
export const CPU_RESOURCES = ['requests.cpu', 'limits.cpu', 'cpu'] as const;
/** MEMORY_RESOURCES are the quota names of an instance's memory. */
export const MEMORY_RESOURCES = ['requests.memory', 'limits.memory', 'memory'] as const;
/** STORAGE_RESOURCE is the quota name of volume sizes and instance root filesystem sizes. */
export const STORAGE_RESOURCE = 'requests.storage';
/** DEFAULT_QUOTA_ATTEMPTS bounds the compare-and-swap writes of one quota in one charge. */
export const DEFAULT_QUOTA_ATTEMPTS = 5;

const CPU_NAMES: ReadonlySet<string> = new Set(CPU_RESOURCES);

/** isInstanceKind tells whether `kind` is Cloudlet's Instance. */
function isInstanceKind(kind: KindInfo): boolean {
  return kind.group === CLOUDLET_GROUP && kind.plural === 'instances';
}

/** isVolumeKind tells whether `kind` is Cloudlet's Volume. */
function isVolumeKind(kind: KindInfo): boolean {
  return kind.group === CLOUDLET_GROUP && kind.plural === 'volumes';
}

/** resourceName is the kind's resource as Kubernetes names it in messages: `instances.cloudlet.dev`, or `events` for core. */
export function resourceName(kind: KindInfo): string {
  return kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`;
}

/** countResource is the object-count quota name of a kind: `count/instances.cloudlet.dev`, or `count/events` for core. */
export function countResource(kind: KindInfo): string {
  return `count/${resourceName(kind)}`;
}

/** trackedResources lists every quota name an object of `kind` can use (whether or not a given object does). */
export function trackedResources(kind: KindInfo): string[] {
  if (isInstanceKind(kind)) return [countResource(kind), ...CPU_RESOURCES, ...MEMORY_RESOURCES, STORAGE_RESOURCE];
  if (isVolumeKind(kind)) return [countResource(kind), STORAGE_RESOURCE];
  return [countResource(kind)];
}

/**
 * usageOf is what one object of `kind` uses: an Instance its count, cores
 * (spec.cpu, default 1) as requests.cpu, limits.cpu and cpu, memory
 * (spec.memory, default 256Mi) likewise, and spec.rootfs.size as
 * requests.storage when set; a Volume its count and spec.size as
 * requests.storage; any other namespaced kind its count. Cluster-scoped
 * kinds use nothing. Throws ValidationError on a malformed quantity.
 */
export function usageOf(kind: KindInfo, obj: KubeObject): Usage {
  if (!kind.namespaced) return {};
  const usage: Usage = { [countResource(kind)]: 1 };
  if (isInstanceKind(kind)) {
    const spec = (obj as Instance).spec;
    const cpu = parseQuantity(spec?.cpu ?? DEFAULT_CPU, 'spec.cpu');
    const memory = parseQuantity(spec?.memory ?? DEFAULT_MEMORY, 'spec.memory');
    for (const r of CPU_RESOURCES) usage[r] = cpu;
    for (const r of MEMORY_RESOURCES) usage[r] = memory;
    if (spec?.rootfs?.size !== undefined) usage[STORAGE_RESOURCE] = parseQuantity(spec.rootfs.size, 'spec.rootfs.size');
  } else if (isVolumeKind(kind)) {
    usage[STORAGE_RESOURCE] = parseQuantity((obj as Volume).spec?.size, 'spec.size');
  }
  return usage;
}

/** addAmounts adds two amounts, rounding sums of fractions to millis (quantities have no finer precision) so 0.1 + 0.2 is 0.3. */
export function addAmounts(a: number, b: number): number {
  const sum = a + b;
  return Number.isInteger(sum) ? sum : Math.round(sum * 1000) / 1000;
}

/** addUsage returns a + b, per resource. */
export function addUsage(a: Usage, b: Usage): Usage {
  const out: Usage = { ...a };
  for (const [r, v] of Object.entries(b)) out[r] = addAmounts(out[r] ?? 0, v);
  return out;
}

/**
 * usageDelta is what admitting `obj` adds: usageOf(obj) − usageOf(previous),
 * per resource, keeping only increases (see the file comment).
 */
export function usageDelta(kind: KindInfo, obj: KubeObject, previous?: KubeObject): Usage {
  const now = usageOf(kind, obj);
  const before = previous ? usageOf(kind, previous) : {};
  const out: Usage = {};
  for (const [r, v] of Object.entries(now)) {
    const d = addAmounts(v, -(before[r] ?? 0));
    if (d > 0) out[r] = d;
  }
  return out;
}

/** parseResourceList parses a `hard` or `used` list; throws ValidationError naming `field[resource]` for a bad quantity. */
export function parseResourceList(list: ResourceList | undefined, field: string): Usage {
  const out: Usage = {};
  for (const [r, q] of Object.entries(list ?? {})) out[r] = parseQuantity(q, `${field}[${r}]`);
  return out;
}

/** formatAmount renders an amount of `resource` as Kubernetes would: cores as `3` or `2500m`, counts plainly, bytes exactly (`1Gi`, `1500`). */
export function formatAmount(resource: string, amount: number): string {
  if (CPU_NAMES.has(resource)) return formatCores(amount);
  if (resource.startsWith('count/')) return String(Math.round(amount));
  return formatExactBytes(amount);
}

/** formatResourceList renders every amount of `usage` with formatAmount. */
export function formatResourceList(usage: Usage): ResourceList {
  const out: ResourceList = {};
  for (const r of Object.keys(usage).sort()) out[r] = formatAmount(r, usage[r] ?? 0);
  return out;
}

/** quotaKinds lists the stored namespaced kinds whose objects use any of `resources`. */
export function quotaKinds(kinds: KindRegistry, resources: readonly string[]): KindInfo[] {
  const wanted = new Set(resources);
  return kinds.all().filter((k) => k.namespaced && k.virtual !== true && trackedResources(k).some((r) => wanted.has(r)));
}

/**
 * computeUsed sums, over the live objects of `namespace` (those without a
 * deletionTimestamp), what they use of each of `resources`; every resource
 * is in the result, 0 when unused. Reads the store (consistent lists).
 */
export async function computeUsed(store: Store, kinds: KindRegistry, namespace: string, resources: readonly string[]): Promise<Usage> {
  const used: Usage = Object.fromEntries(resources.map((r) => [r, 0]));
  for (const kind of quotaKinds(kinds, resources)) {
    const { items } = await store.list(kind, { namespace });
    for (const obj of items) {
      if (obj.metadata.deletionTimestamp !== undefined) continue;
      for (const [r, v] of Object.entries(usageOf(kind, obj))) if (r in used) used[r] = addAmounts(used[r] ?? 0, v);
    }
  }
  return used;
}

/** QuotaCheck is one quota's decision for one request: the resources it would exceed, empty when it fits. */
export interface QuotaCheck {
  exceeded: string[];
  /** used after the charge, for every resource the quota limits */
  next: Usage;
}

/** checkQuota decides whether `delta` fits `hard` given `used` (pure): which limited resources it would exceed, and the used amounts after it. */
export function checkQuota(hard: Usage, used: Usage, delta: Usage): QuotaCheck {
  const exceeded: string[] = [];
  const next: Usage = {};
  for (const r of Object.keys(hard).sort()) {
    const d = delta[r] ?? 0;
    const after = addAmounts(used[r] ?? 0, d);
    next[r] = after;
    if (d > 0 && after > (hard[r] ?? 0)) exceeded.push(r);
  }
  return { exceeded, next };
}

/** quotaExceededMessage is Kubernetes' refusal: `<resource> "<name>" is forbidden: exceeded quota: <quota>, requested: …, used: …, limited: …`. */
export function quotaExceededMessage(
  kind: KindInfo,
  name: string,
  quota: string,
  what: { exceeded: readonly string[]; delta: Usage; used: Usage; hard: Usage },
): string {
  const list = (u: Usage): string => what.exceeded.map((r) => `${r}=${formatAmount(r, u[r] ?? 0)}`).join(',');
  return (
    `${resourceName(kind)} "${name}" is forbidden: exceeded quota: ${quota}, ` +
    `requested: ${list(what.delta)}, used: ${list(what.used)}, limited: ${list(what.hard)}`
  );
}

/** QuotaAdmissionOptions wire a QuotaAdmission. */
export interface QuotaAdmissionOptions {
  store: Store;
  kinds: KindRegistry;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** attempts bounds the compare-and-swap writes of one quota per charge (default DEFAULT_QUOTA_ATTEMPTS) */
  attempts?: number;
}

/** Charging is one quota being charged: the copy read and its parsed limits and usage. */
interface Charging {
  quota: ResourceQuota;
  hard: Usage;
  used: Usage;
}

/** QuotaAdmission enforces ResourceQuotas at admission; see the file comment. */
export class QuotaAdmission {
  private informer: Informer<ResourceQuota> | undefined;

  constructor(private readonly o: QuotaAdmissionOptions) {}

  /** start begins caching the ResourceQuotas; until the cache has synced, charge lists them from the store. */
  start(): void {
    if (this.informer) return;
    this.informer = new Informer<ResourceQuota>({
      store: this.o.store,
      kind: RESOURCE_QUOTA_KIND,
      logger: this.o.logger,
      metrics: this.o.metrics,
      clock: this.o.clock,
    });
    this.informer.start();
  }

  /** waitForSync resolves once the cache has synced (at once when not started). */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await this.informer?.waitForSync(signal);
  }

  /** stop ends the cache's watch. */
  async stop(): Promise<void> {
    const informer = this.informer;
    this.informer = undefined;
    await informer?.stop();
  }

  /**
   * charge admits `obj` (of `kind`; `previous` is the stored copy on an
   * update) against every ResourceQuota of its namespace whose spec.hard
   * limits a resource it adds: throws ForbiddenError with Kubernetes' message
   * when one would be exceeded, else adds the usage to each quota's
   * status.used (compare-and-swap on its resourceVersion, re-read and
   * re-checked on conflict; UnavailableError after `attempts` conflicts).
   * With `dryRun` it checks and writes nothing. A quota without status.used
   * for a resource is first counted from the store.
   */
  async charge(kind: KindInfo, obj: KubeObject, previous?: KubeObject, dryRun = false): Promise<void> {
    const namespace = obj.metadata.namespace;
    if (!kind.namespaced || !namespace) return;
    const delta = usageDelta(kind, obj, previous);
    if (Object.keys(delta).length === 0) return;
    const name = obj.metadata.name || obj.metadata.generateName || '';
    const quotas = (await this.quotasIn(namespace))
      .filter((q) => Object.keys(q.spec?.hard ?? {}).some((r) => r in delta))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    // Check every quota before writing any, so a refusal charges nothing.
    const charging: Charging[] = [];
    for (const quota of quotas) {
      const c = await this.read(quota);
      this.refuseIfExceeded(kind, name, c, delta);
      charging.push(c);
    }
    if (dryRun) return;
    for (const c of charging) await this.write(kind, name, c, delta);
  }

  /** quotasIn lists the namespace's quotas from the cache once synced, else from the store. */
  private async quotasIn(namespace: string): Promise<ResourceQuota[]> {
    if (this.informer?.hasSynced()) return this.informer.list((q) => q.metadata.namespace === namespace);
    return (await this.o.store.list<ResourceQuota>(RESOURCE_QUOTA_KIND, { namespace })).items;
  }

  /** read parses a quota's limits and usage, counting from the store what status.used does not hold yet. */
  private async read(quota: ResourceQuota): Promise<Charging> {
    const field = `ResourceQuota ${quota.metadata.name}`;
    const hard = parseResourceList(quota.spec?.hard, `${field} spec.hard`);
    const used = parseResourceList(quota.status?.used, `${field} status.used`);
    const missing = Object.keys(hard).filter((r) => !(r in used));
    if (missing.length > 0) {
      const namespace = quota.metadata.namespace ?? '';
      Object.assign(used, await computeUsed(this.o.store, this.o.kinds, namespace, missing));
    }
    return { quota, hard, used };
  }

  private refuseIfExceeded(kind: KindInfo, name: string, c: Charging, delta: Usage): Usage {
    const { exceeded, next } = checkQuota(c.hard, c.used, delta);
    if (exceeded.length > 0) {
      throw new ForbiddenError(quotaExceededMessage(kind, name, c.quota.metadata.name, { exceeded, delta, used: c.used, hard: c.hard }));
    }
    return next;
  }

  /** write charges one quota at the resourceVersion read; on conflict it re-reads, re-checks and tries again. */
  private async write(kind: KindInfo, name: string, first: Charging, delta: Usage): Promise<void> {
    const attempts = Math.max(1, this.o.attempts ?? DEFAULT_QUOTA_ATTEMPTS);
    const { namespace, name: quotaName } = first.quota.metadata;
    let c = first;
    for (let attempt = 1; ; attempt++) {
      const next = this.refuseIfExceeded(kind, name, c, delta);
      const status = { ...c.quota.status, hard: c.quota.spec?.hard ?? {}, used: formatResourceList(next) };
      try {
        await this.o.store.update<ResourceQuota>(RESOURCE_QUOTA_KIND, { ...c.quota, status }, { subresource: 'status' });
        return;
      } catch (err) {
        if (!isCode(err, 'Conflict')) throw err;
        if (attempt >= attempts) {
          throw new UnavailableError(
            `${resourceName(kind)} "${name}": resource quota ${quotaName} changed under ${attempts} concurrent charges; retry`,
            { cause: err, retryAfterSeconds: 1 },
          );
        }
      }
      let latest: ResourceQuota;
      try {
        latest = await this.o.store.get<ResourceQuota>(RESOURCE_QUOTA_KIND, quotaName, namespace);
      } catch (err) {
        // The quota was deleted meanwhile: nothing left to charge.
        if (isCode(err, 'NotFound')) return;
        throw err;
      }
      c = await this.read(latest);
    }
  }
}
