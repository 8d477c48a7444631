// Issue 13: an animated GIF (20 frames) was refused as "a still image".
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from './classify';
import { isProbeFailure, tryProbe } from './probe';
import { runFfmpeg } from './runner';

const LIMITS = { maxDurationSec: 3600, maxPixels: 35_000_000, maxSizeBytes: 1e9, maxFps: 120 };

describe('finding: an animated GIF (20 frames) is rejected as "a still image"', () => {
  let dir = '';
  const gif = async (name: string, frames: number) => {
    const path = join(dir, name);
    await runFfmpeg(
      ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=10', '-frames:v', String(frames), '-y', path],
      { timeoutMs: 30_000 },
    );
    return path;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vodgif-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('classifies a 20-frame GIF as a 2 s video, and a one-frame GIF as a still image (non_video)', async () => {
    const animated = await tryProbe(await gif('x.gif', 20));
    expect(isProbeFailure(animated)).toBe(false);
    expect(classify(animated, LIMITS)).toEqual({ ok: true, kind: 'video' });
    if (!isProbeFailure(animated)) {
      expect(animated.isStillImage).toBe(false);
      expect(animated.duration).toBeCloseTo(2, 1);
      expect([animated.video?.width, animated.video?.height]).toEqual([160, 90]);
    }
    const still = classify(await tryProbe(await gif('one.gif', 1)), LIMITS);
    expect(still.ok).toBe(false);
    if (!still.ok) {
      expect(still.code).toBe('non_video');
      expect(still.message).toMatch(/still image/);
    }
  });
});
