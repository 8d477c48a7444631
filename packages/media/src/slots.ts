import { MediaError } from './errors';

/** Who is waiting for a process slot: players waiting on a run go before background work. */
export type SlotPriority = 'interactive' | 'background';

interface Waiter {
  grant: () => void;
  priority: SlotPriority;
}

/**
 * A bound on the ffmpeg processes one Node.js process runs at once, whatever clients ask for: every
 * `runFfmpeg` takes a slot before it spawns and gives it back when the process is gone. Waiters are served
 * interactive first (a just-in-time segment, a thumbnail: someone is waiting), then in arrival order.
 * A wait is not part of a run's timeout; an aborted signal ends the wait.
 *
 * Background runs hold at most half the slots, rounded up (all of them when max is 1): the rest are
 * kept for interactive runs, so the path to playable never waits for a background encode — not even for one
 * stopped (SIGSTOP) while foreground work runs (lib/foreground.ts in the server), which would otherwise hold
 * its slot until the very work it waits for is over. The bound itself holds for every process ps sees,
 * stopped or not, except with a bound of 1: there a stopped background process lends its only slot
 * (`setLent`), one process more than the bound, rather than wait for itself.
 */
export class ProcessSlots {
  private running = 0;
  /** Of `running`, the background runs. */
  private background = 0;
  private readonly waiting: Waiter[] = [];
  private peak = 0;
  /** Slots of processes stopped meanwhile (SIGSTOP), lent to others until they continue (bound 1 only). */
  private lent = 0;

  constructor(private max = Number.POSITIVE_INFINITY) {}

  /** How many slots background runs may hold at once. */
  backgroundMax(): number {
    // Half, rounded up: all of a bound of 1, and unbounded stays unbounded.
    return Math.ceil(this.max / 2);
  }

  /** Changes the bound (at least 1); waiters that now fit start. */
  setMax(max: number): void {
    if (!(max >= 1)) throw new RangeError(`a process bound must be at least 1, not ${max}`);
    this.max = max;
    this.drain();
  }

  /**
   * `n` of the running processes are stopped (SIGSTOP) for now: their slots are lent to the waiters, who
   * would otherwise wait behind processes that wait for them (a background encode stopped while a
   * foreground one runs). 0 when they continue.
   */
  setLent(n: number): void {
    this.lent = Math.max(0, n);
    this.drain();
  }

  stats(): { max: number; running: number; background: number; waiting: number; peak: number } {
    return {
      max: this.max,
      running: this.running,
      background: this.background,
      waiting: this.waiting.length,
      peak: this.peak,
    };
  }

  /** Whether a run of this priority may start now. */
  private fits(priority: SlotPriority): boolean {
    // Lending only where no slot is kept for interactive runs (a bound of 1): see the class comment.
    const lent = this.max <= 1 ? this.lent : 0;
    if (this.running >= this.max + lent) return false;
    return priority === 'interactive' || this.background < this.backgroundMax() + lent;
  }

  /** Resolves with the slot's release function once one is free. */
  acquire(priority: SlotPriority = 'background', signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(aborted());
    // Nobody this run must queue behind: interactive runs queue behind interactive ones only.
    const ahead =
      priority === 'interactive' ? this.waiting[0]?.priority === 'interactive' : this.waiting.length > 0;
    if (!ahead && this.fits(priority)) return Promise.resolve(this.take(priority));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take(priority));
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Interactive waiters queue behind other interactive ones only.
      const at = priority === 'interactive' ? this.waiting.findIndex((w) => w.priority === 'background') : -1;
      if (at >= 0) this.waiting.splice(at, 0, waiter);
      else this.waiting.push(waiter);
    });
  }

  private take(priority: SlotPriority): () => void {
    this.running++;
    if (priority === 'background') this.background++;
    this.peak = Math.max(this.peak, this.running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      if (priority === 'background') this.background--;
      this.drain();
    };
  }

  /** Starts waiters in order while they fit (interactive ones are all ahead of background ones). */
  private drain(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.priority)) this.waiting.shift()!.grant();
  }
}

const aborted = () =>
  new MediaError('aborted', 'ffmpeg not started: aborted while waiting for a slot', { tool: 'ffmpeg' });

/** The slots every `runFfmpeg` of this process takes (unbounded until `limitFfmpegProcesses`). */
export const ffmpegSlots = new ProcessSlots();

/** Bounds the ffmpeg processes this Node.js process runs at once (see ProcessSlots). */
export function limitFfmpegProcesses(max: number): void {
  ffmpegSlots.setMax(max);
}
