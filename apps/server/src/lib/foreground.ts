/**
 * Foreground work of this node (a video's process step, just-in-time segments: someone waits for them) and
 * processes that yield to it. While any foreground work runs, the yielding processes are stopped (SIGSTOP to
 * their process group) and continued when it is over: `nice` alone left a detection decode taking ~0.15 s off
 * the time to playable of an upload made meanwhile on 2 cores (bench/detection.ts), because the foreground
 * path is many short processes that each start behind the busy cores.
 *
 * Two tiers yield. Background processes (the ladder's chunks, detection) are stopped while foreground work or
 * a prefetch runs. Prefetch processes (the segments after the first, made before a player asks for them) are
 * stopped while foreground work runs, and yield no more once a player joins them (JitEncoder promotes the run):
 * uploads back to back measured the next upload's process step sharing the cores with the previous one's
 * prefetch.
 */
export type Tier = 'foreground' | 'prefetch';

export class Foreground {
  private active = 0;
  private prefetching = 0;
  private readonly background = new Set<number>();
  private readonly prefetch = new Set<number>();
  private readonly stopped = new Set<number>();
  /** Pauses so far (for tests and metrics): times foreground work or a prefetch started and stopped others. */
  pauses = 0;

  /**
   * `slots`: the process bound the yielding processes hold slots of (ffmpegSlots). It keeps slots for
   * interactive runs; with a bound of 1 (nothing kept) the slots of stopped processes are lent meanwhile, so a
   * foreground run never waits for a slot held by a process stopped for it.
   */
  constructor(private readonly slots?: { setLent(n: number): void }) {}

  /** Marks foreground work (or a prefetch) as started; call the result when it is over. */
  enter(tier: Tier = 'foreground'): () => void {
    if (tier === 'foreground') this.active++;
    else this.prefetching++;
    if (this.sync() > 0) this.pauses++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (tier === 'foreground') this.active--;
      else this.prefetching--;
      this.sync();
    };
  }

  /** Runs `fn` as foreground work. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const exit = this.enter();
    try {
      return await fn();
    } finally {
      exit();
    }
  }

  /**
   * A process (the leader of its process group) that yields: a background one to foreground work and
   * prefetches, a prefetch one to foreground work; stopped at once if that runs. Call the result when the
   * process ended, or to make it yield no more (a player joined the prefetch): it is continued if stopped.
   */
  yieldsTo(pid: number, tier: 'background' | 'prefetch' = 'background'): () => void {
    (tier === 'background' ? this.background : this.prefetch).add(pid);
    this.sync();
    return () => {
      if (!this.background.delete(pid) && !this.prefetch.delete(pid)) return;
      this.sync();
    };
  }

  busy(): boolean {
    return this.active > 0;
  }

  /** Yielding processes registered now (running or stopped). */
  yieldingNow(): number {
    return this.background.size + this.prefetch.size;
  }

  /** Stops and continues the yielding processes as the work running now says; returns how many it stopped. */
  private sync(): number {
    let newlyStopped = 0;
    const want = (pid: number, stop: boolean) => {
      if (stop && !this.stopped.has(pid)) {
        this.stopped.add(pid);
        signal(pid, 'SIGSTOP');
        newlyStopped++;
      } else if (!stop && this.stopped.has(pid)) {
        this.stopped.delete(pid);
        signal(pid, 'SIGCONT');
      }
    };
    for (const pid of this.background) want(pid, this.active + this.prefetching > 0);
    for (const pid of this.prefetch) want(pid, this.active > 0);
    // Gone from both sets (ended, or promoted): continued.
    for (const pid of [...this.stopped])
      if (!this.background.has(pid) && !this.prefetch.has(pid)) want(pid, false);
    this.slots?.setLent(this.stopped.size);
    return newlyStopped;
  }
}

function signal(pid: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}
