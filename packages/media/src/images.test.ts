import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaError } from './errors';
import {
  choosePoster,
  extractFrame,
  makeStoryboard,
  POSTER_MIN_LUMA,
  posterCandidateTimes,
  storyboardIntervalMs,
  vttTime,
} from './images';
import { probe } from './probe';
import { runFfmpeg } from './runner';

const T = 20_000;
let dir = '';
const f = (name: string) => join(dir, name);

async function ff(args: string[]): Promise<void> {
  await runFfmpeg(['-loglevel', 'error', '-y', ...args], { timeoutMs: 30_000 });
}

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50'];

/** Mean luma (0..255) of a region (or the whole image); sharp's stats() ignores pipeline ops, so crop first. */
async function luma(img: Buffer, region?: { left: number; top: number; width: number; height: number }) {
  const buf = region ? await sharp(img).extract(region).png().toBuffer() : img;
  const [r, g, b] = (await sharp(buf).stats()).channels;
  return 0.299 * r!.mean + 0.587 * g!.mean + 0.114 * b!.mean;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vod-images-test-'));
  await Promise.all([
    // 2 s black intro, then 6 s of testsrc2 (8 s, 25 fps, landscape 320x180).
    ff([
      '-f',
      'lavfi',
      '-i',
      'color=c=black:s=320x180:r=25:d=2[a];testsrc2=s=320x180:r=25:d=6[b];[a][b]concat=n=2:v=1:a=0[out0]',
      ...X264,
      f('intro.mp4'),
    ]),
    // Phone-style portrait: the upright picture (240x320, white top half, black bottom half) is stored
    // as a landscape 320x240 sensor frame plus a display matrix (ffprobe rotation=-90) – muxed below.
    ff([
      '-f',
      'lavfi',
      '-i',
      'color=c=white:s=240x160:r=25:d=2[a];color=c=black:s=240x160:r=25:d=2[b];[a][b]vstack,transpose=cclock[out0]',
      ...X264,
      f('sensor.mp4'),
    ]),
    ff(['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=25:d=0.5', ...X264, f('short.mp4')]),
    ff(['-f', 'lavfi', '-i', 'color=c=black:s=320x180:r=25:d=3', ...X264, f('black.mp4')]),
    // Anamorphic: 360x240 stored with SAR 16:9 *width* stretch → displayed 640x240 (8:3).
    ff([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=360x240:r=25:d=2',
      '-vf',
      'setsar=16/9',
      ...X264,
      f('anamorphic.mp4'),
    ]),
  ]);
  await ff(['-i', f('sensor.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=270', f('portrait.mp4')]);
  // A longer clip at low resolution / frame rate for the storyboard: 60 s, 10 fps.
  await ff(['-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=10:d=60', ...X264, f('long.mp4')]);
  // Corrupt inputs: random bytes with an .mp4 name, and an mp4 cut in half (moov atom at the end is lost).
  await writeFile(
    f('random.mp4'),
    Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 251)),
  );
  const whole = await readFile(f('intro.mp4'));
  await writeFile(f('truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('extractFrame', () => {
  it('returns the display size by default, and a requested width keeps the aspect ratio', async () => {
    const full = await extractFrame(f('intro.mp4'), { timeSec: 4, format: 'png', timeoutMs: T });
    expect([full.width, full.height]).toEqual([320, 180]);
    const meta = await sharp(full.data).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([320, 180]);

    const small = await extractFrame(f('intro.mp4'), {
      timeSec: 4,
      width: 160,
      format: 'jpeg',
      timeoutMs: T,
    });
    expect([small.width, small.height]).toEqual([160, 90]);
    expect((await sharp(small.data).metadata()).format).toBe('jpeg');

    const byHeight = await extractFrame(f('intro.mp4'), {
      timeSec: 4,
      height: 45,
      format: 'webp',
      timeoutMs: T,
    });
    expect([byHeight.width, byHeight.height]).toEqual([80, 45]);
    expect((await sharp(byHeight.data).metadata()).format).toBe('webp');
  });

  it('fits into a box: contain letterboxes, cover crops, fill stretches', async () => {
    const base = { timeSec: 4, width: 200, height: 200, format: 'png' as const, timeoutMs: T };
    const contain = await extractFrame(f('intro.mp4'), { ...base, fit: 'contain' });
    const cover = await extractFrame(f('intro.mp4'), { ...base, fit: 'cover' });
    const fill = await extractFrame(f('intro.mp4'), { ...base, fit: 'fill' });
    for (const r of [contain, cover, fill]) expect([r.width, r.height]).toEqual([200, 200]);
    // 16:9 in a square: contain leaves black bars (top 40 rows), cover does not.
    const bar = { left: 0, top: 0, width: 200, height: 40 };
    expect(await luma(contain.data, bar)).toBeLessThan(5);
    expect(await luma(cover.data, bar)).toBeGreaterThan(POSTER_MIN_LUMA);
  });

  it('outputs a rotated phone clip upright, in portrait', async () => {
    const info = await probe(f('portrait.mp4'), { timeoutMs: T });
    expect([info.video?.codedWidth, info.video?.codedHeight]).toEqual([320, 240]);
    const img = await extractFrame(f('portrait.mp4'), { timeSec: 1, format: 'png', timeoutMs: T, info });
    expect([img.width, img.height]).toEqual([240, 320]);
    // Upright: the white half is on top.
    expect(await luma(img.data, { left: 0, top: 0, width: 240, height: 150 })).toBeGreaterThan(240);
    expect(await luma(img.data, { left: 0, top: 170, width: 240, height: 150 })).toBeLessThan(15);

    const thumb = await extractFrame(f('portrait.mp4'), {
      timeSec: 1,
      width: 120,
      format: 'jpeg',
      timeoutMs: T,
    });
    expect([thumb.width, thumb.height]).toEqual([120, 160]);
  });

  it('makes non-square pixels square (anamorphic source)', async () => {
    const img = await extractFrame(f('anamorphic.mp4'), { timeSec: 1, format: 'png', timeoutMs: T });
    expect([img.width, img.height]).toEqual([640, 240]);
  });

  it('clamps the time into [0, duration) and still returns a frame', async () => {
    const past = await extractFrame(f('intro.mp4'), {
      timeSec: 1e6,
      width: 64,
      format: 'jpeg',
      timeoutMs: T,
    });
    expect(past.timeSec).toBeGreaterThan(7.9);
    expect(past.timeSec).toBeLessThan(8);
    expect(past.data.length).toBeGreaterThan(100);

    const neg = await extractFrame(f('intro.mp4'), { timeSec: -5, width: 64, format: 'png', timeoutMs: T });
    expect(neg.timeSec).toBe(0);
    expect(await luma(neg.data)).toBeLessThan(5); // the black intro

    const nan = await extractFrame(f('intro.mp4'), {
      timeSec: Number.NaN,
      width: 64,
      format: 'png',
      timeoutMs: T,
    });
    expect(nan.timeSec).toBe(0);

    const short = await extractFrame(f('short.mp4'), { timeSec: 0.5, format: 'png', timeoutMs: T });
    expect(short.timeSec).toBeLessThan(0.5);
    expect([short.width, short.height]).toEqual([320, 180]);
  });

  it('seeks to the frame shown at the time (at or just before it), not the next one', async () => {
    // The black→testsrc2 cut is at exactly 2.000 s (frame 50). 1.99 s still shows frame 49 (black);
    // 2.0 and 2.03 (between frames 50 and 51) show testsrc2.
    const at = async (t: number) =>
      luma((await extractFrame(f('intro.mp4'), { timeSec: t, format: 'png', timeoutMs: T })).data);
    expect(await at(1.99)).toBeLessThan(5);
    expect(await at(1.999)).toBeLessThan(5);
    expect(await at(2.0)).toBeGreaterThan(POSTER_MIN_LUMA);
    expect(await at(2.03)).toBeGreaterThan(POSTER_MIN_LUMA);
  });

  it('rejects with a MediaError on corrupt input, and on abort', async () => {
    for (const name of ['random.mp4', 'truncated.mp4']) {
      const err = await extractFrame(f(name), { timeSec: 1, format: 'jpeg', timeoutMs: T }).catch((e) => e);
      expect(err).toBeInstanceOf(MediaError);
      expect((err as MediaError).code).toBe('ffmpeg_failed');
    }
    const info = await probe(f('intro.mp4'), { timeoutMs: T });
    // With a (stale) probe passed in, ffmpeg itself meets the corrupt file.
    const err2 = await extractFrame(f('random.mp4'), {
      timeSec: 1,
      format: 'jpeg',
      timeoutMs: T,
      info,
    }).catch((e) => e);
    expect(err2).toBeInstanceOf(MediaError);
    expect((err2 as MediaError).tool).toBe('ffmpeg');

    const ac = new AbortController();
    ac.abort();
    const err3 = await extractFrame(f('intro.mp4'), {
      timeSec: 1,
      format: 'jpeg',
      timeoutMs: T,
      info,
      signal: ac.signal,
    }).catch((e) => e);
    expect(err3).toBeInstanceOf(MediaError);
    expect((err3 as MediaError).code).toBe('aborted');
  });
});

describe('choosePoster', () => {
  it('spreads candidates over 5–95 % of the duration', () => {
    const ts = posterCandidateTimes(100, 6);
    expect(ts).toHaveLength(6);
    expect(ts[0]).toBeGreaterThan(5);
    expect(ts.at(-1)).toBeLessThan(95);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
  });

  it('skips the black intro and returns a bright, detailed frame', async () => {
    const started = performance.now();
    const p = await choosePoster(f('intro.mp4'), { durationSec: 8, candidates: 6, timeoutMs: T });
    const ms = performance.now() - started;
    expect(p.candidates.length).toBe(6);
    // Some candidates did land in the black intro and were rejected.
    expect(p.candidates.some((c) => c.timeSec < 2 && c.meanLuma < POSTER_MIN_LUMA)).toBe(true);
    expect(p.timeSec).toBeGreaterThan(2);
    expect(p.score.meanLuma).toBeGreaterThan(POSTER_MIN_LUMA);
    expect(await luma(p.jpeg)).toBeGreaterThan(POSTER_MIN_LUMA);
    const meta = await sharp(p.jpeg).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([p.width, p.height]);
    expect([p.width, p.height]).toEqual([320, 180]);
    expect(ms).toBeLessThan(10_000);
  });

  it('caps the size and keeps a portrait clip upright', async () => {
    const p = await choosePoster(f('portrait.mp4'), { durationSec: 2, maxSize: 160, timeoutMs: T });
    expect([p.width, p.height]).toEqual([120, 160]);
    expect(await luma(p.jpeg, { left: 0, top: 0, width: 120, height: 70 })).toBeGreaterThan(230);
  });

  it('still returns the least bad frame for a fully black video', async () => {
    const p = await choosePoster(f('black.mp4'), { durationSec: 3, timeoutMs: T });
    expect(p.jpeg.length).toBeGreaterThan(100);
    expect([p.width, p.height]).toEqual([320, 180]);
    expect(p.score.meanLuma).toBeLessThan(POSTER_MIN_LUMA);
    expect(p.score.score).toBeLessThan(0);
  });

  it('works on a 0.5 s clip', async () => {
    const p = await choosePoster(f('short.mp4'), { durationSec: 0.5, timeoutMs: T });
    expect(p.timeSec).toBeLessThan(0.5);
    expect(p.score.meanLuma).toBeGreaterThan(POSTER_MIN_LUMA);
  });

  it('rejects with a MediaError on corrupt input', async () => {
    const err = await choosePoster(f('random.mp4'), { durationSec: 10, timeoutMs: T }).catch((e) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect((err as MediaError).code).toBe('ffmpeg_failed');
  });
});

interface Cue {
  start: number;
  end: number;
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

const parseTime = (s: string) => {
  const m = /^(\d{2,}):(\d{2}):(\d{2})\.(\d{3})$/.exec(s);
  if (!m) throw new Error(`bad VTT time ${s}`);
  return Number(m[1]) * 3_600_000 + Number(m[2]) * 60_000 + Number(m[3]) * 1000 + Number(m[4]);
};

/** A strict little WebVTT parser for storyboard files. */
function parseVtt(vtt: string): Cue[] {
  const blocks = vtt.trimEnd().split('\n\n');
  expect(blocks[0]).toBe('WEBVTT');
  return blocks.slice(1).map((b) => {
    const [timing, payload, ...rest] = b.split('\n');
    expect(rest).toEqual([]);
    const tm = /^(\S+) --> (\S+)$/.exec(timing ?? '');
    const pm = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload ?? '');
    if (!tm || !pm) throw new Error(`bad cue ${b}`);
    return {
      start: parseTime(tm[1]!),
      end: parseTime(tm[2]!),
      url: pm[1]!,
      x: Number(pm[2]),
      y: Number(pm[3]),
      w: Number(pm[4]),
      h: Number(pm[5]),
    };
  });
}

async function checkStoryboard(sb: Awaited<ReturnType<typeof makeStoryboard>>, durationMs: number) {
  const cues = parseVtt(sb.vtt);
  expect(cues).toHaveLength(sb.count);
  expect(cues[0]!.start).toBe(0);
  expect(cues.at(-1)!.end).toBe(durationMs);
  for (let i = 0; i < cues.length; i++) {
    expect(cues[i]!.end).toBeGreaterThan(cues[i]!.start);
    if (i > 0) expect(cues[i]!.start).toBe(cues[i - 1]!.end);
  }
  const dims = await Promise.all(sb.sheets.map(async (s) => sharp(s).metadata()));
  for (const c of cues) {
    const sheet = Number(/sheet-(\d+)/.exec(c.url)![1]);
    const d = dims[sheet]!;
    expect([c.w, c.h]).toEqual([sb.tileWidth, sb.tileHeight]);
    expect(c.x + c.w).toBeLessThanOrEqual(d.width!);
    expect(c.y + c.h).toBeLessThanOrEqual(d.height!);
  }
  return { cues, dims };
}

describe('makeStoryboard', () => {
  it('formats VTT times and picks the default interval', () => {
    expect(vttTime(0)).toBe('00:00:00.000');
    expect(vttTime(3_723_045)).toBe('01:02:03.045');
    expect(storyboardIntervalMs(60_000)).toBe(1000);
    expect(storyboardIntervalMs(7_200_000)).toBe(48_000);
    expect(storyboardIntervalMs(10_000, 0.001, 1000)).toBe(10);
  });

  it('60 s clip: 60 tiles over two sheets of 10 × 4, contiguous cues, tiles in the right place', async () => {
    const started = performance.now();
    const sb = await makeStoryboard(f('long.mp4'), {
      durationSec: 60,
      tileWidth: 160,
      columns: 10,
      rowsPerSheet: 4,
      format: 'jpeg',
      spriteUrl: (i) => `sb/sheet-${i}.jpg`,
      timeoutMs: T,
    });
    const ms = performance.now() - started;
    expect(sb.count).toBe(60);
    expect(sb.intervalSec).toBe(1);
    expect([sb.tileWidth, sb.tileHeight]).toEqual([160, 90]);
    expect(sb.sheets).toHaveLength(2);
    const { cues, dims } = await checkStoryboard(sb, 60_000);
    expect(dims.map((d) => [d.format, d.width, d.height])).toEqual([
      ['jpeg', 1600, 360],
      ['jpeg', 1600, 180],
    ]);
    expect(cues[39]!.url).toBe('sb/sheet-0.jpg');
    expect([cues[39]!.x, cues[39]!.y]).toEqual([1440, 270]);
    expect(cues[40]!.url).toBe('sb/sheet-1.jpg');
    expect([cues[40]!.x, cues[40]!.y]).toEqual([0, 0]);
    // Tiles are real frames (testsrc2 is colourful everywhere), including the last one.
    const last = cues[59]!;
    const tile = await sharp(sb.sheets[1]!)
      .extract({ left: last.x, top: last.y, width: 160, height: 90 })
      .toBuffer();
    expect((await sharp(tile).stats()).channels[0]!.stdev).toBeGreaterThan(20);
    expect(ms).toBeLessThan(15_000);
  });

  it('keyframesOnly still yields one tile per interval', async () => {
    const sb = await makeStoryboard(f('long.mp4'), {
      durationSec: 60,
      intervalSec: 2,
      keyframesOnly: true,
      format: 'jpeg',
      spriteUrl: (i) => `sheet-${i}.jpg`,
      timeoutMs: T,
    });
    expect(sb.count).toBe(30);
    const { dims } = await checkStoryboard(sb, 60_000);
    expect(dims.map((d) => [d.width, d.height])).toEqual([[1600, 270]]);
  });

  it('default interval, webp, a duration that is not a multiple of the interval', async () => {
    const sb = await makeStoryboard(f('intro.mp4'), {
      durationSec: 7.96,
      intervalSec: 3,
      format: 'webp',
      spriteUrl: (i) => `https://cdn.example/v/sheet-${i}.webp`,
      timeoutMs: T,
    });
    expect(sb.count).toBe(3);
    const { cues, dims } = await checkStoryboard(sb, 7960);
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [0, 3000],
      [3000, 6000],
      [6000, 7960],
    ]);
    expect(dims).toHaveLength(1);
    expect([dims[0]!.format, dims[0]!.width, dims[0]!.height]).toEqual(['webp', 480, 90]);
    // First tile is the black intro, the second (3 s) is testsrc2.
    const tileAt = async (x: number) =>
      luma(await sharp(sb.sheets[0]!).extract({ left: x, top: 0, width: 160, height: 90 }).png().toBuffer());
    expect(await tileAt(0)).toBeLessThan(10);
    expect(await tileAt(160)).toBeGreaterThan(POSTER_MIN_LUMA);
  });

  it('portrait and very short clips', async () => {
    const p = await makeStoryboard(f('portrait.mp4'), {
      durationSec: 2,
      format: 'jpeg',
      spriteUrl: (i) => `sheet-${i}.jpg`,
      timeoutMs: T,
    });
    expect([p.tileWidth, p.tileHeight]).toEqual([160, 214]);
    expect(p.count).toBe(2);
    await checkStoryboard(p, 2000);
    // Upright: the top of the first tile is white.
    const top = await sharp(p.sheets[0]!)
      .extract({ left: 0, top: 0, width: 160, height: 90 })
      .png()
      .toBuffer();
    expect(await luma(top)).toBeGreaterThan(230);

    const s = await makeStoryboard(f('short.mp4'), {
      durationSec: 0.5,
      format: 'jpeg',
      spriteUrl: (i) => `sheet-${i}.jpg`,
      timeoutMs: T,
    });
    expect(s.count).toBe(1);
    const { cues } = await checkStoryboard(s, 500);
    expect(cues).toEqual([{ start: 0, end: 500, url: 'sheet-0.jpg', x: 0, y: 0, w: 160, h: 90 }]);
  });

  it('rejects with a MediaError on corrupt input', async () => {
    const err = await makeStoryboard(f('truncated.mp4'), {
      durationSec: 8,
      format: 'jpeg',
      spriteUrl: () => 'x.jpg',
      timeoutMs: T,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(MediaError);
  });
});
