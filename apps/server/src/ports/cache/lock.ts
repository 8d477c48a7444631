import type { Lock, LockOptions } from './types';
import { LockLostError, LockTimeoutError } from './types';

/** Validates lock options; throws on nonsense values. */
export function checkLockOptions(opts: LockOptions): void {
  if (!Number.isFinite(opts.leaseMs) || opts.leaseMs <= 0) throw new RangeError('leaseMs must be > 0');
  if (opts.waitMs !== undefined && (!Number.isFinite(opts.waitMs) || opts.waitMs < 0)) {
    throw new RangeError('waitMs must be >= 0');
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Retries `attempt` until it returns a lock or waitMs has passed. `wake` (optional) resolves
 * early when the adapter knows a lock may have been freed; otherwise it polls with a short,
 * growing, jittered delay (5 ms .. 50 ms).
 */
export async function acquireWithWait(
  attempt: () => Promise<Lock | null>,
  waitMs: number | undefined,
  wake?: (ms: number) => Promise<void>,
): Promise<Lock | null> {
  const deadline = Date.now() + (waitMs ?? 0);
  let delay = 5;
  for (;;) {
    const lock = await attempt();
    if (lock) return lock;
    const left = deadline - Date.now();
    if (left <= 0) return null;
    const pause = Math.min(left, delay * (0.5 + Math.random()));
    await (wake ? wake(pause) : sleep(pause));
    delay = Math.min(50, delay * 1.5);
  }
}

/** Shared withLock implementation over an adapter's acquireLock. */
export async function runWithLock<T>(
  acquire: (name: string, opts: LockOptions) => Promise<Lock | null>,
  name: string,
  opts: LockOptions,
  fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
): Promise<T> {
  const lock = await acquire(name, opts);
  if (!lock) throw new LockTimeoutError(name);
  const controller = new AbortController();
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      renewing = lock.renew(opts.leaseMs).then(
        (ok) => {
          if (!ok) lost();
        },
        () => lost(),
      );
    },
    Math.max(1, Math.floor(opts.leaseMs / 3)),
  );
  const lost = () => {
    clearInterval(timer);
    if (!controller.signal.aborted) controller.abort(new LockLostError(name));
  };
  try {
    const result = await fn(controller.signal, lock);
    if (controller.signal.aborted) throw controller.signal.reason;
    return result;
  } finally {
    clearInterval(timer);
    await renewing;
    if (!controller.signal.aborted) await lock.release().catch(() => false);
  }
}
