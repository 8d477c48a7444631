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
 */
export class ProcessSlots {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private peak = 0;

  constructor(private max = Number.POSITIVE_INFINITY) {}

  /** Changes the bound (at least 1); waiters that now fit start. */
  setMax(max: number): void {
    if (!(max >= 1)) throw new RangeError(`a process bound must be at least 1, not ${max}`);
    this.max = max;
    this.drain();
  }

  stats(): { max: number; running: number; waiting: number; peak: number } {
    return { max: this.max, running: this.running, waiting: this.waiting.length, peak: this.peak };
  }

  /** Resolves with the slot's release function once one is free. */
  acquire(priority: SlotPriority = 'background', signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(aborted());
    if (this.running < this.max && this.waiting.length === 0) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take());
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

  private take(): () => void {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.drain();
    };
  }

  private drain(): void {
    while (this.running < this.max && this.waiting.length > 0) this.waiting.shift()!.grant();
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
