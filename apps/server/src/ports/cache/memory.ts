import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { acquireWithWait, checkLockOptions, runWithLock } from './lock';
import type { Cache, CacheOptions, Health, IncrOptions, Lock, LockOptions, SetOptions } from './types';

interface Entry {
  value: string;
  expiresAt: number | null;
}

interface LockEntry {
  owner: string;
  expiresAt: number;
}

/** The data behind one or more MemoryCache objects (shared when they use the same store name). */
class MemoryStore {
  readonly entries = new Map<string, Entry>();
  readonly lists = new Map<string, string[]>();
  readonly locks = new Map<string, LockEntry>();
  readonly fences = new Map<string, number>();
  readonly freed = new EventEmitter();
  users = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly sweepIntervalMs: number) {
    this.freed.setMaxListeners(0);
  }

  attach(): void {
    this.users += 1;
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
      this.timer.unref();
    }
  }

  detach(): void {
    this.users -= 1;
    if (this.users <= 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  sweep(now = Date.now()): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(key);
    }
    for (const [name, lock] of this.locks) {
      if (lock.expiresAt <= now) {
        this.locks.delete(name);
        this.freed.emit('freed', name);
      }
    }
  }

  /** Live entry or undefined (expired entries are removed lazily here). */
  live(key: string, now = Date.now()): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  liveLock(name: string, now = Date.now()): LockEntry | undefined {
    const lock = this.locks.get(name);
    if (!lock) return undefined;
    if (lock.expiresAt <= now) {
      this.locks.delete(name);
      return undefined;
    }
    return lock;
  }
}

/** Named stores shared inside this process: `memory://name` objects with the same name see each other. */
const sharedStores = new Map<string, MemoryStore>();

function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0))
    throw new RangeError('ttlMs must be > 0');
}

export class MemoryCache implements Cache {
  readonly kind = 'memory' as const;
  private readonly store: MemoryStore;
  private readonly prefix: string;
  private closed = false;

  /** storeName: share data with other MemoryCache objects of the same name; omitted = private store. */
  constructor(opts: CacheOptions & { storeName?: string } = {}) {
    const sweep = opts.sweepIntervalMs ?? 1000;
    if (opts.storeName) {
      let store = sharedStores.get(opts.storeName);
      if (!store) {
        store = new MemoryStore(sweep);
        sharedStores.set(opts.storeName, store);
      }
      this.store = store;
    } else {
      this.store = new MemoryStore(sweep);
    }
    this.store.attach();
    this.prefix = opts.namespace ? `${opts.namespace}:` : '';
  }

  private key(key: string): string {
    if (this.closed) throw new Error('cache is closed');
    return this.prefix + key;
  }

  async get(key: string): Promise<string | null> {
    return this.store.live(this.key(key))?.value ?? null;
  }

  async set(key: string, value: string, opts: SetOptions = {}): Promise<void> {
    checkTtl(opts.ttlMs);
    const k = this.key(key);
    this.store.entries.set(k, { value, expiresAt: opts.ttlMs ? Date.now() + opts.ttlMs : null });
  }

  async delete(key: string): Promise<boolean> {
    const k = this.key(key);
    const existed = this.store.live(k) !== undefined;
    this.store.entries.delete(k);
    return existed;
  }

  async listPush(key: string, values: readonly string[]): Promise<number> {
    const k = this.key(key);
    const list = this.store.lists.get(k) ?? [];
    this.store.lists.set(k, list);
    for (const v of values) list.push(v);
    return list.length;
  }

  async listHead(key: string, count: number): Promise<string[]> {
    return (this.store.lists.get(this.key(key)) ?? []).slice(0, Math.max(0, count));
  }

  async listDropHead(key: string, count: number): Promise<void> {
    const k = this.key(key);
    const list = this.store.lists.get(k);
    if (!list) return;
    list.splice(0, Math.max(0, count));
    if (list.length === 0) this.store.lists.delete(k);
  }

  async listLength(key: string): Promise<number> {
    return this.store.lists.get(this.key(key))?.length ?? 0;
  }

  async incr(key: string, by = 1, opts: IncrOptions = {}): Promise<number> {
    checkTtl(opts.ttlMs);
    if (!Number.isSafeInteger(by)) throw new RangeError('incr: by must be an integer');
    const k = this.key(key);
    const now = Date.now();
    const entry = this.store.live(k, now);
    const current = entry ? Number(entry.value) : 0;
    if (!Number.isSafeInteger(current)) throw new Error(`incr: value of "${key}" is not an integer`);
    const next = current + by;
    let expiresAt = entry?.expiresAt ?? null;
    if (expiresAt === null && opts.ttlMs) expiresAt = now + opts.ttlMs;
    this.store.entries.set(k, { value: String(next), expiresAt });
    return next;
  }

  async acquireLock(name: string, opts: LockOptions): Promise<Lock | null> {
    checkLockOptions(opts);
    const full = this.key(name);
    const owner = randomUUID();
    const attempt = async (): Promise<Lock | null> => {
      if (this.closed) throw new Error('cache is closed');
      const now = Date.now();
      if (this.store.liveLock(full, now)) return null;
      this.store.locks.set(full, { owner, expiresAt: now + opts.leaseMs });
      const token = (this.store.fences.get(full) ?? 0) + 1;
      this.store.fences.set(full, token);
      return this.makeLock(name, full, owner, token, opts.leaseMs);
    };
    const wake = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.store.freed.off('freed', onFreed);
          resolve();
        };
        const onFreed = (freedName: string) => {
          if (freedName === full) done();
        };
        const timer = setTimeout(done, ms);
        this.store.freed.on('freed', onFreed);
      });
    return acquireWithWait(attempt, opts.waitMs, wake);
  }

  private makeLock(name: string, full: string, owner: string, token: number, leaseMs: number): Lock {
    const store = this.store;
    return {
      name,
      token,
      async renew(nextLeaseMs = leaseMs) {
        const held = store.liveLock(full);
        if (!held || held.owner !== owner) return false;
        held.expiresAt = Date.now() + nextLeaseMs;
        return true;
      },
      async release() {
        const held = store.liveLock(full);
        if (!held || held.owner !== owner) return false;
        store.locks.delete(full);
        store.freed.emit('freed', full);
        return true;
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
    if (this.closed) return { ok: false, detail: 'memory cache closed' };
    return { ok: true, detail: `memory cache, ${this.store.entries.size} entries` };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.store.detach();
    if (this.store.users <= 0) {
      for (const [name, store] of sharedStores) if (store === this.store) sharedStores.delete(name);
    }
  }
}
