// The moderation classifier against the real model (nsfwjs MobileNetV2 on the tfjs wasm backend, in its worker
// thread), on frames ffmpeg draws: no mocks. The model loads once for the file (~1 s here).
import { execFile } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Classifier, type Frame, MODEL_INPUT_SIZE, type Scores } from './classifier.js';

const run = promisify(execFile);
const FRAME_BYTES = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3;

/** `count` 224x224 RGB frames of an ffmpeg test source (testsrc2, smptebars…), each a Buffer of its own. */
async function frames(source: string, count: number): Promise<Frame[]> {
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', `${source}=size=224x224`, '-frames:v', String(count)].concat([
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ]),
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  expect(stdout.length).toBe(count * FRAME_BYTES);
  return Array.from({ length: count }, (_, i) => ({
    rgb: Buffer.from(stdout.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES)),
    size: MODEL_INPUT_SIZE,
  }));
}

const CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'];
const top = (s: Scores) => Object.entries(s).sort((a, b) => b[1] - a[1])[0]![0];

function expectScores(s: Scores) {
  expect(Object.keys(s).sort()).toEqual(CLASSES);
  for (const p of Object.values(s)) {
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
  }
  const sum = Object.values(s).reduce((a, b) => a + b, 0);
  expect(Math.abs(sum - 1)).toBeLessThan(0.01);
}

describe('Classifier', () => {
  const classifier = new Classifier();
  beforeAll(() => classifier.ready(), 120_000);
  afterAll(() => classifier.close());

  it('loads the model from the package, with fetch disabled in the worker', async () => {
    expect(classifier.stats()).toMatchObject({ loaded: true, busy: false });
    // Nothing tried to download while loading, and a download fails in the worker.
    expect((await classifier.debug('state')).fetchCalls).toBe(0);
    await expect(classifier.debug('fetch')).rejects.toMatchObject({
      code: 'model_failed',
      message: expect.stringMatching(/fetch is disabled/),
    });
    expect((await classifier.debug('state')).fetchCalls).toBe(1);
  });

  it('scores every frame over the 5 classes; a test pattern is neutral or a drawing', async () => {
    const batch = [...(await frames('testsrc2', 3)), ...(await frames('smptebars', 1))];
    const before = classifier.stats().framesClassified;
    const scores = await classifier.classify(batch);
    expect(scores).toHaveLength(4);
    for (const s of scores) {
      expectScores(s);
      expect(['neutral', 'drawing']).toContain(top(s));
    }
    expect(classifier.stats().framesClassified).toBe(before + 4);
    // The frames' memory went to the worker, not a copy of it.
    expect(batch.every((f) => f.rgb.length === 0)).toBe(true);
  });

  it('keeps the event loop free while it classifies, and leaves no tensor behind', async () => {
    const batch = await frames('testsrc2', 40);
    const { tensors } = await classifier.debug('state');
    const delay = monitorEventLoopDelay({ resolution: 10 });
    let ticks = 0;
    const interval = setInterval(() => ticks++, 5);
    delay.enable();
    // The histogram records from its second sample on: a loop blocked from enable() on would go unseen.
    await new Promise((r) => setTimeout(r, 30));
    const t0 = performance.now();
    const scores = await classifier.classify(batch);
    const ms = performance.now() - t0;
    delay.disable();
    clearInterval(interval);
    expect(scores).toHaveLength(40);
    const p99 = delay.percentile(99) / 1e6;
    const max = delay.max / 1e6;
    console.info(
      `40 frames in ${ms.toFixed(0)} ms; event loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; ${ticks} ticks of 5 ms`,
    );
    // Inline, the same work would block the loop for seconds.
    expect(max).toBeLessThan(250);
    expect(ticks).toBeGreaterThan(ms / 5 / 10);
    expect((await classifier.debug('state')).tensors).toBe(tensors);
  });

  it('rejects a frame that is not what it says with model_failed, and goes on', async () => {
    await expect(classifier.classify([{ rgb: Buffer.alloc(100), size: 224 }])).rejects.toMatchObject({
      code: 'model_failed',
      message: expect.stringMatching(/not 224x224 RGB/),
    });
    expect(classifier.stats().loaded).toBe(true);
    expectScores((await classifier.classify(await frames('testsrc2', 1)))[0]!);
  });

  it('rejects the pending calls with model_failed when the worker dies; the next call starts a fresh one', async () => {
    const batch = await frames('testsrc2', 2);
    const crash = classifier.debug('crash');
    const pending = classifier.classify(batch);
    await expect(crash).rejects.toMatchObject({ code: 'model_failed' });
    await expect(pending).rejects.toMatchObject({
      code: 'model_failed',
      message: expect.stringMatching(/worker failed: model worker: crash/),
    });
    expect(classifier.stats().loaded).toBe(false);
    const [s] = await classifier.classify(await frames('smptebars', 1));
    expectScores(s!);
    expect(classifier.stats().loaded).toBe(true);
  });

  it('drops a queued call when its signal aborts, without sending its frames', async () => {
    const first = classifier.classify(await frames('testsrc2', 4));
    const ac = new AbortController();
    const queued = await frames('smptebars', 1);
    const second = classifier.classify(queued, ac.signal);
    ac.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    expect(queued[0]!.rgb.length).toBe(FRAME_BYTES);
    expect(await first).toHaveLength(4);
    await expect(classifier.classify(queued, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('Classifier when idle', () => {
  it('terminates its worker after idleMs, and loads the model again for the next call', async () => {
    const classifier = new Classifier({ idleMs: 200 });
    try {
      expectScores((await classifier.classify(await frames('testsrc2', 1)))[0]!);
      expect(classifier.stats().loaded).toBe(true);
      await vi.waitFor(() => expect(classifier.stats().loaded).toBe(false), {
        timeout: 10_000,
        interval: 50,
      });
      expectScores((await classifier.classify(await frames('testsrc2', 1)))[0]!);
      expect(classifier.stats()).toMatchObject({ loaded: true, framesClassified: 2 });
    } finally {
      await classifier.close();
    }
  }, 60_000);
});
