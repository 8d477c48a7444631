import { MediaError } from './errors';

/**
 * Who is waiting for a process slot: players and process steps (someone waits) go first, then prefetches
 * (segments made before a player asks for them), then background work.
 */
export type SlotPriority = 'interactive' | 'prefetch' | 'background';

const RANK: Record<SlotPriority, number> = { interactive: 0, prefetch: 1, background: 2 };

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
 * Background runs hold at most half the slots, rounded up (all of them when max is 1), and prefetch runs at
 * most half of what is left, at least one (one of the default 4); together they never take the last slot. So
 * the path to playable never waits for a background encode or a prefetch — not even for one stopped
 * (SIGSTOP) while foreground work runs (lib/foreground.ts in the server), which would otherwise hold its slot
 * until the very work it waits for is over. Uploads back to back measured the next upload's process step
 * waiting 2 s for a slot while two prefetches of earlier videos held the free ones (bench playable --backlog).
 * The bound itself holds for every process ps sees, stopped or not, except with a bound of 1, which keeps no
 * slot: there stopped processes lend theirs (`setLent`), one process more, rather than wait for themselves.
 */
export class ProcessSlots {
  private running = 0;
  /** Of `running`, the background runs. */
  private background = 0;
  /** Of `running`, the prefetch runs. */
  private prefetch = 0;
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

  /** How many slots prefetch runs may hold at once. */
  prefetchMax(): number {
    if (!Number.isFinite(this.max)) return this.max;
    return Math.max(1, Math.floor((this.max - this.backgroundMax()) / 2));
  }

  /** Changes the bound (at least 1); waiters that now fit start. */
  setMax(max: number): void {
    if (!(max >= 1)) throw new RangeError(`a process bound must be at least 1, not ${max}`);
    this.max = max;
    this.drain();
  }

  /**
   * `n` of the running processes are stopped (SIGSTOP) for now: with a bound of 1, which keeps no slot for
   * interactive runs, their slots are lent to the waiters, who would otherwise wait behind processes that wait for them (a
   * background encode stopped while a foreground one runs). 0 when they continue.
   */
  setLent(n: number): void {
    this.lent = Math.max(0, n);
    this.drain();
  }

  stats(): {
    max: number;
    running: number;
    background: number;
    prefetch: number;
    waiting: number;
    peak: number;
  } {
    return {
      max: this.max,
      running: this.running,
      background: this.background,
      prefetch: this.prefetch,
      waiting: this.waiting.length,
      peak: this.peak,
    };
  }

  /** Whether a run of this priority may start now. */
  private fits(priority: SlotPriority): boolean {
    // Lending only where no slot is kept for interactive runs (a bound of 1): see the class comment.
    const lent = this.max <= 1 ? this.lent : 0;
    if (this.running >= this.max + lent) return false;
    if (priority === 'interactive') return true;
    const share =
      priority === 'prefetch'
        ? this.prefetch < this.prefetchMax()
        : this.background < this.backgroundMax() + lent;
    // Background and prefetch runs together never take the last slot (a bound of 1 keeps none: it lends).
    return share && (this.max <= 1 || this.background + this.prefetch + 1 < this.max);
  }

  /**
   * Resolves with the slot's release function once one is free. `raise`: when it resolves before the slot is
   * granted, the run waits as an interactive one from then on (a player joined a prefetch still waiting).
   */
  acquire(
    priority: SlotPriority = 'background',
    signal?: AbortSignal,
    raise?: Promise<unknown>,
  ): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(aborted());
    // Nobody this run must queue behind: a run queues behind the waiters of its own rank or a higher one.
    const ahead = this.waiting.some((w) => RANK[w.priority] <= RANK[priority]);
    if (!ahead && this.fits(priority)) return Promise.resolve(this.take(priority));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take(waiter.priority));
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.enqueue(waiter);
      void raise?.then(() => {
        const i = this.waiting.indexOf(waiter);
        if (i < 0 || waiter.priority === 'interactive') return;
        this.waiting.splice(i, 1);
        waiter.priority = 'interactive';
        this.enqueue(waiter);
        this.drain();
      });
    });
  }

  /** Ahead of every waiter of a lower rank. */
  private enqueue(waiter: Waiter): void {
    const at = this.waiting.findIndex((w) => RANK[w.priority] > RANK[waiter.priority]);
    if (at >= 0) this.waiting.splice(at, 0, waiter);
    else this.waiting.push(waiter);
  }

  private take(priority: SlotPriority): () => void {
    this.running++;
    if (priority === 'background') this.background++;
    if (priority === 'prefetch') this.prefetch++;
    this.peak = Math.max(this.peak, this.running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      if (priority === 'background') this.background--;
      if (priority === 'prefetch') this.prefetch--;
      this.drain();
    };
  }

  /** Starts the waiters that fit, in order (by rank: interactive, prefetch, background). */
  private drain(): void {
    // A waiter that does not fit (its class is at its share) lets the ones behind it that do fit start: when
    // the first one does not fit for want of any slot, none behind it fits either.
    for (let i = 0; i < this.waiting.length; ) {
      if (this.fits(this.waiting[i]!.priority)) this.waiting.splice(i, 1)[0]!.grant();
      else i++;
    }
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
