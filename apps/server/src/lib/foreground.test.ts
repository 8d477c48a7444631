import { ProcessSlots } from '@vodcloud/media';
import { afterEach, describe, expect, it } from 'vitest';
import { processGroups, processState as state } from '../../../../test/support/process-groups';
import { Foreground } from './foreground';

describe('Foreground', () => {
  const groups = processGroups();
  afterEach(() => groups.killAll());
  const background = () => groups.spawn();

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

  it('stops background processes for a prefetch, prefetch processes for foreground work only; a promoted prefetch runs on', async () => {
    const fg = new Foreground();
    const bg = background();
    const pre = background();
    const doneBg = fg.yieldsTo(bg);
    const promote = fg.yieldsTo(pre, 'prefetch');
    const tick = () => new Promise((r) => setTimeout(r, 50));
    // A prefetch runs: background stops, the prefetch process runs.
    const exitPre = fg.enter('prefetch');
    await tick();
    expect([state(bg), state(pre)]).toEqual(['T', expect.not.stringMatching('T')]);
    expect(fg.busy()).toBe(false);
    // A process step starts: the prefetch stops too.
    const exitFg = fg.enter();
    await tick();
    expect([state(bg), state(pre)]).toEqual(['T', 'T']);
    // A player joins the prefetch: it runs on beside the process step; background stays stopped.
    promote();
    await tick();
    expect([state(bg), state(pre)]).toEqual(['T', expect.not.stringMatching('T')]);
    exitFg();
    await tick();
    expect(state(bg)).toBe('T'); // the prefetch's own work is not over
    exitPre();
    await tick();
    expect(state(bg)).not.toBe('T');
    expect(fg.yieldingNow()).toBe(1);
    doneBg();
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

  it('lends the slot of a stopped process to foreground work, which would otherwise wait for it', async () => {
    const slots = new ProcessSlots(1);
    const fg = new Foreground(slots);
    const bgSlot = await slots.acquire('background'); // a background encode holds the only slot...
    const done = fg.yieldsTo(background());
    const exit = fg.enter(); // ...and is stopped for foreground work, which needs a slot of its own
    const fgSlot = await Promise.race([
      slots.acquire('interactive'),
      new Promise((r) => setTimeout(() => r('waited'), 1000)),
    ]);
    expect(fgSlot).toBeTypeOf('function');
    expect(slots.stats().running).toBe(2);
    // Once the foreground work is over and the process continues, the bound holds again.
    (fgSlot as () => void)();
    exit();
    let third = false;
    void slots.acquire('background').then(() => {
      third = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    bgSlot();
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(true);
    done();
  });
});
