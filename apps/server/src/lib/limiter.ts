/**
 * At most `parallel` tasks run at once and up to `queue` more wait in arrival order; a task beyond that is
 * refused at once with `full()` (e.g. 503 + Retry-After), so a burst of requests never piles up unbounded
 * work or memory behind a slow resource (RSA key generation, ffmpeg).
 */
export interface Limiter {
  <T>(task: () => Promise<T>): Promise<T>;
  readonly running: number;
  readonly waiting: number;
}

export function limiter(parallel: number, queue: number, full: () => Error): Limiter {
  let running = 0;
  const waiting: Array<() => void> = [];
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= parallel) {
      if (waiting.length >= queue) throw full();
      // The slot is handed over by the task that finishes (running stays counted).
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  return Object.defineProperties(run, {
    running: { get: () => running },
    waiting: { get: () => waiting.length },
  }) as Limiter;
}
