// What a just-in-time run shares with its callers: its place on the node (foreground work while someone waits,
// else it yields), a promise settled from outside, and a wait its caller may give up on.
import type { Foreground } from '../../lib/foreground';

/**
 * A just-in-time run's place on this node. Foreground work while someone waits for it. It yields (its ffmpeg
 * is stopped while other foreground work runs, lib/foreground.ts) when nobody does: a prefetch until a request
 * joins it, and a run whose callers all gave up on it (hls.js abandons the fragment it asked before a seek, or
 * a slow one for a lower level) until one joins again: it completes, but the segment a player waits for now
 * comes first. A caller served its segment does not make the run yield (the player asks the next one).
 */
export class RunTier {
  private waiting = 0;
  private yielding: boolean;
  private exit: (() => void) | undefined;
  private unyield: (() => void) | undefined;
  private pid: number | undefined;
  private started = false;
  private over = false;
  private readonly joined = deferred<void>();

  constructor(
    private readonly fg: Foreground | undefined,
    prefetch: boolean,
  ) {
    this.yielding = prefetch;
  }

  /** Its encode begins (until then, waiting for the source or a place, it holds nobody up). */
  start(): void {
    this.started = true;
    this.exit = this.fg?.enter(this.yielding ? 'prefetch' : 'foreground');
  }

  /** Yielding now: nobody waits for it. */
  yieldingNow(): boolean {
    return this.yielding;
  }

  /** Resolves when a request first joins the run (a prefetch still waiting for a slot waits as interactive). */
  get promoted(): Promise<void> {
    return this.joined.promise;
  }

  /** A caller's wait for `job` (one of the run's segments): ended by `signal` (the job goes on). */
  wait<T>(job: Promise<T>, signal?: AbortSignal): Promise<T> {
    this.waiting++;
    this.place(false);
    const waited = signal ? abandonable(job, signal) : job;
    waited.then(
      () => this.waiting--,
      () => {
        // Gave up (or the run failed): with nobody left waiting, the run yields.
        if (--this.waiting === 0) this.place(true);
      },
    );
    return waited;
  }

  /** Its ffmpeg, once spawned (the leader of its process group). */
  spawned = (pid: number): void => {
    this.pid = pid;
    if (this.yielding && !this.over) this.unyield = this.fg?.yieldsTo(pid, 'prefetch');
  };

  end(): void {
    this.over = true;
    this.unyield?.();
    this.exit?.();
  }

  private place(yielding: boolean): void {
    if (this.over || this.yielding === yielding) return;
    if (!yielding) this.joined.resolve();
    this.yielding = yielding;
    if (!this.started) return;
    const previous = this.exit;
    this.exit = this.fg?.enter(yielding ? 'prefetch' : 'foreground');
    if (yielding) {
      if (this.pid !== undefined) this.unyield = this.fg?.yieldsTo(this.pid, 'prefetch');
    } else {
      this.unyield?.();
      this.unyield = undefined;
    }
    previous?.();
  }
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
