import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalyzeOptions, analyzeMedia, buildAnalyzeArgs, frameSelectExpr } from './analyze';
import { DEFAULT_QC_THRESHOLDS, type Span } from './analyze-parse';
import { MediaError } from './errors';

const run = promisify(execFile);
const ff = (...args: string[]) =>
  run('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], {
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });

let dir = '';
const clip = (name: string) => join(dir, name);
const base: Pick<AnalyzeOptions, 'timeoutMs'> = { timeoutMs: 60_000 };

/** 25 fps: black 2–4 s (frames 50–99), silence 5–7 s (sample-exact), frozen picture 8–10 s (frames 200–249). */
const SPANS_GRAPH =
  "[0:v]drawbox=c=black:t=fill:enable='between(t,2,3.999)',split[m][r];" +
  '[m][r]freezeframes=first=200:last=249:replace=200[v]';
const SPANS_AUDIO = 'aevalsrc=0.5*sin(2*PI*440*t)*(lt(t\\,5)+gte(t\\,7)):s=48000:d=12';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vod-analyze-'));
  const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
  const small = 'testsrc2=s=320x240:r=25';
  await Promise.all([
    ff(
      ...['-f', 'lavfi', '-i', `${small}:d=12`, '-f', 'lavfi', '-i', SPANS_AUDIO],
      // veryfast, not ultrafast: ultrafast re-codes a repeated picture with noise above freezedetect's −60 dB.
      ...['-filter_complex', SPANS_GRAPH, '-map', '[v]', '-map', '1:a', ...x264, '-preset', 'veryfast'],
      ...['-c:a', 'aac'],
      clip('spans.mp4'),
    ).then(() =>
      // MPEG-TS whose timestamps start at 1.4 s.
      ff('-i', clip('spans.mp4'), '-c', 'copy', '-output_ts_offset', '1.4', '-f', 'mpegts', clip('spans.ts')),
    ),
    // EBU Tech 3341 case 1: 1 kHz stereo sine at −23 dBFS → −23.0 LUFS.
    ff(
      ...['-f', 'lavfi', '-i', 'aevalsrc=0.070795*sin(2*PI*1000*t)|0.070795*sin(2*PI*1000*t):s=48000:d=10'],
      ...['-c:a', 'pcm_s16le', clip('tone.wav')],
    ),
    ff(
      ...['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=50:d=3', '-vf', 'tinterlace=mode=interleave_top'],
      ...[...x264, '-flags', '+ilme+ildct', '-x264opts', 'tff=1', clip('interlaced.mp4')],
    ),
    ff('-f', 'lavfi', '-i', `${small}:d=3`, ...x264, clip('progressive.mp4')),
    ff(
      ...['-f', 'lavfi', '-i', 'testsrc2=s=1280x540:r=25:d=2', '-vf', 'pad=1280:720:0:90:black'],
      ...[...x264, clip('letterbox.mp4')],
    ),
    ff(
      ...[
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=320x240:r=25:d=3',
        '-f',
        'lavfi',
        '-i',
        'smptebars=s=320x240:r=25:d=3',
      ],
      ...['-f', 'lavfi', '-t', '3', '-i', 'mandelbrot=s=320x240:r=25'],
      ...['-filter_complex', '[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]', '-map', '[v]', ...x264],
      clip('scenes.mp4'),
    ),
    ff('-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=10:d=60', ...x264, clip('long.mp4')),
    writeFile(clip('random.mp4'), randomBytes(64 * 1024)),
  ]);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectSpans(got: Span[], want: Span[], tol: number): void {
  expect(got).toHaveLength(want.length);
  got.forEach((s, i) => {
    expect(Math.abs(s.start - want[i]!.start)).toBeLessThanOrEqual(tol);
    expect(Math.abs(s.end - want[i]!.end)).toBeLessThanOrEqual(tol);
  });
}

describe('analyzeMedia', () => {
  it('finds black 2–4 s, silence 5–7 s and a freeze 8–10 s, and nothing else', async () => {
    const { qc } = await analyzeMedia(clip('spans.mp4'), {
      ...base,
      durationSec: 12,
      hasVideo: true,
      hasAudio: true,
    });
    expectSpans(qc.black, [{ start: 2, end: 4 }], 1 / 25);
    expectSpans(qc.freeze, [{ start: 8, end: 10 }], 1 / 25);
    expectSpans(qc.silence, [{ start: 5, end: 7 }], 0.01);
    expect(qc.loudness).not.toBeNull();
    expect(qc.interlaced).toBe(false);
    expect(qc.crop).toBeNull();
  });

  it('reports times from the first frame of an MPEG-TS that starts at 1.4 s', async () => {
    const times: number[] = [];
    const { qc } = await analyzeMedia(clip('spans.ts'), {
      ...base,
      durationSec: 12,
      hasVideo: true,
      hasAudio: true,
      frames: { onFrame: (f) => void times.push(f.time) },
    });
    expectSpans(qc.black, [{ start: 2, end: 4 }], 1 / 25);
    expectSpans(qc.freeze, [{ start: 8, end: 10 }], 1 / 25);
    expectSpans(qc.silence, [{ start: 5, end: 7 }], 0.01);
    expect(times[0]).toBe(0);
    // Without sampling, the first frame's time still comes from its own one-frame branch.
    const plain = await analyzeMedia(clip('spans.ts'), {
      ...base,
      durationSec: 12,
      hasVideo: true,
      hasAudio: true,
    });
    expect(plain.qc.black).toEqual(qc.black);
    expect(plain.qc.silence).toEqual(qc.silence);
  });

  it('measures a 1 kHz stereo tone at −23 dBFS as −23 LUFS (EBU Tech 3341 case 1), audio only', async () => {
    let frames = 0;
    const res = await analyzeMedia(clip('tone.wav'), {
      ...base,
      durationSec: 10,
      hasVideo: false,
      hasAudio: true,
      frames: { onFrame: () => void frames++ },
    });
    expect(res.qc.loudness!.integratedLufs).toBeGreaterThanOrEqual(-23.5);
    expect(res.qc.loudness!.integratedLufs).toBeLessThanOrEqual(-22.5);
    expect(res.qc.loudness!.truePeakDbtp).toBeCloseTo(-23, 0);
    expect(res.qc.silence).toEqual([]);
    expect(res.qc).toMatchObject({ interlaced: false, idet: null, crop: null, sceneChanges: 0, black: [] });
    expect(res.framesSampled).toBe(0);
    expect(frames).toBe(0);
  });

  it('tells interlaced from progressive', async () => {
    const opts = { ...base, durationSec: 3, hasVideo: true, hasAudio: false };
    const inter = await analyzeMedia(clip('interlaced.mp4'), opts);
    const prog = await analyzeMedia(clip('progressive.mp4'), opts);
    expect(inter.qc.interlaced).toBe(true);
    expect(prog.qc.interlaced).toBe(false);
    expect(prog.qc.idet).not.toBeNull();
  });

  it('finds the letterbox of a 1280x540 picture in 1280x720, in source pixels', async () => {
    const { qc } = await analyzeMedia(clip('letterbox.mp4'), {
      ...base,
      durationSec: 2,
      hasVideo: true,
      hasAudio: false,
    });
    const c = qc.crop!;
    expect(Math.abs(c.x)).toBeLessThanOrEqual(4);
    expect(Math.abs(c.y - 90)).toBeLessThanOrEqual(4);
    expect(Math.abs(c.width - 1280)).toBeLessThanOrEqual(4);
    expect(Math.abs(c.height - 540)).toBeLessThanOrEqual(4);
  });

  it('counts two scene changes in three sources put end to end, and samples one of them', async () => {
    const frames: { time: number; bytes: number }[] = [];
    const res = await analyzeMedia(clip('scenes.mp4'), {
      ...base,
      durationSec: 9,
      hasVideo: true,
      hasAudio: false,
      frames: { size: 32, onFrame: (f) => void frames.push({ time: f.time, bytes: f.rgb.length }) },
    });
    expect(res.qc.sceneChanges).toBe(2);
    expect(res.qc.sceneTimes.map((t) => Math.round(t))).toEqual([3, 6]);
    expect(res.qc.black).toEqual([]);
    expect(res.framesSampled).toBe(frames.length);
    expect(frames.every((f) => f.bytes === 32 * 32 * 3)).toBe(true);
    const times = frames.map((f) => f.time);
    expect(times[0]).toBe(0);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.some((t) => Math.abs(t - 3) < 0.05 || Math.abs(t - 6) < 0.05)).toBe(true);
  });

  it('never samples more than max frames, spread over the whole clip', async () => {
    const frames: { time: number; bytes: number }[] = [];
    let last = 0;
    const res = await analyzeMedia(clip('long.mp4'), {
      ...base,
      durationSec: 60,
      hasVideo: true,
      hasAudio: false,
      frames: {
        max: 10,
        onFrame: async (f) => {
          await new Promise((r) => setTimeout(r, 5)); // a slow consumer: ffmpeg waits
          frames.push({ time: f.time, bytes: f.rgb.length });
        },
      },
      onProgress: (p) => {
        last = p;
      },
    });
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.length).toBeLessThanOrEqual(10);
    expect(res.framesSampled).toBe(frames.length);
    expect(frames.every((f) => f.bytes === 224 * 224 * 3)).toBe(true);
    expect(frames[0]!.time).toBe(0);
    expect(frames.at(-1)!.time).toBeGreaterThanOrEqual(40);
    expect(last).toBe(1);
    expect(res.qc.loudness).toBeNull();
    expect(res.qc.silence).toEqual([]);
  });

  it('rejects an unreadable file with MediaError', async () => {
    const err = await analyzeMedia(clip('random.mp4'), {
      ...base,
      durationSec: 10,
      hasVideo: true,
      hasAudio: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect((err as MediaError).code).toBe('ffmpeg_failed');
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    const err = await analyzeMedia(clip('long.mp4'), {
      ...base,
      signal: ac.signal,
      durationSec: 60,
      hasVideo: true,
      hasAudio: false,
      frames: { onFrame: () => ac.abort() },
    }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe('aborted');
  });
});

describe('frame selection', () => {
  it('widens the interval so that max frames cover the duration, with a gap that bounds the count', () => {
    const s = frameSelectExpr(7200, { intervalSec: 5, max: 60 }, 10);
    expect(s.intervalSec).toBe(240);
    expect(s.gapSec).toBeCloseTo(7200 / 59, 6);
    expect(Math.floor(7200 / s.gapSec) + 1).toBeLessThanOrEqual(60);
    expect(s.expr).toContain('gte(scene,0.1)');
    expect(frameSelectExpr(12, { intervalSec: 5, max: 60 }, 10)).toMatchObject({
      intervalSec: 5,
      gapSec: 2.5,
    });
    expect(frameSelectExpr(12, { intervalSec: 5, max: 1 }, 10).expr).toBe('isnan(prev_selected_t)');
  });

  it('builds no video branch for audio only and no audio branch without audio', () => {
    const g = { durationSec: 10, thresholds: DEFAULT_QC_THRESHOLDS, frames: null };
    const audio = buildAnalyzeArgs('in.wav', { ...g, hasVideo: false, hasAudio: true }).join(' ');
    expect(audio).not.toContain('0:V');
    expect(audio).toContain('asetpts=PTS-STARTPTS');
    const video = buildAnalyzeArgs('in.mp4', { ...g, hasVideo: true, hasAudio: false }).join(' ');
    expect(video).not.toContain('0:a');
    expect(video.match(/-i /g)).toHaveLength(1);
  });
});
