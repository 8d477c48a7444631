import { LocalRegistry } from './local';
import type { Registry } from './types';
import { parseZooKeeperUrl } from './url';

export { LocalRegistry } from './local';
export * from './types';
export { parseZooKeeperUrl } from './url';
export type { ZooKeeperRegistry } from './zookeeper';

export interface RegistryOptions {
  /** ZooKeeper session timeout; also `?sessionTimeoutMs=` in the URL. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** ZooKeeper: how long to wait for the first connection. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

/**
 * Builds a registry from `VOD_REGISTRY_URL`:
 *   `local` / `local://<name>`  in-process registry shared by everything in this process using the same name
 *   `zookeeper://host:port[,host:port]/chroot[?sessionTimeoutMs=N]`
 */
export async function createRegistry(url: string, opts: RegistryOptions = {}): Promise<Registry> {
  if (url === 'local') return new LocalRegistry();
  if (url.startsWith('local://')) return new LocalRegistry(url.slice('local://'.length) || 'default');
  if (url.startsWith('zookeeper://')) {
    const { servers, chroot, params } = parseZooKeeperUrl(url);
    const fromUrl = params.get('sessionTimeoutMs');
    // Loaded only when configured: an embedded deployment never pays for the ZooKeeper client.
    const { ZooKeeperRegistry } = await import('./zookeeper');
    return new ZooKeeperRegistry({
      servers,
      chroot,
      sessionTimeoutMs: opts.sessionTimeoutMs ?? (fromUrl ? Number(fromUrl) : undefined),
      connectTimeoutMs: opts.connectTimeoutMs,
    }).start();
  }
  throw new Error(
    `registry: unsupported VOD_REGISTRY_URL "${url}" (use local or zookeeper://host:port/chroot)`,
  );
}
