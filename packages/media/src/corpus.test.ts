import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TEMPLATE } from '@vodcloud/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassifyLimits, classify, type DecodeCheckResult, decodeCheck } from './classify';
import { detectEncoders } from './encoders';
import { type LadderPlan, planLadder } from './plan';
import { isProbeFailure, type MediaInfo, type ProbeFailure, tryProbe } from './probe';
import { runFfmpeg } from './runner';

/**
 * A corpus of generated files, each with the outcome probe + classify (+ decodeCheck) must give.
 * Everything is made here with ffmpeg or as bytes; nothing is mocked.
 */

const LIMITS: ClassifyLimits = {
  maxDurationSec: 3 * 3600,
  maxPixels: 35_000_000,
  maxSizeBytes: 20 * 1024 ** 3,
  maxFps: 120,
};

type Outcome =
  | 'video'
  | 'audio_only'
  | 'non_video'
  | 'malformed_media'
  | 'unsupported_codec'
  | 'too_long'
  | 'too_large';

interface Case {
  file: string;
  /** How the file is made: ffmpeg args (output appended) or a function writing it. */
  make: string[] | ((path: string) => Promise<void>);
  expect: Outcome;
  /** Expected decodeCheck outcome for files classify accepts (default: ok). */
  decode?: 'ok' | 'malformed_media';
  check?: (info: MediaInfo, plan: LadderPlan | null) => void;
  note: string;
}

const lavfi = (src: string) => ['-f', 'lavfi', '-i', src];
const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast'];
const tone = (d: number, extra = '') => lavfi(`sine=f=440:d=${d}:sample_rate=48000${extra}`);

/** Deterministic "random" bytes. */
function pseudoRandom(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = Buffer.from(seed);
  for (let off = 0; off < n; off += 32) {
    block = createHash('sha256').update(block).digest();
    block.copy(out, off, 0, Math.min(32, n - off));
  }
  return out;
}

let dir = '';

async function gen(args: string[], out: string): Promise<void> {
  await runFfmpeg(['-v', 'error', '-y', ...args, out], { timeoutMs: 60_000 });
}

async function truncate(src: string, dst: string, fraction: number): Promise<void> {
  const b = await readFile(join(dir, src));
  await writeFile(dst, b.subarray(0, Math.floor(b.length * fraction)));
}

/** Offset of the first top-level box named `name` in an MP4. */
function boxOffset(b: Buffer, name: string): number {
  let off = 0;
  while (off + 8 <= b.length) {
    const size = b.readUInt32BE(off);
    if (b.toString('latin1', off + 4, off + 8) === name) return off;
    if (size < 8) return -1;
    off += size;
  }
  return -1;
}

const CASES: Case[] = [
  { file: 'zero.mp4', make: (p) => writeFile(p, ''), expect: 'non_video', note: 'empty file' },
  {
    file: 'random.mp4',
    make: (p) => writeFile(p, pseudoRandom(64 * 1024, 'vodcloud')),
    expect: 'non_video',
    note: 'random bytes named .mp4 (ffprobe: moov atom not found; no ISO box at offset 4)',
  },
  {
    file: 'text.mp4',
    make: (p) => writeFile(p, 'This is a README, not a movie.\n'.repeat(40)),
    expect: 'non_video',
    note: 'a text file named .mp4',
  },
  {
    file: 'moov_end.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=3'), ...tone(3), ...x264, '-c:a', 'aac', '-shortest'],
    expect: 'video',
    note: 'moov after mdat (ffmpeg default)',
    check: (i) => expect(i.audio).toHaveLength(1),
  },
  {
    file: 'faststart.mp4',
    make: [
      ...lavfi('testsrc2=s=320x180:r=25:d=6'),
      ...tone(6),
      ...x264,
      '-c:a',
      'aac',
      '-shortest',
      '-movflags',
      '+faststart',
    ],
    expect: 'video',
    note: 'moov first',
  },
  {
    file: 'truncated_moov.mp4',
    make: (p) => truncate('moov_end.mp4', p, 0.6),
    expect: 'malformed_media',
    note: 'moov at the end, upload cut before it',
  },
  {
    file: 'truncated_mdat.mp4',
    make: (p) => truncate('faststart.mp4', p, 0.5),
    expect: 'video',
    decode: 'malformed_media',
    note: 'moov first, cut in mdat: probe is happy (the index is whole), the tail decode finds no data',
  },
  {
    file: 'garbage_mdat.mp4',
    make: async (p) => {
      const b = Buffer.from(await readFile(join(dir, 'faststart.mp4')));
      const mdat = boxOffset(b, 'mdat');
      pseudoRandom(b.length - mdat - 16, 'garbage').copy(b, mdat + 16);
      await writeFile(p, b);
    },
    expect: 'video',
    decode: 'malformed_media',
    note: 'valid index, random sample data: only decoding tells',
  },
  {
    file: 'audio_only.m4a',
    make: [...tone(2), '-c:a', 'aac'],
    expect: 'audio_only',
    note: 'AAC in MP4',
  },
  {
    file: 'audio_only.mp3',
    make: [...tone(2), '-c:a', 'libmp3lame'],
    expect: 'audio_only',
    note: 'MP3',
  },
  {
    file: 'video_only.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=2'), ...x264],
    expect: 'video',
    note: 'no audio: no audio plan',
    check: (_i, plan) => expect(plan?.audio).toBeNull(),
  },
  {
    file: 'single_frame.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25'), '-frames:v', '1', ...x264],
    expect: 'video',
    note: 'one H.264 frame in MP4 is a (very short) video',
  },
  {
    file: 'short_0.2s.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=0.2'), ...x264],
    expect: 'video',
    note: '5 frames',
    check: (i) => expect(i.duration).toBeCloseTo(0.2, 2),
  },
  {
    file: 'odd_1919x1079.mp4',
    make: [...lavfi('testsrc2=s=1919x1079:r=25:d=0.4,format=yuv444p'), ...x264],
    expect: 'video',
    note: 'odd dimensions (4:4:4 so x264 accepts them): even output dims, 1080p rung dropped',
    check: (i, plan) => {
      expect([i.video?.width, i.video?.height]).toEqual([1919, 1079]);
      expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual([
        '1280x720',
        '854x480',
        '640x360',
      ]);
    },
  },
  {
    file: 'portrait_rotated.mp4',
    make: async (p) => {
      const tmp = join(dir, 'landscape_src.mp4');
      await gen([...lavfi('testsrc2=s=640x360:r=25:d=1'), ...x264], tmp);
      await gen(['-i', tmp, '-c', 'copy', '-metadata:s:v:0', 'rotate=90'], p);
    },
    expect: 'video',
    note: 'stored 640×360 with a 90° display matrix: displayed 360×640, portrait ladder',
    check: (i, plan) => {
      expect([i.video?.codedWidth, i.video?.codedHeight]).toEqual([640, 360]);
      expect([i.video?.width, i.video?.height]).toEqual([360, 640]);
      expect([90, 270]).toContain(i.video?.rotation);
      expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['360x640']);
    },
  },
  {
    file: 'aspect_4x3.mp4',
    make: [...lavfi('testsrc2=s=640x480:r=25:d=1'), ...x264],
    expect: 'video',
    note: '4:3',
    check: (_i, plan) =>
      expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['640x480', '480x360']),
  },
  {
    file: 'aspect_21x9.mp4',
    make: [...lavfi('testsrc2=s=1120x480:r=25:d=1'), ...x264],
    expect: 'video',
    note: '21:9 (2.33:1)',
    check: (_i, plan) =>
      expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['1120x480', '840x360']),
  },
  {
    file: 'anamorphic_sar.mp4',
    make: [...lavfi('testsrc2=s=720x576:r=25:d=1'), '-vf', 'setsar=16/11', ...x264],
    expect: 'video',
    note: 'anamorphic 720×576 at SAR 16:11 (display 1047×576): square-pixel 872×480 and 654×360',
    check: (i, plan) => {
      expect(i.video?.displayAspect).toBeCloseTo((720 * 16) / 11 / 576, 3);
      expect(plan!.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['872x480', '654x360']);
    },
  },
  {
    file: 'vfr.mp4',
    make: [
      '-filter_complex',
      'testsrc2=s=320x180:r=15:d=1[a];testsrc2=s=320x180:r=30:d=1[b];[a][b]concat,settb=1/90000[v]',
      '-map',
      '[v]',
      '-fps_mode',
      'vfr',
      ...x264,
    ],
    expect: 'video',
    note: '1 s at 15 fps then 1 s at 30 fps: VFR (avg 22.9), planned as constant 23.976 fps (nearest standard)',
    check: (i, plan) => {
      expect(i.video?.vfr).toBe(true);
      expect(plan!.fps).toEqual({ num: 24000, den: 1001 });
    },
  },
  {
    file: 'interlaced.ts',
    make: [
      ...lavfi('testsrc2=s=720x576:r=50:d=1'),
      '-vf',
      'tinterlace=mode=interleave_top,setfield=tff',
      ...x264,
      '-flags',
      '+ildct+ilme',
      '-x264-params',
      'tff=1',
    ],
    expect: 'video',
    note: 'interlaced H.264 (tff) in MPEG-TS: deinterlace planned',
    check: (i, plan) => {
      expect(i.video?.interlaced).toBe(true);
      expect(plan!.deinterlace).toBe(true);
    },
  },
  {
    file: 'h264_10bit.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=1'), ...x264, '-pix_fmt', 'yuv420p10le'],
    expect: 'video',
    note: 'High 10 (output is 8-bit yuv420p)',
    check: (i) => {
      expect(i.video?.bitDepth).toBe(10);
      expect(i.video?.profile).toBe('High 10');
    },
  },
  {
    file: 'hevc.mp4',
    make: [
      ...lavfi('testsrc2=s=320x180:r=25:d=1'),
      '-c:v',
      'libx265',
      '-preset',
      'ultrafast',
      '-x265-params',
      'log-level=error',
      '-tag:v',
      'hvc1',
    ],
    expect: 'video',
    note: 'HEVC',
    check: (i) => expect(i.video?.codec).toBe('hevc'),
  },
  {
    file: 'vp9.webm',
    make: [
      ...lavfi('testsrc2=s=320x180:r=25:d=1'),
      ...tone(1),
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '300k',
      '-c:a',
      'libopus',
    ],
    expect: 'video',
    note: 'VP9 + Opus in WebM',
    check: (i) => {
      expect(i.video?.codec).toBe('vp9');
      expect(i.container).toBe('matroska,webm');
    },
  },
  {
    file: 'webm_named.mp4',
    make: async (p) => {
      await writeFile(p, await readFile(join(dir, 'vp9.webm')));
    },
    expect: 'video',
    note: 'a WebM named .mp4: container detected by content',
    check: (i) => {
      expect(i.container).toBe('matroska,webm');
      expect(i.sniffed).toBe('matroska');
    },
  },
  {
    file: 'mpeg2.ts',
    make: [
      ...lavfi('testsrc2=s=720x576:r=25:d=1'),
      ...tone(1),
      '-c:v',
      'mpeg2video',
      '-b:v',
      '2M',
      '-c:a',
      'mp2',
    ],
    expect: 'video',
    note: 'MPEG-2 video + MP2 in MPEG-TS',
    check: (i) => {
      expect(i.container).toBe('mpegts');
      expect(i.video?.codec).toBe('mpeg2video');
    },
  },
  {
    file: 'prores.mov',
    make: [
      ...lavfi('testsrc2=s=320x180:r=25:d=1'),
      ...tone(1),
      '-c:v',
      'prores_ks',
      '-profile:v',
      '0',
      '-c:a',
      'pcm_s16le',
    ],
    expect: 'video',
    note: 'ProRes 422 Proxy + PCM in MOV',
    check: (i) => expect(i.video?.codec).toBe('prores'),
  },
  {
    file: 'multi_audio.mkv',
    make: [
      ...lavfi('testsrc2=s=320x180:r=25:d=1'),
      ...tone(1),
      ...lavfi('sine=f=880:d=1:sample_rate=44100'),
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-map',
      '2:a',
      ...x264,
      '-c:a',
      'aac',
      '-disposition:a:0',
      '0',
      '-disposition:a:1',
      'default',
    ],
    expect: 'video',
    note: 'two audio tracks, the second flagged default: the plan takes it (44.1 kHz kept)',
    check: (i, plan) => {
      expect(i.audio).toHaveLength(2);
      expect(plan!.audio?.sourceIndex).toBe(2);
      expect(plan!.audio?.sampleRate).toBe(44100);
    },
  },
  {
    file: 'surround_5.1.mp4',
    make: [
      ...lavfi('testsrc2=s=320x180:r=25:d=1'),
      ...lavfi('sine=f=440:d=1:sample_rate=48000'),
      '-filter_complex',
      '[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]',
      '-map',
      '0:v',
      '-map',
      '[a]',
      ...x264,
      '-c:a',
      'aac',
    ],
    expect: 'video',
    note: '5.1 AAC: downmixed to 2 channels',
    check: (i, plan) => {
      expect(i.audio[0]?.channels).toBe(6);
      expect(plan!.audio?.channels).toBe(2);
    },
  },
  {
    file: 'image.png',
    make: [...lavfi('testsrc2=s=320x180'), '-frames:v', '1'],
    expect: 'non_video',
    note: 'PNG',
  },
  {
    file: 'image.jpg',
    make: [...lavfi('testsrc2=s=320x180'), '-frames:v', '1'],
    expect: 'non_video',
    note: 'JPEG',
  },
  {
    file: 'bomb_8192x8192.mp4',
    make: [
      ...lavfi('color=c=blue:s=8192x8192:r=25'),
      '-frames:v',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '51',
    ],
    expect: 'too_large',
    note: 'a small file declaring 8192×8192 (67 Mpx) frames: refused from the header, never decoded',
    check: (i) => expect(i.size).toBeLessThan(256 * 1024),
  },
  {
    file: 'fps_240.mp4',
    make: [...lavfi('testsrc2=s=160x90:r=240:d=0.5'), ...x264],
    expect: 'too_large',
    note: '240 fps above maxFps 120',
  },
  {
    file: 'fps_100.mp4',
    make: [...lavfi('testsrc2=s=160x90:r=100:d=0.5'), ...x264],
    expect: 'video',
    note: '100 fps accepted, planned at 50 fps (source ÷ 2 under the 60 cap)',
    check: (_i, plan) => expect(plan!.fps).toEqual({ num: 50, den: 1 }),
  },
  {
    file: 'pts_jump_hours.ts',
    make: async (p) => {
      const a = join(dir, 'jump_a.ts');
      const b = join(dir, 'jump_b.ts');
      await gen([...lavfi('testsrc2=s=160x90:r=25:d=1'), ...x264, '-f', 'mpegts'], a);
      await gen(
        [...lavfi('testsrc2=s=160x90:r=25:d=1'), ...x264, '-output_ts_offset', '18000', '-f', 'mpegts'],
        b,
      );
      await writeFile(p, Buffer.concat([await readFile(a), await readFile(b)]));
    },
    expect: 'too_long',
    note: 'MPEG-TS whose PTS jump 5 h: the container declares ~5 h (a CFR encode would fill it)',
    check: (i) => expect(i.duration).toBeGreaterThan(17_000),
  },
];

interface Result {
  c: Case;
  info: MediaInfo | ProbeFailure;
  probeMs: number;
  outcome: Outcome;
  message: string;
  decode: DecodeCheckResult | null;
  plan: LadderPlan | null;
}
const results = new Map<string, Result>();
let decodable: ReadonlySet<string> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vod-corpus-'));
  decodable = (await detectEncoders()).decoders;
  // Two at a time (2 cores); files derived from others come after their source.
  const ordered = [...CASES];
  const derived = new Set([
    'truncated_moov.mp4',
    'truncated_mdat.mp4',
    'garbage_mdat.mp4',
    'webm_named.mp4',
    'portrait_rotated.mp4',
  ]);
  const first = ordered.filter((c) => !derived.has(c.file));
  const later = ordered.filter((c) => derived.has(c.file));
  const make = async (c: Case) => {
    const path = join(dir, c.file);
    if (Array.isArray(c.make)) await gen(c.make, path);
    else await c.make(path);
  };
  for (const group of [first, later]) {
    const queue = [...group];
    await Promise.all(
      [0, 1].map(async () => {
        for (let c = queue.shift(); c; c = queue.shift()) await make(c);
      }),
    );
  }
  // Probe, classify and decode-check each.
  for (const c of CASES) {
    const path = join(dir, c.file);
    const t0 = performance.now();
    const info = await tryProbe(path, { timeoutMs: 10_000 });
    const probeMs = performance.now() - t0;
    const verdict = classify(info, { ...LIMITS, decodableCodecs: decodable });
    let decode: DecodeCheckResult | null = null;
    let plan: LadderPlan | null = null;
    if (verdict.ok && !isProbeFailure(info)) {
      decode = await decodeCheck(path, {
        durationSec: info.duration,
        hasVideo: !!info.video,
        timeoutMs: 20_000,
      });
      if (info.video) plan = planLadder(DEFAULT_TEMPLATE, info);
    }
    results.set(c.file, {
      c,
      info,
      probeMs,
      outcome: verdict.ok ? verdict.kind : verdict.code,
      message: verdict.ok ? '' : verdict.message,
      decode,
      plan,
    });
  }
}, 120_000);

afterAll(async () => {
  const rows = [...results.values()].map((r) => {
    const d = r.decode ? (r.decode.ok ? 'decode ok' : `decode: ${r.decode.code}`) : '';
    return `${r.c.file.padEnd(24)} ${r.outcome.padEnd(16)} ${d.padEnd(26)} probe ${r.probeMs.toFixed(0).padStart(3)} ms  ${r.message}`;
  });
  if (process.env.VOD_CORPUS_REPORT) console.log(`\n${rows.join('\n')}`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('corpus: probe + classify (+ decodeCheck)', () => {
  it('has at least 25 files', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  it.each(CASES.map((c) => [c.file, c] as const))('%s', async (_name, c) => {
    const r = results.get(c.file);
    expect(r, 'generated and probed').toBeDefined();
    expect(r!.outcome, r!.message).toBe(c.expect);
    if (r!.outcome === 'video' || r!.outcome === 'audio_only') {
      const want = c.decode ?? 'ok';
      expect(r!.decode?.ok ? 'ok' : r!.decode?.code, r!.decode?.ok ? '' : r!.decode?.message).toBe(want);
    } else {
      expect(r!.message.length).toBeGreaterThan(10);
    }
    if (c.check && !isProbeFailure(r!.info)) c.check(r!.info, r!.plan);
    // Every accepted video plans to even dimensions.
    for (const rend of r!.plan?.renditions ?? []) {
      expect(rend.width % 2).toBe(0);
      expect(rend.height % 2).toBe(0);
    }
  });

  it('gives useful messages', () => {
    expect(results.get('bomb_8192x8192.mp4')!.message).toBe(
      'the video is 8192×8192 (67 Mpx), above the limit of 35 Mpx',
    );
    expect(results.get('truncated_moov.mp4')!.message).toMatch(/MP4\/MOV .*moov/);
    expect(results.get('pts_jump_hours.ts')!.message).toMatch(
      /lasts 5h00m\d\ds, above the limit of 3h00m00s/,
    );
    expect(results.get('image.png')!.message).toMatch(/still image \(png, 320×180\)/);
    expect(results.get('zero.mp4')!.message).toBe('the file is empty');
  });

  it('refuses a file above the size limit before anything else', async () => {
    const info = results.get('moov_end.mp4')!.info;
    const v = classify(info, { ...LIMITS, maxSizeBytes: 1000 });
    expect(v).toMatchObject({ ok: false, code: 'too_large' });
    expect((await stat(join(dir, 'moov_end.mp4'))).size).toBeGreaterThan(1000);
  });

  it('calls a codec ffmpeg cannot decode unsupported_codec', () => {
    const info = results.get('hevc.mp4')!.info;
    expect(classify(info, { ...LIMITS, decodableCodecs: new Set(['h264', 'aac']) })).toMatchObject({
      ok: false,
      code: 'unsupported_codec',
    });
  });

  it('probes with the container first: a truncated MP4 with moov first still gives stream data', async () => {
    const info = results.get('truncated_mdat.mp4')!.info as MediaInfo;
    expect(info.video?.codec).toBe('h264');
  });
});
