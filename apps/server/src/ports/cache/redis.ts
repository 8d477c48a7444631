import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { acquireWithWait, checkLockOptions, runWithLock } from './lock';
import type { Cache, CacheOptions, Health, IncrOptions, Lock, LockOptions, SetOptions } from './types';

/*
 * Key layout, all under the namespace prefix `${namespace}:`:
 *   <key>                 values and counters
 *   lock:{<name>}         the lock; value = owner id of the current holder, PX = lease
 *   lock-fence:{<name>}   fencing counter (never expires, so tokens keep increasing)
 * The braces are a hash tag: a lock and its fence live in one cluster slot, as the scripts need.
 */

const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

const INCR_TTL = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v`;

interface ScriptedRedis extends Redis {
  vodLockAcquire(lock: string, fence: string, owner: string, leaseMs: number): Promise<number>;
  vodLockRenew(lock: string, owner: string, leaseMs: number): Promise<number>;
  vodLockRelease(lock: string, owner: string): Promise<number>;
  vodIncrTtl(key: string, by: number, ttlMs: number): Promise<number>;
}

function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0))
    throw new RangeError('ttlMs must be > 0');
}

export class RedisCache implements Cache {
  readonly kind = 'redis' as const;
  private readonly redis: ScriptedRedis;
  private readonly prefix: string;
  private closed = false;

  constructor(url: string, opts: CacheOptions = {}) {
    const redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      connectTimeout: 5000,
    });
    redis.on('error', () => {
      // Reconnects by itself; errors surface on the calls and in health().
    });
    redis.defineCommand('vodLockAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('vodLockRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('vodLockRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('vodIncrTtl', { numberOfKeys: 1, lua: INCR_TTL });
    this.redis = redis as ScriptedRedis;
    this.prefix = opts.namespace ? `${opts.namespace}:` : '';
  }

  /** Opens the connection; rejects if Redis cannot be reached. */
  async connect(): Promise<this> {
    await this.redis.connect();
    return this;
  }

  private key(key: string): string {
    return this.prefix + key;
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.key(key));
  }

  async set(key: string, value: string, opts: SetOptions = {}): Promise<void> {
    checkTtl(opts.ttlMs);
    if (opts.ttlMs) await this.redis.set(this.key(key), value, 'PX', Math.ceil(opts.ttlMs));
    else await this.redis.set(this.key(key), value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.key(key))) > 0;
  }

  async listPush(key: string, values: readonly string[]): Promise<number> {
    if (values.length === 0) return this.listLength(key);
    return this.redis.rpush(this.key(key), ...values);
  }

  async listHead(key: string, count: number): Promise<string[]> {
    if (count <= 0) return [];
    return this.redis.lrange(this.key(key), 0, count - 1);
  }

  async listDropHead(key: string, count: number): Promise<void> {
    if (count <= 0) return;
    await this.redis.ltrim(this.key(key), count, -1);
  }

  async listLength(key: string): Promise<number> {
    return this.redis.llen(this.key(key));
  }

  async incr(key: string, by = 1, opts: IncrOptions = {}): Promise<number> {
    checkTtl(opts.ttlMs);
    if (!Number.isSafeInteger(by)) throw new RangeError('incr: by must be an integer');
    if (!opts.ttlMs) return this.redis.incrby(this.key(key), by);
    return Number(await this.redis.vodIncrTtl(this.key(key), by, Math.ceil(opts.ttlMs)));
  }

  async acquireLock(name: string, opts: LockOptions): Promise<Lock | null> {
    checkLockOptions(opts);
    const lockKey = this.key(`lock:{${name}}`);
    const fenceKey = this.key(`lock-fence:{${name}}`);
    const owner = randomUUID();
    const attempt = async (): Promise<Lock | null> => {
      const token = Number(
        await this.redis.vodLockAcquire(lockKey, fenceKey, owner, Math.ceil(opts.leaseMs)),
      );
      return token > 0 ? this.makeLock(name, lockKey, owner, token, opts.leaseMs) : null;
    };
    return acquireWithWait(attempt, opts.waitMs);
  }

  private makeLock(name: string, lockKey: string, owner: string, token: number, leaseMs: number): Lock {
    const redis = this.redis;
    return {
      name,
      token,
      async renew(nextLeaseMs = leaseMs) {
        return (await redis.vodLockRenew(lockKey, owner, Math.ceil(nextLeaseMs))) === 1;
      },
      async release() {
        return (await redis.vodLockRelease(lockKey, owner)) === 1;
      },
    };
  }

  withLock<T>(
    name: string,
    opts: LockOptions,
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
  ): Promise<T> {
    return runWithLock((n, o) => this.acquireLock(n, o), name, opts, fn);
  }

  async health(): Promise<Health> {
    if (this.closed) return { ok: false, detail: 'redis cache closed' };
    const started = Date.now();
    try {
      const pong = await Promise.race([
        this.redis.ping(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('ping timed out')), 2000).unref(),
        ),
      ]);
      return { ok: pong === 'PONG', detail: `redis ${this.redis.status}, ping ${Date.now() - started} ms` };
    } catch (err) {
      return { ok: false, detail: `redis ${this.redis.status}: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
