import os from 'node:os';
import type { Logger } from 'pino';
import type { Config, Role } from '../../config';
import type { RegistrationHandle, Registry, ServiceInstance } from '../../ports/registry';

export const serviceOf = (role: Role) => `vod-${role}`;

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
        metadata: { url },
        load: load(),
        version,
        startedAt,
      }),
    );
  }
  const timer = setInterval(() => {
    const l = load();
    for (const h of handles) h.update({ load: l, metadata: { url } }).catch(() => undefined);
  }, 5000);
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

/** The least-loaded instance of a role, ties broken by id; undefined when none is registered. */
export function leastLoaded(instances: ServiceInstance[]): ServiceInstance | undefined {
  return [...instances].sort((a, b) => a.load - b.load || a.id.localeCompare(b.id))[0];
}
