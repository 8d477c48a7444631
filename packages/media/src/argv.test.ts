import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TemplateSpec } from '@vodcloud/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkArgs, m4aArgs, segmentFileName } from './argv';
import { fpsValue, planLadder, planSegments } from './plan';
import { probe } from './probe';
import { runFfmpeg, runFfprobe } from './runner';

const TEMPLATE: TemplateSpec = {
  renditions: [
    { name: '360p', height: 360, videoBitrate: 600_000 },
    { name: '180p', height: 180, videoBitrate: 200_000 },
  ],
  audio: { bitrate: 96_000 },
  hls: { segmentDuration: 1, encryption: 'none' },
  mp4: 'none',
};

let dir = '';
const gen = (args: string[]) => runFfmpeg(['-v', 'error', '-y', ...args], { timeoutMs: 30_000 });

async function countFrames(files: string[]): Promise<number> {
  let n = 0;
  for (const f of files) {
    const { stdout } = await runFfprobe(
      [
        '-v',
        'error',
        '-count_frames',
        '-select_streams',
        'v',
        '-show_entries',
        'stream=nb_read_frames',
        '-of',
        'csv=p=0',
        f,
      ],
      { timeoutMs: 10_000 },
    );
    n += Number.parseInt(stdout.trim(), 10);
  }
  return n;
}

/** Plans and encodes `src` as one chunk with these extras; returns frames per rendition vs expected. */
async function encodeOneChunk(
  src: string,
  name: string,
  extra: Partial<Parameters<typeof chunkArgs>[0]> = {},
) {
  const info = await probe(src);
  const plan = planLadder(TEMPLATE, info);
  const segs = planSegments(info.duration, 1, plan.fps);
  const out = join(dir, name);
  for (const r of plan.renditions) await mkdir(join(out, r.name), { recursive: true });
  await runFfmpeg(
    chunkArgs({
      input: src,
      startSec: segs[0]!.start,
      endSec: segs.at(-1)!.end,
      segments: segs,
      renditions: plan.renditions,
      outDir: out,
      deinterlace: plan.deinterlace,
      ...extra,
    }),
    { timeoutMs: 60_000 },
  );
  const res = [];
  for (const r of plan.renditions) {
    const files = (await readdir(join(out, r.name))).sort();
    expect(files).toEqual(segs.map((s) => segmentFileName(s.index)));
    res.push({
      name: r.name,
      frames: await countFrames(files.map((f) => join(out, r.name, f))),
      expected: Math.round(segs.at(-1)!.end * fpsValue(r.fps)),
    });
  }
  return { plan, res };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vod-argv-'));
  await Promise.all([
    gen([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=640x360:r=25:d=2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      join(dir, 'plain.mp4'),
    ]),
    gen([
      '-f',
      'lavfi',
      '-i',
      'color=c=white@0.5:s=64x32,format=rgba',
      '-frames:v',
      '1',
      join(dir, 'logo.png'),
    ]),
  ]);
  await gen([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=720x576:r=50:d=2',
    '-vf',
    'tinterlace=mode=interleave_top,setfield=tff',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-flags',
    '+ildct+ilme',
    '-x264-params',
    'tff=1',
    join(dir, 'interlaced.ts'),
  ]);
  await gen([
    '-filter_complex',
    'testsrc2=s=640x360:r=15:d=1[a];testsrc2=s=640x360:r=30:d=1[b];[a][b]concat,settb=1/90000[v]',
    '-map',
    '[v]',
    '-fps_mode',
    'vfr',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    join(dir, 'vfr.mp4'),
  ]);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('chunkArgs variants run with real ffmpeg', () => {
  it('watermark overlay (top-right, 50 % opacity)', async () => {
    const { res } = await encodeOneChunk(join(dir, 'plain.mp4'), 'wm', {
      watermark: {
        path: join(dir, 'logo.png'),
        position: 'top-right',
        margin: 0.02,
        opacity: 0.5,
        width: 0.1,
      },
    });
    for (const r of res) expect(r.frames).toBe(r.expected);
  });

  it('interlaced 25i source: bwdif, 25 fps progressive out', async () => {
    const { plan, res } = await encodeOneChunk(join(dir, 'interlaced.ts'), 'il');
    expect(plan.deinterlace).toBe(true);
    for (const r of res) expect(r.frames).toBe(r.expected);
    const { stdout } = await runFfprobe(
      [
        '-v',
        'error',
        '-show_entries',
        'stream=field_order',
        '-of',
        'csv=p=0',
        join(dir, 'il', '360p', 'seg-00000.ts'),
      ],
      { timeoutMs: 10_000 },
    );
    expect(new Set(stdout.split('\n').filter(Boolean))).toEqual(new Set(['progressive']));
  });

  it('VFR source: constant output rate, exact frame count', async () => {
    const { plan, res } = await encodeOneChunk(join(dir, 'vfr.mp4'), 'vfr');
    expect(plan.fps).toEqual({ num: 24000, den: 1001 });
    for (const r of res) expect(r.frames).toBe(r.expected);
  });

  it('refuses non-consecutive segments', () => {
    expect(() =>
      chunkArgs({
        input: 'x',
        startSec: 0,
        endSec: 3,
        segments: [
          { index: 0, start: 0, end: 1 },
          { index: 2, start: 2, end: 3 },
        ],
        renditions: [],
        outDir: '/tmp',
      }),
    ).toThrow(/consecutive|span/);
  });
});

describe('m4aArgs', () => {
  it('rewraps the audio segments into a faststart M4A by stream copy', () => {
    expect(m4aArgs({ audio: { listFile: '/w/audio.list' }, output: '/w/audio.m4a' })).toEqual([
      '-copyts',
      '-f',
      'mpegts',
      '-i',
      'concatf:/w/audio.list',
      '-map',
      '0:a:0',
      '-c',
      'copy',
      '-bsf:a',
      'aac_adtstoasc',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      '-y',
      '/w/audio.m4a',
    ]);
    expect(m4aArgs({ audio: ['/w/a0.ts', '/w/a1.ts'], output: 'o.m4a' })[4]).toBe('concat:/w/a0.ts|/w/a1.ts');
  });
});
