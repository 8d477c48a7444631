/**
 * Foreground work of this node (a video's process step, just-in-time segments: someone waits for them) and
 * background processes that yield to it. While any foreground work runs, the yielding processes are stopped
 * (SIGSTOP to their process group) and continued when it is over: `nice` alone left a detection decode taking
 * ~0.15 s off the time to playable of an upload made meanwhile on 2 cores (bench/detection.ts), because the
 * foreground path is many short processes that each start behind the busy cores.
 */
export class Foreground {
  private active = 0;
  private readonly yielding = new Set<number>();
  /** Pauses so far (for tests and metrics). */
  pauses = 0;

  /**
   * `slots`: the process bound the yielding processes hold slots of (ffmpegSlots). It keeps slots for
   * interactive runs; with a bound of 1 (nothing kept) the slots of stopped processes are lent meanwhile, so a
   * foreground run never waits for a slot held by a process stopped for it.
   */
  constructor(private readonly slots?: { setLent(n: number): void }) {}

  /** Marks foreground work as started; call the result when it is over. */
  enter(): () => void {
    if (this.active++ === 0) {
      if (this.yielding.size) this.pauses++;
      for (const pid of this.yielding) signal(pid, 'SIGSTOP');
      this.slots?.setLent(this.yielding.size);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.active === 0) {
        this.slots?.setLent(0);
        for (const pid of this.yielding) signal(pid, 'SIGCONT');
      }
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
   * A background process (the leader of its process group) that yields: stopped at once if foreground work
   * runs. Call the result when the process ended (it is continued, in case it is still there).
   */
  yieldsTo(pid: number): () => void {
    this.yielding.add(pid);
    if (this.active > 0) {
      signal(pid, 'SIGSTOP');
      this.slots?.setLent(this.yielding.size);
    }
    return () => {
      if (!this.yielding.delete(pid)) return;
      signal(pid, 'SIGCONT');
      if (this.active > 0) this.slots?.setLent(this.yielding.size);
    };
  }

  busy(): boolean {
    return this.active > 0;
  }

  /** Background processes registered now (running or stopped). */
  yieldingNow(): number {
    return this.yielding.size;
  }
}

function signal(pid: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}
