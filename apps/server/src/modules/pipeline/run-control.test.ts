import { afterEach, describe, expect, it } from 'vitest';
import { processGroups, processState as state } from '../../../../../test/support/process-groups';
import { Foreground } from '../../lib/foreground';
import { deferred, RunTier } from './run-control';

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('RunTier', () => {
  const groups = processGroups();
  afterEach(() => groups.killAll());
  /** A stand-in for a run's ffmpeg. */
  const encoder = () => groups.spawn();

  it('is foreground work while a caller waits; yields once every caller gave up, and not when one was served', async () => {
    const fg = new Foreground();
    const tier = new RunTier(fg, false);
    const segment = deferred<string>();
    const first = new AbortController();
    const a = tier.wait(segment.promise, first.signal);
    const b = tier.wait(segment.promise, new AbortController().signal);
    tier.start();
    const pid = encoder();
    tier.spawned(pid);
    expect(fg.busy()).toBe(true);
    const other = fg.enter(); // another player's segment
    await settle();
    expect(state(pid)).not.toBe('T'); // someone waits for it: it runs beside the other
    first.abort();
    await expect(a).rejects.toThrow();
    await settle();
    expect(state(pid)).not.toBe('T'); // b still waits
    segment.resolve('seg');
    expect(await b).toBe('seg');
    await settle();
    expect(state(pid)).not.toBe('T'); // served, not given up: the player asks the next one
    other();
    tier.end();
    expect(fg.busy()).toBe(false);
  });

  it('a run nobody waits for any more is stopped while foreground work runs, and runs on when a caller joins it', async () => {
    const fg = new Foreground();
    const tier = new RunTier(fg, false);
    const player = new AbortController();
    const waited = tier.wait(new Promise<never>(() => {}), player.signal);
    tier.start();
    const pid = encoder();
    tier.spawned(pid);
    const other = fg.enter();
    player.abort();
    await expect(waited).rejects.toThrow();
    await settle();
    expect(state(pid)).toBe('T');
    expect(fg.busy()).toBe(true); // the other work only
    void tier.wait(new Promise<never>(() => {}), new AbortController().signal);
    await settle();
    expect(state(pid)).not.toBe('T');
    other();
    tier.end();
    expect(fg.busy()).toBe(false);
    expect(fg.yieldingNow()).toBe(0);
  });

  it('a prefetch yields until joined, then resolves `promoted`; giving up before its encode starts holds nobody up', async () => {
    const fg = new Foreground();
    const prefetch = new RunTier(fg, true);
    expect(prefetch.yieldingNow()).toBe(true);
    prefetch.start();
    const pid = encoder();
    prefetch.spawned(pid);
    const other = fg.enter();
    await settle();
    expect(state(pid)).toBe('T');
    let promoted = false;
    void prefetch.promoted.then(() => {
      promoted = true;
    });
    void prefetch.wait(new Promise<never>(() => {}));
    await settle();
    expect(promoted).toBe(true);
    expect(state(pid)).not.toBe('T');
    other();
    prefetch.end();

    // Not started yet (waiting for the source or a place): its callers come and go without entering.
    const waitingRun = new RunTier(fg, false);
    const gone = new AbortController();
    const w = waitingRun.wait(new Promise<never>(() => {}), gone.signal);
    gone.abort();
    await expect(w).rejects.toThrow();
    expect(fg.busy()).toBe(false);
    expect(waitingRun.yieldingNow()).toBe(true);
    waitingRun.start(); // it starts as a yielding run: a prefetch's place
    expect(fg.busy()).toBe(false);
    waitingRun.end();
  });
});
