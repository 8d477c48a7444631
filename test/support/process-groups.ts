// Stand-ins for ffmpeg runs in tests of what stops and continues them (lib/foreground.ts, pipeline/run-control.ts).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The state letter of a process (R running, S sleeping, T stopped). */
export const processState = (pid: number) =>
  readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0];

/** Long-running processes, each leading its own process group as the media runner spawns ffmpeg. */
export function processGroups() {
  const pids: number[] = [];
  return {
    spawn(): number {
      const c = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      pids.push(c.pid!);
      return c.pid!;
    },
    /** Kills every group spawned so far (afterEach). */
    killAll(): void {
      for (const pid of pids.splice(0)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {}
      }
    },
  };
}
