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
    const releases = await Promise.all([slots.acquire('interactive'), slots.acquire('interactive')]);
    const third = slots.acquire('interactive').then((r) => {
      order.push(3);
      return r;
    });
    const fourth = slots.acquire('interactive').then((r) => {
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

  it('keeps prefetch runs to their share (a quarter, at least one), ahead of background waiters and behind interactive ones', async () => {
    const slots = new ProcessSlots(4);
    expect([slots.backgroundMax(), slots.prefetchMax()]).toEqual([2, 1]);
    expect(new ProcessSlots(8).prefetchMax()).toBe(2);
    expect(new ProcessSlots(1).prefetchMax()).toBe(1);
    expect(new ProcessSlots().prefetchMax()).toBe(Number.POSITIVE_INFINITY);
    // Two background runs and one prefetch: a second prefetch waits, an interactive run still starts.
    const held = await Promise.all([
      slots.acquire('background'),
      slots.acquire('background'),
      slots.acquire('prefetch'),
    ]);
    const order: string[] = [];
    const wait = (name: string, p: 'interactive' | 'prefetch' | 'background') =>
      slots.acquire(p).then((release) => {
        order.push(name);
        return release;
      });
    const p2 = wait('p2', 'prefetch');
    const b3 = wait('b3', 'background');
    const i1 = await wait('i1', 'interactive');
    expect(slots.stats()).toMatchObject({ running: 4, background: 2, prefetch: 1, waiting: 2 });
    // The prefetch ends: the waiting prefetch takes its place (not the interactive slot's, nor background's).
    held[2]!();
    (await p2)();
    expect(order).toEqual(['i1', 'p2']);
    // A background run ends: the waiting background run starts.
    held[0]!();
    (await b3)();
    i1();
    held[1]!();
    expect(order).toEqual(['i1', 'p2', 'b3']);
    expect(slots.stats()).toMatchObject({ running: 0, waiting: 0 });
  });

  it('raises a waiting prefetch to interactive when asked (a player joined it)', async () => {
    const slots = new ProcessSlots(4);
    const held = await Promise.all([
      slots.acquire('background'),
      slots.acquire('background'),
      slots.acquire('prefetch'),
      slots.acquire('interactive'),
    ]);
    let raise!: () => void;
    const raised = new Promise<void>((r) => {
      raise = r;
    });
    const order: string[] = [];
    const i2 = slots.acquire('interactive').then((r) => {
      order.push('i2');
      return r;
    });
    const p2 = slots.acquire('prefetch', undefined, raised).then((r) => {
      order.push('p2');
      return r;
    });
    raise();
    await new Promise((r) => setTimeout(r, 10));
    // Raised, it queues behind the interactive waiter that came first, and takes the next slot free.
    held[3]!();
    (await i2)();
    (await p2)();
    expect(order).toEqual(['i2', 'p2']);
    expect(slots.stats()).toMatchObject({ prefetch: 1, waiting: 0 });
    for (const r of held.slice(0, 3)) r();
  });

  it('lets a waiter behind one at its share start when it fits', async () => {
    const slots = new ProcessSlots(4);
    const bg = await Promise.all([slots.acquire('background'), slots.acquire('background')]);
    const order: string[] = [];
    const b3 = slots.acquire('background').then((r) => {
      order.push('b3');
      return r;
    });
    // b3 waits for its share; a prefetch asked after it starts at once.
    const p1 = await slots.acquire('prefetch');
    expect(slots.stats()).toMatchObject({ running: 3, prefetch: 1, waiting: 1 });
    bg[0]!();
    (await b3)();
    expect(order).toEqual(['b3']);
    p1();
    bg[1]!();
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

  it('keeps half the slots for interactive runs: background ones wait, an interactive one starts at once', async () => {
    const slots = new ProcessSlots(4);
    expect(slots.backgroundMax()).toBe(2);
    const bg = await Promise.all([slots.acquire('background'), slots.acquire('background')]);
    let third = false;
    const bg3 = slots.acquire('background').then((r) => {
      third = true;
      return r;
    });
    // Interactive runs take the kept slots although a background run waits ahead of them.
    const fg = await Promise.all([slots.acquire('interactive'), slots.acquire('interactive')]);
    expect(slots.stats()).toMatchObject({ running: 4, background: 2, waiting: 1 });
    // The bound holds for everyone: a fifth waits.
    let fifth = false;
    const fg3 = slots.acquire('interactive').then((r) => {
      fifth = true;
      return r;
    });
    fg[0]!(); // an interactive slot frees: the interactive waiter, not the background one (its share is full)
    await new Promise((r) => setTimeout(r, 10));
    expect([fifth, third]).toEqual([true, false]);
    bg[0]!(); // a background slot frees: the background waiter
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(true);
    for (const release of [bg[1]!, fg[1]!, await fg3, await bg3]) release();
    expect(slots.stats()).toMatchObject({ running: 0, background: 0, waiting: 0 });
    expect(new ProcessSlots(2).backgroundMax()).toBe(1);
    expect(new ProcessSlots(3).backgroundMax()).toBe(2);
    expect(new ProcessSlots(1).backgroundMax()).toBe(1);
  });

  it('unbounded (the default before limitFfmpegProcesses): background runs start at once, any number', async () => {
    const slots = new ProcessSlots();
    expect(slots.backgroundMax()).toBe(Number.POSITIVE_INFINITY);
    const started = await Promise.race([
      Promise.all(Array.from({ length: 5 }, () => slots.acquire('background'))),
      new Promise((r) => setTimeout(() => r('waited'), 500)),
    ]);
    expect(started).toHaveLength(5);
    expect(slots.stats()).toMatchObject({ running: 5, background: 5, waiting: 0 });
  });

  it('lends a stopped process its slot only under a bound of 1 (where nothing is kept)', async () => {
    const two = new ProcessSlots(2);
    await two.acquire('background');
    two.setLent(1);
    await two.acquire('interactive');
    let over = false;
    void two.acquire('interactive').then(() => {
      over = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(over, 'a bound of 2 lends nothing: ps would see 3 processes').toBe(false);
    const one = new ProcessSlots(1);
    await one.acquire('background');
    one.setLent(1);
    await expect(one.acquire('interactive')).resolves.toBeTypeOf('function');
    const onePrefetch = new ProcessSlots(1);
    await onePrefetch.acquire('prefetch');
    onePrefetch.setLent(1);
    await expect(onePrefetch.acquire('interactive')).resolves.toBeTypeOf('function');
  });

  it('never gives background and prefetch runs together the last slot (bounds of 2 and 3)', async () => {
    for (const [max, background] of [
      [2, 1],
      [3, 2],
    ] as const) {
      const slots = new ProcessSlots(max);
      for (let i = 0; i < background; i++) await slots.acquire('background');
      let prefetched = false;
      void slots.acquire('prefetch').then(() => {
        prefetched = true;
      });
      await new Promise((r) => setTimeout(r, 10));
      expect(prefetched, `bound ${max}: a prefetch would take the last slot`).toBe(false);
      await expect(slots.acquire('interactive')).resolves.toBeTypeOf('function');
      expect(slots.stats()).toMatchObject({ running: max, background, prefetch: 0, waiting: 1 });
    }
  });

  it('a larger bound starts waiters at once; a bound below 1 is refused', async () => {
    const slots = new ProcessSlots(1);
    await slots.acquire();
    const next = slots.acquire('interactive');
    slots.setMax(2);
    await expect(next).resolves.toBeTypeOf('function');
    expect(() => slots.setMax(0)).toThrow(RangeError);
  });
});

describe('limitFfmpegProcesses (real ffmpeg)', () => {
  afterEach(() => limitFfmpegProcesses(Number.POSITIVE_INFINITY));

  it('never more than the bound of ffmpeg processes run, as ps sees them, and every run completes', async () => {
    limitFfmpegProcesses(2);
    // Six runs of ~1 s each (-re: real time), started at once, interactive (background runs hold at most one of
    // the two slots).
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
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => runFfmpeg(args, { timeoutMs: 20_000, priority: 'interactive' })),
    );
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
