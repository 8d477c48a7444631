import type { Registry, ServiceInstance } from '../../ports/registry';

/** The registry service every sentinel publishes its view under. */
export const SENTINEL_SERVICE = 'vod-sentinel';

export interface InstanceHealth {
  ok: boolean;
  /** ISO 8601: the probe that set this state. */
  checkedAt: string;
  detail: string;
}

/** A sentinel's registry metadata. */
export interface SentinelView {
  health: Record<string, InstanceHealth>;
  /** Instance ids the sentinel holds unhealthy. */
  unhealthy: string[];
}

function viewOf(instance: ServiceInstance): SentinelView {
  const m = instance.metadata as Partial<SentinelView>;
  const health: Record<string, InstanceHealth> = {};
  if (m.health && typeof m.health === 'object') {
    for (const [id, h] of Object.entries(m.health)) {
      if (h && typeof h === 'object' && typeof h.ok === 'boolean')
        health[id] = { ok: h.ok, checkedAt: String(h.checkedAt ?? ''), detail: String(h.detail ?? '') };
    }
  }
  const unhealthy = Array.isArray(m.unhealthy) ? m.unhealthy.filter((x) => typeof x === 'string') : [];
  return { health, unhealthy };
}

/**
 * Instance ids some sentinel holds unhealthy (the union over every registered sentinel), from the
 * registry's local cache: never waits for the network (with ZooKeeper the first call starts tracking
 * vod-sentinel and sees nothing until it has loaded). For load balancers: skip these while others exist.
 */
export function unhealthyInstances(registry: Registry): Set<string> {
  const out = new Set<string>();
  for (const s of registry.list(SENTINEL_SERVICE)) for (const id of viewOf(s).unhealthy) out.add(id);
  return out;
}

export type HealthStatus = {
  status: 'healthy' | 'unhealthy' | 'unknown';
  checkedAt: string | null;
  detail: string | null;
};

/**
 * The merged view of the sentinels (instances of vod-sentinel) per instance id: unhealthy when any sentinel says so (as
 * unhealthyInstances does), else healthy when one says so; the latest check of that verdict.
 */
export function clusterHealth(sentinels: ServiceInstance[]): (instanceId: string) => HealthStatus {
  const views = sentinels.map(viewOf);
  return (id) => {
    const checks = views.map((v) => v.health[id]).filter((h): h is InstanceHealth => !!h);
    const bad = checks.filter((h) => !h.ok);
    const pick = (bad.length ? bad : checks).sort((a, b) => (a.checkedAt < b.checkedAt ? 1 : -1))[0];
    if (!pick) return { status: 'unknown', checkedAt: null, detail: null };
    return { status: pick.ok ? 'healthy' : 'unhealthy', checkedAt: pick.checkedAt, detail: pick.detail };
  };
}

/**
 * The instances of a service. With ZooKeeper, list() of a service not tracked yet answers [] until it
 * has loaded; this waits (up to waitMs) for the first list from a subscription instead.
 */
export async function instancesOf(
  registry: Registry,
  service: string,
  waitMs = 2000,
): Promise<ServiceInstance[]> {
  const now = registry.list(service);
  if (now.length > 0 || registry.kind === 'local') return now;
  return new Promise((resolve) => {
    let done = false;
    let unsubscribe: (() => void) | undefined;
    const finish = (list: ServiceInstance[]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => unsubscribe?.());
      resolve(list);
    };
    const timer = setTimeout(() => finish(registry.list(service)), waitMs);
    unsubscribe = registry.subscribe(service, finish);
  });
}
