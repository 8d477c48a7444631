import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Foreground } from './foreground';

/** The state letter of a process (R running, S sleeping, T stopped). */
const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0];

describe('Foreground', () => {
  const children: number[] = [];
  afterEach(() => {
    for (const pid of children.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }
  });
  const background = () => {
    // Its own process group, as the media runner spawns ffmpeg.
    const c = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    children.push(c.pid!);
    return c.pid!;
  };

  it('stops yielding processes while foreground work runs and continues them after the last one', async () => {
    const fg = new Foreground();
    const pid = background();
    const done = fg.yieldsTo(pid);
    expect(state(pid)).not.toBe('T');
    const a = fg.enter();
    const b = fg.enter();
    await new Promise((r) => setTimeout(r, 50));
    expect(state(pid)).toBe('T');
    a();
    a(); // idempotent
    await new Promise((r) => setTimeout(r, 50));
    expect(state(pid)).toBe('T'); // b still runs
    b();
    await new Promise((r) => setTimeout(r, 50));
    expect(state(pid)).not.toBe('T');
    expect(fg.pauses).toBe(1);
    done();
  });

  it('stops a process that starts to yield during foreground work, and continues it when it leaves', async () => {
    const fg = new Foreground();
    const exit = fg.enter();
    const pid = background();
    const done = fg.yieldsTo(pid);
    await new Promise((r) => setTimeout(r, 50));
    expect(state(pid)).toBe('T');
    done(); // the process is no longer managed: it must not stay stopped
    await new Promise((r) => setTimeout(r, 50));
    expect(state(pid)).not.toBe('T');
    exit();
    expect(fg.busy()).toBe(false);
  });
});
