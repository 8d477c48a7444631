import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisKeys, engineUrl } from '../../../../../test/support/engines';
import { runCacheSuite } from './conformance';
import { createCache } from './index';

const run = randomBytes(4).toString('hex');

runCacheSuite('memory', () => createCache(`memory://conformance-${run}`, { sweepIntervalMs: 50 }));

describe('memory adapter', () => {
  it('keeps private stores apart and sweeps expired entries', async () => {
    const one = await createCache('memory', { sweepIntervalMs: 20 });
    const two = await createCache('memory');
    await one.set('k', 'v', { ttlMs: 30 });
    expect(await two.get('k')).toBeNull();
    expect((await one.health()).detail).toMatch(/1 entries/);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await one.health()).detail).toMatch(/0 entries/);
    await one.close();
    await two.close();
  });

  it('keeps namespaces apart in a shared store', async () => {
    const x = await createCache(`memory://ns-${run}`, { namespace: 'x' });
    const y = await createCache(`memory://ns-${run}`, { namespace: 'y' });
    await x.set('k', '1');
    expect(await y.get('k')).toBeNull();
    const lx = await x.acquireLock('l', { leaseMs: 1000 });
    const ly = await y.acquireLock('l', { leaseMs: 1000 });
    expect(lx && ly).toBeTruthy();
    await x.close();
    await y.close();
  });

  it('rejects unknown URLs', async () => {
    await expect(createCache('memcached://x')).rejects.toThrow(/unsupported/);
  });
});

const redisUrl = engineUrl('redis', 'cache: redis adapter');
describe.skipIf(!redisUrl)('redis', () => {
  const namespace = `vodcloud-test-${run}`;
  runCacheSuite('redis', () => createCache(redisUrl!, { namespace }));

  it('keeps namespaces apart', async () => {
    const x = await createCache(redisUrl!, { namespace: `${namespace}-x` });
    const y = await createCache(redisUrl!, { namespace: `${namespace}-y` });
    await x.set('k', '1');
    expect(await y.get('k')).toBeNull();
    await x.close();
    await y.close();
  });

  it('fails fast on an unreachable server', async () => {
    await expect(createCache('redis://127.0.0.1:1')).rejects.toThrow(/cannot connect/);
  });

  afterAll(async () => {
    // remove everything this run wrote (never FLUSHDB: the server is shared)
    await deleteRedisKeys(`${namespace}*`, { url: redisUrl! });
  });
});
