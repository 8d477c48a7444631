import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runFfmpeg } from './runner';
import { ffmpegSlots, limitFfmpegProcesses, ProcessSlots } from './slots';

const exec = promisify(execFile);

/** ffmpeg processes that are children of this process right now (read from ps, not from our counters). */
async function ffmpegChildren(): Promise<number> {
  const { stdout } = await exec('ps', ['-o', 'comm=', '--ppid', String(process.pid)]).catch(() => ({
    stdout: '',
  }));
  return stdout.split('\n').filter((c) => c.trim() === 'ffmpeg').length;
}

describe('ProcessSlots', () => {
  it('runs at most max at once, then hands slots on in order', async () => {
    const slots = new ProcessSlots(2);
    const order: number[] = [];
    const releases = await Promise.all([slots.acquire(), slots.acquire()]);
    const third = slots.acquire().then((r) => {
      order.push(3);
      return r;
    });
    const fourth = slots.acquire().then((r) => {
      order.push(4);
      return r;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(slots.stats()).toMatchObject({ running: 2, waiting: 2 });
    releases[0]!();
    releases[0]!(); // a second release of one slot changes nothing
    (await third)();
    releases[1]!();
    (await fourth)();
    expect(order).toEqual([3, 4]);
    expect(slots.stats()).toMatchObject({ running: 0, waiting: 0, peak: 2 });
  });

  it('serves interactive waiters before background ones, in order among themselves', async () => {
    const slots = new ProcessSlots(1);
    const first = await slots.acquire('background');
    const order: string[] = [];
    const wait = (name: string, p: 'interactive' | 'background') =>
      slots.acquire(p).then((release) => {
        order.push(name);
        release();
      });
    const all = [
      wait('b1', 'background'),
      wait('i1', 'interactive'),
      wait('b2', 'background'),
      wait('i2', 'interactive'),
    ];
    first();
    await Promise.all(all);
    expect(order).toEqual(['i1', 'i2', 'b1', 'b2']);
  });

  it('an aborted wait leaves the queue and rejects with code aborted', async () => {
    const slots = new ProcessSlots(1);
    const held = await slots.acquire();
    const ac = new AbortController();
    const waiting = slots.acquire('background', ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'aborted' });
    expect(slots.stats().waiting).toBe(0);
    held();
    expect(slots.stats().running).toBe(0);
  });

  it('a larger bound starts waiters at once; a bound below 1 is refused', async () => {
    const slots = new ProcessSlots(1);
    await slots.acquire();
    const next = slots.acquire();
    slots.setMax(2);
    await expect(next).resolves.toBeTypeOf('function');
    expect(() => slots.setMax(0)).toThrow(RangeError);
  });
});

describe('limitFfmpegProcesses (real ffmpeg)', () => {
  afterEach(() => limitFfmpegProcesses(Number.POSITIVE_INFINITY));

  it('never more than the bound of ffmpeg processes run, as ps sees them, and every run completes', async () => {
    limitFfmpegProcesses(2);
    // Six runs of ~1 s each (-re: real time), started at once.
    const args = ['-re', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10:duration=1', '-f', 'null', '-'];
    let maxSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxSeen = Math.max(maxSeen, await ffmpegChildren());
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    const started = performance.now();
    const runs = await Promise.all(Array.from({ length: 6 }, () => runFfmpeg(args, { timeoutMs: 20_000 })));
    const ms = performance.now() - started;
    sampling = false;
    await sampler;
    expect(runs).toHaveLength(6);
    expect(maxSeen, 'ffmpeg processes seen at once').toBeLessThanOrEqual(2);
    expect(maxSeen, 'the bound was reached (the check could fail)').toBe(2);
    // Three waves of two runs of ~1 s: not all six at once.
    expect(ms).toBeGreaterThan(2500);
    expect(ffmpegSlots.stats()).toMatchObject({ running: 0, waiting: 0 });
  }, 60_000);
});
