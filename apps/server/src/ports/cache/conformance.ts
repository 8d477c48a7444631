// The one conformance suite every Cache adapter passes; kept whole on purpose (one long suite function)
// so every adapter is held to one text, read in one place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache, Lock } from './types';
import { LockLostError, LockTimeoutError } from './types';

/**
 * Conformance suite every Cache adapter must pass. `factory` returns a new client on the same
 * data (same namespace): the suite opens two, to check that they see each other's keys and locks.
 */
export function runCacheSuite(name: string, factory: () => Promise<Cache>): void {
  describe(`Cache conformance: ${name}`, () => {
    let a: Cache;
    let b: Cache;
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

    beforeAll(async () => {
      a = await factory();
      b = await factory();
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('reports health', async () => {
      const health = await a.health();
      expect(health.ok).toBe(true);
      expect(health.detail).toBeTypeOf('string');
    });

    it('sets, gets and deletes values; a second client sees them', async () => {
      expect(await a.get('plain')).toBeNull();
      await a.set('plain', 'hello');
      expect(await a.get('plain')).toBe('hello');
      expect(await b.get('plain')).toBe('hello');
      await b.set('plain', 'world');
      expect(await a.get('plain')).toBe('world');
      expect(await a.delete('plain')).toBe(true);
      expect(await a.delete('plain')).toBe(false);
      expect(await b.get('plain')).toBeNull();
    });

    it('expires values after their TTL', async () => {
      await a.set('ttl-short', 'x', { ttlMs: 80 });
      await a.set('ttl-long', 'y', { ttlMs: 5000 });
      await a.set('ttl-none', 'z');
      expect(await b.get('ttl-short')).toBe('x');
      await sleep(160);
      expect(await a.get('ttl-short')).toBeNull();
      expect(await b.get('ttl-short')).toBeNull();
      expect(await a.get('ttl-long')).toBe('y');
      expect(await a.get('ttl-none')).toBe('z');
      // overwriting without a TTL makes the value permanent again
      await a.set('ttl-long', 'y2');
      expect(await a.get('ttl-long')).toBe('y2');
      await a.delete('ttl-long');
      await a.delete('ttl-none');
    });

    it('counts with incr, shared between clients', async () => {
      expect(await a.incr('counter')).toBe(1);
      expect(await b.incr('counter')).toBe(2);
      expect(await a.incr('counter', 5)).toBe(7);
      expect(await a.incr('counter', -2)).toBe(5);
      expect(await b.get('counter')).toBe('5');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).incr('counter')),
      );
      expect(new Set(results).size).toBe(20);
      expect(await a.get('counter')).toBe('25');
      await a.delete('counter');
    });

    it('keeps lists in order across clients: push, read the head, drop it', async () => {
      expect(await a.listLength('list')).toBe(0);
      expect(await a.listHead('list', 10)).toEqual([]);
      expect(await a.listPush('list', ['1', '2'])).toBe(2);
      expect(await b.listPush('list', ['3'])).toBe(3);
      expect(await b.listPush('list', [])).toBe(3);
      expect(await b.listHead('list', 2)).toEqual(['1', '2']);
      expect(await a.listHead('list', 10)).toEqual(['1', '2', '3']);
      await a.listDropHead('list', 2);
      expect(await b.listHead('list', 10)).toEqual(['3']);
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).listPush('list', [`x${i}`])));
      expect(await a.listLength('list')).toBe(51);
      await b.listDropHead('list', 100);
      expect(await a.listLength('list')).toBe(0);
      expect(await a.get('list')).toBeNull();
    });

    it('gives a counter with ttlMs a fixed window that later increments do not extend', async () => {
      expect(await a.incr('window', 1, { ttlMs: 150 })).toBe(1);
      await sleep(80);
      expect(await b.incr('window', 1, { ttlMs: 150 })).toBe(2);
      await sleep(120);
      // 200 ms after creation: the window (150 ms) is over even though the last incr was 120 ms ago
      expect(await a.get('window')).toBeNull();
      expect(await a.incr('window', 1, { ttlMs: 150 })).toBe(1);
      await a.delete('window');
    });

    it('keeps keys and lock names apart', async () => {
      await a.set('shared-name', 'value');
      const lock = await a.acquireLock('shared-name', { leaseMs: 1000 });
      expect(lock).not.toBeNull();
      expect(await a.get('shared-name')).toBe('value');
      expect(await lock!.release()).toBe(true);
      await a.delete('shared-name');
    });

    it('excludes a second holder while the lock is held', async () => {
      const first = await a.acquireLock('exclusive', { leaseMs: 2000 });
      expect(first).not.toBeNull();
      expect(await b.acquireLock('exclusive', { leaseMs: 2000 })).toBeNull();
      expect(await a.acquireLock('exclusive', { leaseMs: 2000 })).toBeNull();
      const started = Date.now();
      expect(await b.acquireLock('exclusive', { leaseMs: 2000, waitMs: 120 })).toBeNull();
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
      expect(await first!.release()).toBe(true);
      const second = await b.acquireLock('exclusive', { leaseMs: 2000 });
      expect(second).not.toBeNull();
      expect(await second!.release()).toBe(true);
      // releasing twice: no longer ours
      expect(await second!.release()).toBe(false);
    });

    it('lets a waiting acquire succeed soon after release', async () => {
      const holder = await a.acquireLock('handover', { leaseMs: 5000 });
      expect(holder).not.toBeNull();
      setTimeout(() => void holder!.release(), 100);
      const started = Date.now();
      const waiter = await b.acquireLock('handover', { leaseMs: 5000, waitMs: 3000 });
      const waited = Date.now() - started;
      expect(waiter).not.toBeNull();
      expect(waited).toBeGreaterThanOrEqual(90);
      expect(waited).toBeLessThan(1000);
      expect(await waiter!.release()).toBe(true);
    });

    it('lets another holder take the lock once the lease expires', async () => {
      const stale = await a.acquireLock('lease', { leaseMs: 100 });
      expect(stale).not.toBeNull();
      expect(await b.acquireLock('lease', { leaseMs: 1000 })).toBeNull();
      await sleep(160);
      const fresh = await b.acquireLock('lease', { leaseMs: 2000 });
      expect(fresh).not.toBeNull();
      expect(fresh!.token).toBeGreaterThan(stale!.token);
      // the expired holder can neither release nor renew the new holder's lock
      expect(await stale!.release()).toBe(false);
      expect(await stale!.renew(5000)).toBe(false);
      expect(await a.acquireLock('lease', { leaseMs: 1000 })).toBeNull();
      expect(await fresh!.release()).toBe(true);
    });

    it('extends the lease on renew', async () => {
      const lock = await a.acquireLock('renew', { leaseMs: 150 });
      expect(lock).not.toBeNull();
      await sleep(80);
      expect(await lock!.renew(600)).toBe(true);
      await sleep(200);
      // past the original lease, still held
      expect(await b.acquireLock('renew', { leaseMs: 1000 })).toBeNull();
      await sleep(50);
      expect(await lock!.renew()).toBe(true); // default: original leaseMs (150)
      await sleep(250);
      expect(await lock!.renew()).toBe(false);
      const other = await b.acquireLock('renew', { leaseMs: 1000 });
      expect(other).not.toBeNull();
      await other!.release();
    });

    it('issues strictly increasing fencing tokens per lock name', async () => {
      const tokens: number[] = [];
      for (let i = 0; i < 6; i++) {
        const lock = await (i % 2 ? a : b).acquireLock('fence', { leaseMs: 1000 });
        expect(lock).not.toBeNull();
        tokens.push(lock!.token);
        await lock!.release();
      }
      const expiring = await a.acquireLock('fence', { leaseMs: 50 });
      tokens.push(expiring!.token);
      await sleep(90);
      const after = await b.acquireLock('fence', { leaseMs: 1000 });
      tokens.push(after!.token);
      await after!.release();
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
      for (const t of tokens) expect(Number.isInteger(t)).toBe(true);
    });

    it('serialises concurrent withLock critical sections', async () => {
      let inside = 0;
      let maxInside = 0;
      const order: number[] = [];
      const tokens: number[] = [];
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).withLock('critical', { leaseMs: 2000, waitMs: 10_000 }, async (signal, lock) => {
            inside += 1;
            maxInside = Math.max(maxInside, inside);
            tokens.push(lock.token);
            await sleep(15);
            expect(signal.aborted).toBe(false);
            order.push(i);
            inside -= 1;
            return i;
          }),
        ),
      );
      expect(maxInside).toBe(1);
      expect(order.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
      // all released
      const after = await a.acquireLock('critical', { leaseMs: 1000 });
      expect(after).not.toBeNull();
      await after!.release();
    });

    it('withLock renews automatically and returns the result', async () => {
      const result = await a.withLock('long-job', { leaseMs: 120 }, async (signal) => {
        await sleep(400); // > 3 leases
        expect(await b.acquireLock('long-job', { leaseMs: 1000 })).toBeNull();
        return signal.aborted ? 'aborted' : 'done';
      });
      expect(result).toBe('done');
      const next = await b.acquireLock('long-job', { leaseMs: 1000 });
      expect(next).not.toBeNull();
      await next!.release();
    });

    it('withLock aborts the signal when the lock is lost', async () => {
      let seen: unknown;
      const run = a.withLock('stolen', { leaseMs: 150 }, async (signal, lock: Lock) => {
        // someone breaks the lock: simulate by releasing it behind withLock's back
        await lock.release();
        await new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => resolve(), { once: true });
          setTimeout(resolve, 1000);
        });
        seen = signal.reason;
        return 'finished';
      });
      await expect(run).rejects.toBeInstanceOf(LockLostError);
      expect(seen).toBeInstanceOf(LockLostError);
    });

    it('withLock rejects with LockTimeoutError when the lock stays busy', async () => {
      const holder = await a.acquireLock('busy', { leaseMs: 2000 });
      await expect(b.withLock('busy', { leaseMs: 1000, waitMs: 50 }, async () => 1)).rejects.toBeInstanceOf(
        LockTimeoutError,
      );
      await holder!.release();
    });
  });
}
