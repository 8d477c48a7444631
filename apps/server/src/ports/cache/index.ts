import { MemoryCache } from './memory';
import type { Cache, CacheOptions } from './types';

export { MemoryCache } from './memory';
export type { RedisCache } from './redis';
export * from './types';

/**
 * Builds a cache from `VOD_CACHE_URL`:
 *   `memory`           private in-process store
 *   `memory://<name>`  in-process store shared by every cache created with the same name
 *   `redis://host:port[/db]` (or `rediss://`)
 */
export async function createCache(url: string, opts: CacheOptions = {}): Promise<Cache> {
  if (url === 'memory') return new MemoryCache(opts);
  if (url.startsWith('memory://')) {
    const storeName = url.slice('memory://'.length);
    return new MemoryCache({ ...opts, storeName: storeName || undefined });
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    const { RedisCache } = await import('./redis'); // loaded only when configured
    const cache = new RedisCache(url, opts);
    try {
      return await cache.connect();
    } catch (err) {
      await cache.close();
      throw new Error(`cache: cannot connect to ${redactUrl(url)}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    `cache: unsupported VOD_CACHE_URL "${redactUrl(url)}" (use memory or redis://host:port[/db])`,
  );
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
