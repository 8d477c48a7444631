// What a just-in-time run shares with its callers: its place on the node (foreground work, or a prefetch that
// yields until someone joins it), a promise settled from outside, and a wait its caller may give up on.
import type { Foreground } from '../../lib/foreground';

/**
 * A just-in-time run's place on this node: foreground work (someone waits), or, with `promoted`, a prefetch
 * whose ffmpeg yields to foreground work until `promoted` resolves (a request joined it), then foreground.
 */
export function yieldingTier(fg: Foreground | undefined, promoted?: Promise<void>) {
  if (!promoted) {
    const exit = fg?.enter();
    return { spawned: undefined, end: () => exit?.() };
  }
  let exit = fg?.enter('prefetch');
  let unyield: (() => void) | undefined;
  let raised = false;
  let over = false;
  void promoted.then(() => {
    if (over) return;
    raised = true;
    const exitPrefetch = exit;
    exit = fg?.enter();
    unyield?.();
    exitPrefetch?.();
  });
  return {
    spawned: (pid: number) => {
      if (!raised) unyield = fg?.yieldsTo(pid, 'prefetch');
    },
    end: () => {
      over = true;
      unyield?.();
      exit?.();
    },
  };
}

/** A promise with its resolve and reject. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** `job`, or its caller's abort: the job itself goes on. */
export function abandonable<T>(job: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
