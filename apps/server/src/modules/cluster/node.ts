import os from 'node:os';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config, Role } from '../../config';
import type { RegistrationHandle, Registry, ServiceInstance } from '../../ports/registry';
import { unhealthyInstances } from './health';

export const serviceOf = (role: Role) => `vod-${role}`;

/** How often a node rewrites its registry entry (load, and `metadata.time`, its clock). */
export const CLOCK_REPORT_MS = 5000;

export interface NodeInfo {
  id: string;
  url: string;
  roles: Role[];
}

/** Registers this process under each of its roles, and keeps its load current. */
export async function registerNode(
  registry: Registry,
  config: Config,
  port: number,
  version: string,
  log: Logger,
  /** Further registry services this node provides (RPC providers: `rpc-<service>`). */
  extraServices: string[] = [],
): Promise<{ node: NodeInfo; stop(): Promise<void> }> {
  const host = config.host === '0.0.0.0' || config.host === '::' ? os.hostname() : config.host;
  const url = config.advertiseUrl ?? `http://${host === os.hostname() ? '127.0.0.1' : host}:${port}`;
  // Where clients send this node's uploads (registered only by upload nodes that differ from url).
  const metadata: Record<string, string> =
    config.uploadUrl && config.roles.includes('upload') ? { url, uploadUrl: config.uploadUrl } : { url };
  const id = `${os.hostname()}-${process.pid}-${port}`.replace(/[^A-Za-z0-9._:@-]/g, '_');
  const load = () => Number((os.loadavg()[0]! / Math.max(1, os.cpus().length)).toFixed(3));
  const startedAt = new Date().toISOString();
  const handles: RegistrationHandle[] = [];
  for (const service of [...config.roles.map(serviceOf), ...extraServices]) {
    handles.push(
      await registry.register(service, {
        id,
        host,
        port,
        roles: config.roles,
        weight: config.nodeWeight,
        metadata: { ...metadata, time: startedAt },
        load: load(),
        version,
        startedAt,
      }),
    );
  }
  // `time`: this node's clock when it wrote the entry; `vodcloud doctor` compares it with its own on
  // receipt of an update to tell clock skew between nodes.
  const timer = setInterval(() => {
    const l = load();
    const now = { ...metadata, time: new Date().toISOString() };
    for (const h of handles) h.update({ load: l, metadata: now }).catch(() => undefined);
  }, CLOCK_REPORT_MS);
  timer.unref();
  log.info({ nodeId: id, url, roles: config.roles }, 'registered in the registry');
  return {
    node: { id, url, roles: config.roles },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled(handles.map((h) => h.unregister()));
    },
  };
}

/** Loads this close to the lowest count as equal (load: the 1-minute load average per CPU, 3 decimals). */
export const LOAD_TIE = 0.02;

/**
 * One instance at random in proportion to its weight (instances of weight 0 only when every weight is 0,
 * then all equally); undefined for an empty list. `random` returns [0, 1) (tests pass a seeded one).
 */
export function weightedPick<T extends { weight: number }>(
  items: T[],
  random: () => number = Math.random,
): T | undefined {
  const weights = items.map((i) => (Number.isFinite(i.weight) ? Math.max(0, i.weight) : 0));
  const total = weights.reduce((a, w) => a + w, 0);
  if (total <= 0) return items[Math.floor(random() * items.length)];
  let r = random() * total;
  for (const [k, item] of items.entries()) {
    r -= weights[k]!;
    if (r < 0) return item;
  }
  return items.findLast((_, k) => weights[k]! > 0);
}

/**
 * The instance new work goes to: the least-loaded one, and among instances loaded within LOAD_TIE of the
 * lowest, one at random by weight. Equal nodes (an idle cluster, or nodes on one machine reporting the same
 * load average) therefore share the uploads instead of the first by id taking every one of them until
 * its load, sampled every few seconds, catches up. Undefined when none is registered.
 */
export function leastLoaded(
  instances: ServiceInstance[],
  random: () => number = Math.random,
): ServiceInstance | undefined {
  if (instances.length === 0) return undefined;
  const load = (i: ServiceInstance) => (Number.isFinite(i.load) ? i.load : Number.POSITIVE_INFINITY);
  const lowest = Math.min(...instances.map(load));
  // Sorted by id so a seeded `random` gives the same choice whatever order the registry lists them in.
  const tied = instances.filter((i) => load(i) <= lowest + LOAD_TIE).sort((a, b) => a.id.localeCompare(b.id));
  return weightedPick(tied, random);
}

/** Registered instances of a role that the sentinel does not report unhealthy. */
export function healthyInstances(registry: Registry, role: Role): ServiceInstance[] {
  const sick = unhealthyInstances(registry);
  return registry.list(serviceOf(role)).filter((i) => !sick.has(i.id));
}

/**
 * LBS for playback: the base URL players are sent to. A CDN or public URL when configured; else this node
 * when it serves the stream role itself; else a healthy stream node (weighted random, so viewers spread);
 * else the URL the request came in on.
 */
export function playbackBase(o: {
  cdnUrl?: string;
  publicUrl?: string;
  registry: Registry;
  selfServesStream: boolean;
  requestBase: (req: FastifyRequest) => string;
}): (req: FastifyRequest) => string {
  // The first list() of a service starts watching it: do it now, not on the first request.
  o.registry.list(serviceOf('stream'));
  o.registry.list('vod-sentinel');
  return (req) => {
    if (o.cdnUrl) return o.cdnUrl.replace(/\/$/, '');
    if (o.publicUrl) return o.publicUrl;
    if (!o.selfServesStream) {
      const nodes = healthyInstances(o.registry, 'stream').filter((i) => typeof i.metadata.url === 'string');
      const chosen = weightedPick(nodes);
      if (chosen) return String(chosen.metadata.url);
    }
    return o.requestBase(req);
  };
}
