import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TemplateSpec } from '@vodcloud/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioArgs, chunkArgs, ladderArgs, mp4Args, remuxArgs, TS_OFFSET_SEC } from './argv';
import { chunkSegments, fpsValue, type LadderPlan, planLadder, planSegments, type Segment } from './plan';
import { type MediaInfo, probe } from './probe';
import { runFfmpeg, runFfprobe } from './runner';

/**
 * Chunked encoding must be gapless: a 12 s 29.97 fps source, 2 s segments, encoded as 3 independent chunks of
 * 2 segments (3 ffmpeg processes, run 2 at a time), must give exactly the frames, timestamps and keyframes
 * one continuous encode would.
 */

const TEMPLATE: TemplateSpec = {
  renditions: [
    { name: '360p', height: 360, videoBitrate: 800_000 },
    { name: '240p', height: 240, videoBitrate: 400_000 },
    // A slower rung: 29.97 → 14.985 fps, keyframes still on the shared boundaries.
    { name: '144p', height: 144, videoBitrate: 150_000, maxFps: 15 },
  ],
  audio: { bitrate: 128_000 },
  hls: { segmentDuration: 2, encryption: 'none' },
  mp4: 'highest',
};

interface Pkt {
  pts: number;
  dts: number;
  dur: number;
  key: boolean;
}

async function packets(file: string, stream: 'v' | 'a'): Promise<Pkt[]> {
  const { stdout } = await runFfprobe(
    [
      '-v',
      'error',
      '-select_streams',
      stream,
      '-show_entries',
      'packet=pts_time,dts_time,duration_time,flags',
      '-of',
      'json',
      file,
    ],
    { timeoutMs: 10_000 },
  );
  const data = JSON.parse(stdout) as {
    packets: { pts_time: string; dts_time: string; duration_time?: string; flags: string }[];
  };
  return data.packets.map((p) => ({
    pts: Number(p.pts_time),
    dts: Number(p.dts_time),
    dur: Number(p.duration_time ?? 0),
    key: p.flags.startsWith('K'),
  }));
}

let dir = '';
let src = '';
let info: MediaInfo;
let plan: LadderPlan;
let segments: Segment[];
const timings: Record<string, number> = {};

async function segmentFiles(d: string): Promise<string[]> {
  return (await readdir(d)).filter((f) => f.endsWith('.ts')).sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vod-chunks-'));
  src = join(dir, 'src.mp4');
  // Source keyframes every 5 s, off the 2 s grid: chunk starts must be decoded from an earlier keyframe.
  await runFfmpeg(
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=640x360:r=30000/1001:d=12',
      '-f',
      'lavfi',
      '-i',
      'sine=f=440:d=12:sample_rate=48000',
      '-ac',
      '2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '150',
      '-c:a',
      'aac',
      src,
    ],
    { timeoutMs: 30_000 },
  );
  info = await probe(src);
  plan = planLadder(TEMPLATE, info);
  segments = planSegments(info.duration, plan.segmentDuration, plan.fps);

  const out = join(dir, 'chunked');
  for (const r of plan.renditions) await mkdir(join(out, r.name), { recursive: true });
  await mkdir(join(out, 'audio'), { recursive: true });
  const chunks = chunkSegments(segments, 2);
  const jobs = [
    ...chunks.map(
      (c) => () =>
        runFfmpeg(
          chunkArgs({
            input: src,
            startSec: c[0]!.start,
            endSec: c.at(-1)!.end,
            segments: c,
            renditions: plan.renditions,
            outDir: out,
            threads: 1,
          }),
          { timeoutMs: 60_000 },
        ),
    ),
    () =>
      runFfmpeg(
        audioArgs({
          input: src,
          map: `0:${plan.audio!.sourceIndex}`,
          durationSec: segments.at(-1)!.end,
          segments,
          outDir: out,
          ...plan.audio!,
        }),
        { timeoutMs: 60_000 },
      ),
  ];
  let t0 = performance.now();
  await Promise.all(
    [0, 1].map(async () => {
      for (let j = jobs.shift(); j; j = jobs.shift()) await j();
    }),
  );
  timings.chunked = performance.now() - t0;

  // The single-process reference (audio muxed).
  const ref = join(dir, 'ladder');
  for (const r of plan.renditions) await mkdir(join(ref, r.name), { recursive: true });
  t0 = performance.now();
  await runFfmpeg(
    ladderArgs({
      input: src,
      segments,
      renditions: plan.renditions,
      outDir: ref,
      audio: plan.audio,
      threads: 2,
    }),
    { timeoutMs: 60_000 },
  );
  timings.ladder = performance.now() - t0;
}, 120_000);

afterAll(async () => {
  if (process.env.VOD_CORPUS_REPORT) console.log('timings (ms)', timings);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('chunked encoding is gapless', () => {
  it('plans 6 segments of 60 frames at 29.97 fps', () => {
    expect(plan.fps).toEqual({ num: 30000, den: 1001 });
    expect(segments.map((s) => s.endFrame - s.startFrame)).toEqual([60, 60, 60, 60, 60, 60]);
    expect(plan.renditions.map((r) => [r.name, r.width, r.height, r.gop])).toEqual([
      ['360p', 640, 360, 60],
      ['240p', 426, 240, 60],
      ['144p', 256, 144, 30],
    ]);
  });

  it.each(['360p', '240p', '144p'])(
    '%s: exact frame count, continuous PTS, keyframe first in every segment',
    async (name) => {
      const r = plan.renditions.find((x) => x.name === name)!;
      const rate = fpsValue(r.fps);
      const frame = 1 / rate;
      const files = await segmentFiles(join(dir, 'chunked', name));
      expect(files).toEqual(segments.map((s) => `seg-${String(s.index).padStart(5, '0')}.ts`));
      const all: number[] = [];
      let maxGap = 0;
      let prevLast: number | null = null;
      for (const [k, f] of files.entries()) {
        const pk = await packets(join(dir, 'chunked', name, f), 'v');
        const sorted = pk.map((p) => p.pts).sort((a, b) => a - b);
        // Starts with a keyframe, at the boundary (+ the constant offset).
        const firstByDts = pk[0]!;
        expect(firstByDts.key).toBe(true);
        expect(sorted[0]).toBeCloseTo(segments[k]!.start + TS_OFFSET_SEC, 3);
        expect(pk.filter((p) => p.key)).toHaveLength(1);
        if (prevLast !== null) maxGap = Math.max(maxGap, Math.abs(sorted[0]! - prevLast - frame));
        prevLast = sorted.at(-1)!;
        all.push(...sorted);
      }
      const expected = Math.round(segments.at(-1)!.end * rate);
      expect(all).toHaveLength(expected);
      // Every step, inside and across segments, is one frame (±0.1 ms of 90 kHz rounding).
      let worst = 0;
      for (let i = 1; i < all.length; i++) worst = Math.max(worst, Math.abs(all[i]! - all[i - 1]! - frame));
      expect(worst).toBeLessThan(0.0002);
      expect(maxGap).toBeLessThan(0.0002);
      timings[`${name}_frames`] = all.length;
    },
  );

  it('keyframes sit at the same times in every rendition, and match the single-process ladder', async () => {
    const keyTimes = async (d: string) => {
      const out: number[] = [];
      for (const f of await segmentFiles(d)) {
        for (const p of await packets(join(d, f), 'v')) if (p.key) out.push(Math.round(p.pts * 1000));
      }
      return out;
    };
    const want = segments.map((s) => Math.round((s.start + TS_OFFSET_SEC) * 1000));
    for (const r of plan.renditions) {
      expect(await keyTimes(join(dir, 'chunked', r.name))).toEqual(want);
      expect(await keyTimes(join(dir, 'ladder', r.name))).toEqual(want);
    }
  });

  it('the ladder reference has the same frame counts, with audio muxed', async () => {
    for (const r of plan.renditions) {
      const files = await segmentFiles(join(dir, 'ladder', r.name));
      expect(files).toHaveLength(segments.length);
      let n = 0;
      for (const f of files) n += (await packets(join(dir, 'ladder', r.name, f), 'v')).length;
      expect(n).toBe(Math.round(segments.at(-1)!.end * fpsValue(r.fps)));
      expect((await packets(join(dir, 'ladder', r.name, files[0]!), 'a')).length).toBeGreaterThan(0);
    }
  });

  it('audio: encoded once, same boundaries, total length within one AAC frame', async () => {
    const files = await segmentFiles(join(dir, 'chunked', 'audio'));
    expect(files).toHaveLength(segments.length);
    const aacFrame = 1024 / plan.audio!.sampleRate;
    const all: Pkt[] = [];
    for (const [k, f] of files.entries()) {
      const pk = await packets(join(dir, 'chunked', 'audio', f), 'a');
      // Each audio segment starts at the AAC frame nearest its boundary (the first one: priming before it).
      const lead = pk[0]!.pts - (segments[k]!.start + TS_OFFSET_SEC);
      if (k === 0) expect(lead).toBeCloseTo(-aacFrame, 3);
      else expect(Math.abs(lead)).toBeLessThanOrEqual(aacFrame / 2 + 0.0001);
      all.push(...pk);
    }
    let worst = 0;
    for (let i = 1; i < all.length; i++)
      worst = Math.max(worst, Math.abs(all[i]!.pts - all[i - 1]!.pts - aacFrame));
    expect(worst).toBeLessThan(0.0001);
    const end = all.at(-1)!.pts + aacFrame - TS_OFFSET_SEC;
    // Playable audio (after the priming frame) ends within one AAC frame of the video's end.
    expect(Math.abs(end - segments.at(-1)!.end)).toBeLessThanOrEqual(aacFrame + 0.0001);
    timings.audio_end_error_ms = Math.abs(end - segments.at(-1)!.end) * 1000;
  });

  it('mp4Args: progressive MP4 (moov first) by stream copy, all frames, A/V aligned at 0', async () => {
    const seg = (n: string) =>
      segments.map((s) => join(dir, 'chunked', n, `seg-${String(s.index).padStart(5, '0')}.ts`));
    const output = join(dir, '360p.mp4');
    await runFfmpeg(mp4Args({ video: seg('360p'), audio: seg('audio'), output }), { timeoutMs: 30_000 });
    const fh = await open(output, 'r');
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    await fh.close();
    const ftypSize = head.readUInt32BE(0);
    expect(head.toString('latin1', ftypSize + 4, ftypSize + 8)).toBe('moov');
    const { stdout } = await runFfprobe(
      [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_type,start_time,nb_frames,duration',
        '-of',
        'json',
        output,
      ],
      { timeoutMs: 10_000 },
    );
    const streams = (
      JSON.parse(stdout) as {
        streams: { codec_type: string; start_time: string; nb_frames: string; duration: string }[];
      }
    ).streams;
    const v = streams.find((s) => s.codec_type === 'video')!;
    const a = streams.find((s) => s.codec_type === 'audio')!;
    expect(Number(v.nb_frames)).toBe(360);
    expect(Number(v.start_time)).toBeCloseTo(0, 3);
    expect(Number(a.start_time)).toBeCloseTo(0, 2);
    expect(Math.abs(Number(a.duration) - Number(v.duration))).toBeLessThan(0.05);
  });

  it('remuxArgs: stream copy into TS segments cut at source keyframes', async () => {
    const out = join(dir, 'remux');
    await mkdir(join(out, 'src'), { recursive: true });
    const list = join(out, 'segments.csv');
    await runFfmpeg(
      remuxArgs({ input: src, splitTimes: [4, 8], outDir: out, name: 'src', segmentListFile: list }),
      {
        timeoutMs: 30_000,
      },
    );
    // Source keyframes are every 150 frames (5.005 s): cuts land at 5.005 and 10.01.
    const files = await segmentFiles(join(out, 'src'));
    expect(files).toEqual(['seg-00000.ts', 'seg-00001.ts', 'seg-00002.ts']);
    const firsts = [];
    for (const f of files) firsts.push((await packets(join(out, 'src', f), 'v'))[0]!.pts - TS_OFFSET_SEC);
    expect(firsts[1]).toBeCloseTo(5.005, 2);
    expect(firsts[2]).toBeCloseTo(10.01, 2);
  });
});
