import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';
import type { Cache, Lock as CacheLockHandle } from '../../ports/cache';

export interface CacheLockerOptions {
  /** How long a lock survives its holder's death (renewed every third of it while held). */
  leaseMs?: number;
  /** How long a request waits for the lock before failing with tus's lock timeout. */
  acquireTimeoutMs?: number;
  /** How often a waiter retries, and a holder checks for a release request. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * tus locks on the cluster's cache port, so two upload nodes never write one upload at once.
 * Like tus's MemoryLocker, a request that wants a held lock asks the holder to let go (a newer
 * PATCH from a reconnected client takes over from a stale one) — here through a cache key the
 * holder polls, so it works across nodes. A holder that dies loses the lock when its lease runs out.
 * Written by hand because @tus/server ships only an in-process locker (and a Redis one that does
 * not fence or ask holders to release).
 */
export class CacheLocker implements Locker {
  constructor(
    private readonly cache: Cache,
    private readonly opts: CacheLockerOptions = {},
  ) {}

  newLock(id: string): Lock {
    return new CacheLock(id, this.cache, {
      leaseMs: this.opts.leaseMs ?? 10_000,
      acquireTimeoutMs: this.opts.acquireTimeoutMs ?? 30_000,
      pollMs: this.opts.pollMs ?? 100,
    });
  }
}

class CacheLock implements Lock {
  private held?: CacheLockHandle;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly id: string,
    private readonly cache: Cache,
    private readonly opts: Required<CacheLockerOptions>,
  ) {}

  private get lockName() {
    return `tus-lock:${this.id}`;
  }
  private get releaseKey() {
    return `tus-release:${this.id}`;
  }

  async lock(stopSignal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.opts.acquireTimeoutMs;
    let asked = false;
    for (;;) {
      if (stopSignal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      const lock = await this.cache.acquireLock(this.lockName, { leaseMs: this.opts.leaseMs });
      if (lock) {
        this.held = lock;
        if (asked) await this.cache.delete(this.releaseKey);
        this.watch(lock, requestRelease);
        return;
      }
      if (!asked) {
        await this.cache.set(this.releaseKey, '1', { ttlMs: Math.max(2000, this.opts.leaseMs) });
        asked = true;
      }
      if (Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await sleep(this.opts.pollMs);
    }
  }

  private watch(lock: CacheLockHandle, requestRelease: RequestRelease) {
    let lastRenew = Date.now();
    let busy = false;
    let released = false;
    this.timer = setInterval(
      async () => {
        if (busy) return;
        busy = true;
        try {
          if (!released && (await this.cache.get(this.releaseKey))) {
            released = true;
            await requestRelease();
          }
          if (Date.now() - lastRenew >= this.opts.leaseMs / 3) {
            lastRenew = Date.now();
            if (!(await lock.renew(this.opts.leaseMs)) && !released) {
              // Lost the lease (e.g. the cache was unreachable too long): stop writing.
              released = true;
              await requestRelease();
            }
          }
        } catch {
          // the cache is briefly unreachable: try again on the next tick
        } finally {
          busy = false;
        }
      },
      Math.max(50, Math.min(250, this.opts.pollMs * 2)),
    );
    this.timer.unref();
  }

  async unlock(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const lock = this.held;
    this.held = undefined;
    if (lock) await lock.release();
  }
}
