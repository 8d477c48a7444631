/** Cache and distributed-lock port. Adapters: `memory` (in-process) and `redis://host:port[/db]`. */

export interface SetOptions {
  /** Time to live in milliseconds; omitted = no expiry. */
  ttlMs?: number;
}

export interface IncrOptions {
  /**
   * Time to live in milliseconds, applied when the counter is created (or has no expiry yet);
   * later increments do not extend it, so a counter with a TTL is a fixed window.
   */
  ttlMs?: number;
}

export interface LockOptions {
  /** How long the lock is held unless renewed, in milliseconds. */
  leaseMs: number;
  /** How long to wait for a held lock to become free; 0 / omitted = try once. */
  waitMs?: number;
}

export interface Lock {
  readonly name: string;
  /**
   * Fencing token: strictly increasing per lock name across all holders, so storage that
   * records the highest token it has seen can reject writes from a stale holder.
   */
  readonly token: number;
  /** Extends the lease (default: the original leaseMs). False if the lock is no longer ours. */
  renew(leaseMs?: number): Promise<boolean>;
  /** Releases the lock. False if it was no longer ours (lease expired; possibly taken by someone else). */
  release(): Promise<boolean>;
}

export interface Health {
  ok: boolean;
  detail: string;
}

export interface Cache {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, opts?: SetOptions): Promise<void>;
  /** True if the key existed. */
  delete(key: string): Promise<boolean>;
  /** Adds `by` (default 1) to an integer counter, creating it at 0; returns the new value. */
  incr(key: string, by?: number, opts?: IncrOptions): Promise<number>;
  /**
   * Appends values to the list at `key` (created when missing); returns the list's new length. Lists never
   * expire and are the cluster's durable buffers (e.g. player beacons waiting to be written).
   */
  listPush(key: string, values: readonly string[]): Promise<number>;
  /** Up to `count` values from the head of the list, oldest first, without removing them. */
  listHead(key: string, count: number): Promise<string[]>;
  /** Removes `count` values from the head of the list (after they were read with listHead and handled). */
  listDropHead(key: string, count: number): Promise<void>;
  /** The list's length (0 when missing). */
  listLength(key: string): Promise<number>;
  /** Null if the lock could not be taken within waitMs. */
  acquireLock(name: string, opts: LockOptions): Promise<Lock | null>;
  /**
   * Runs fn while holding the lock, renewing it every leaseMs/3. If a renewal fails the signal
   * passed to fn is aborted (reason: LockLostError) and withLock rejects with LockLostError
   * once fn settles. Throws LockTimeoutError if the lock cannot be taken within waitMs.
   */
  withLock<T>(
    name: string,
    opts: LockOptions,
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
  ): Promise<T>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

export interface CacheOptions {
  /** Prefix for every key and lock name, so tenants or test runs do not clash. */
  namespace?: string;
  /** Memory adapter: how often expired entries are swept (default 1000 ms). */
  sweepIntervalMs?: number;
}

export class LockTimeoutError extends Error {
  constructor(readonly lockName: string) {
    super(`lock "${lockName}" not acquired in time`);
    this.name = 'LockTimeoutError';
  }
}

export class LockLostError extends Error {
  constructor(readonly lockName: string) {
    super(`lock "${lockName}" was lost (renewal failed)`);
    this.name = 'LockLostError';
  }
}
