/**
 * A corpus of hostile and unusual media files, generated with ffmpeg (or written as bytes), each with the
 * outcome expected from it: what probe + classify (+ decodeCheck) must say with the unit-test limits, and
 * what the platform must end with when the file is uploaded. Shared by the media corpus test and the
 * end-to-end hostile-corpus test. Test support only: nothing here is used at run time.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg } from './runner';

/** probe + classify outcome (with the corpus test's limits: 3 h, 35 Mpx, 120 fps). */
export type ClassifyOutcome =
  | 'video'
  | 'audio_only'
  | 'non_video'
  | 'malformed_media'
  | 'unsupported_codec'
  | 'too_long'
  | 'too_large';

export type PlatformErrorCode =
  | 'non_video'
  | 'malformed_media'
  | 'unsupported_codec'
  | 'too_long'
  | 'too_large';

/** What the platform must end with once the file is uploaded (its own limits: 6 h, 8192×4320, 240 fps). */
export type PlatformExpect =
  | {
      outcome: 'ready';
      /** Audio only: no video renditions. */
      audioOnly?: boolean;
      /** Source duration in seconds (the platform's duration must be close to it). */
      duration: number;
      /** Displayed source size (after rotation), when there is video. */
      width?: number;
      height?: number;
    }
  | {
      outcome: 'errored';
      code: PlatformErrorCode;
      /** The error message must match this. */
      message?: RegExp;
    }
  | {
      /** The tus creation is refused with this status: nothing is stored or processed. */
      outcome: 'refused';
      status: number;
    };

export interface CorpusCase {
  name: string;
  /** How the file is made: ffmpeg args (output appended) or a function writing it (`dir` holds the others). */
  make: string[] | ((path: string, dir: string) => Promise<void>);
  /** Made after these files (it is derived from them). */
  from?: string[];
  classify: ClassifyOutcome;
  /** Expected decodeCheck outcome (with the duration known) for files classify accepts (default ok). */
  decode?: 'ok' | 'malformed_media';
  /**
   * The platform outcome; null for a file not uploaded end to end (e.g. one a platform with larger
   * limits would accept but that would cost hours of encoding).
   */
  expect: PlatformExpect | null;
  note: string;
}

export interface CorpusFile extends CorpusCase {
  path: string;
}

const lavfi = (src: string) => ['-f', 'lavfi', '-i', src];
const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast'];
const tone = (d: number, extra = '') => lavfi(`sine=f=440:d=${d}:sample_rate=48000${extra}`);

/** Deterministic "random" bytes. */
export function pseudoRandom(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = Buffer.from(seed);
  for (let off = 0; off < n; off += 32) {
    block = createHash('sha256').update(block).digest();
    block.copy(out, off, 0, Math.min(32, n - off));
  }
  return out;
}

export async function gen(args: string[], out: string): Promise<void> {
  await runFfmpeg(['-v', 'error', '-y', ...args, out], { timeoutMs: 60_000 });
}

async function truncate(dir: string, src: string, dst: string, fraction: number): Promise<void> {
  const b = await readFile(join(dir, src));
  await writeFile(dst, b.subarray(0, Math.floor(b.length * fraction)));
}

/** Offset of the first top-level box named `name` in an MP4. */
export function boxOffset(b: Buffer, name: string): number {
  let off = 0;
  while (off + 8 <= b.length) {
    const size = b.readUInt32BE(off);
    if (b.toString('latin1', off + 4, off + 8) === name) return off;
    if (size < 8) return -1;
    off += size;
  }
  return -1;
}

/** Two 1 s MPEG-TS clips, the second one's timestamps `offsetSec` later. */
async function ptsJump(p: string, dir: string, offsetSec: number): Promise<void> {
  const a = join(dir, `jump_a_${offsetSec}.ts`);
  const b = join(dir, `jump_b_${offsetSec}.ts`);
  await gen([...lavfi('testsrc2=s=160x90:r=25:d=1'), ...x264, '-f', 'mpegts'], a);
  await gen(
    [...lavfi('testsrc2=s=160x90:r=25:d=1'), ...x264, '-output_ts_offset', String(offsetSec), '-f', 'mpegts'],
    b,
  );
  await writeFile(p, Buffer.concat([await readFile(a), await readFile(b)]));
}

const ready = (duration: number, width?: number, height?: number): PlatformExpect => ({
  outcome: 'ready',
  duration,
  width,
  height,
});
const errored = (code: PlatformErrorCode, message?: RegExp): PlatformExpect => ({
  outcome: 'errored',
  code,
  message,
});

export const CORPUS: CorpusCase[] = [
  {
    name: 'zero.mp4',
    make: (p) => writeFile(p, ''),
    classify: 'non_video',
    // The platform refuses Upload-Length: 0 at creation (400 validation_failed; issue 13).
    expect: { outcome: 'refused', status: 400 },
    note: 'empty file',
  },
  {
    name: 'random.mp4',
    make: (p) => writeFile(p, pseudoRandom(64 * 1024, 'vodcloud')),
    classify: 'non_video',
    expect: errored('non_video'),
    note: 'random bytes named .mp4 (ffprobe: moov atom not found; no ISO box at offset 4)',
  },
  {
    name: 'text.mp4',
    make: (p) => writeFile(p, 'This is a README, not a movie.\n'.repeat(40)),
    classify: 'non_video',
    expect: errored('non_video', /text/),
    note: 'a text file named .mp4',
  },
  {
    name: 'moov_end.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=3'), ...tone(3), ...x264, '-c:a', 'aac', '-shortest'],
    classify: 'video',
    expect: ready(3, 320, 180),
    note: 'moov after mdat (ffmpeg default)',
  },
  {
    name: 'faststart.mp4',
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
    classify: 'video',
    expect: ready(6, 320, 180),
    note: 'moov first',
  },
  {
    name: 'truncated_moov.mp4',
    make: (p, dir) => truncate(dir, 'moov_end.mp4', p, 0.6),
    from: ['moov_end.mp4'],
    classify: 'malformed_media',
    expect: errored('malformed_media', /moov/),
    note: 'moov at the end, upload cut before it',
  },
  {
    name: 'truncated_mdat.mp4',
    make: (p, dir) => truncate(dir, 'faststart.mp4', p, 0.5),
    from: ['faststart.mp4'],
    classify: 'video',
    decode: 'malformed_media',
    expect: errored('malformed_media'),
    note: 'moov first, cut in mdat: probe is happy (the index is whole), the tail decode finds no data',
  },
  {
    name: 'garbage_mdat.mp4',
    make: async (p, dir) => {
      const b = Buffer.from(await readFile(join(dir, 'faststart.mp4')));
      const mdat = boxOffset(b, 'mdat');
      pseudoRandom(b.length - mdat - 16, 'garbage').copy(b, mdat + 16);
      await writeFile(p, b);
    },
    from: ['faststart.mp4'],
    classify: 'video',
    decode: 'malformed_media',
    expect: errored('malformed_media'),
    note: 'valid index, random sample data: only decoding tells',
  },
  {
    name: 'audio_only.m4a',
    make: [...tone(2), '-c:a', 'aac'],
    classify: 'audio_only',
    expect: { outcome: 'ready', audioOnly: true, duration: 2 },
    note: 'AAC in MP4',
  },
  {
    name: 'audio_only.mp3',
    make: [...tone(2), '-c:a', 'libmp3lame'],
    classify: 'audio_only',
    expect: { outcome: 'ready', audioOnly: true, duration: 2 },
    note: 'MP3',
  },
  {
    name: 'video_only.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=2'), ...x264],
    classify: 'video',
    expect: ready(2, 320, 180),
    note: 'no audio: no audio plan',
  },
  {
    name: 'single_frame.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25'), '-frames:v', '1', ...x264],
    classify: 'video',
    expect: ready(0.04, 320, 180),
    note: 'one H.264 frame in MP4 is a (very short) video',
  },
  {
    name: 'short_0.2s.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=0.2'), ...x264],
    classify: 'video',
    expect: ready(0.2, 320, 180),
    note: '5 frames',
  },
  {
    name: 'odd_1919x1079.mp4',
    make: [...lavfi('testsrc2=s=1919x1079:r=25:d=0.4,format=yuv444p'), ...x264],
    classify: 'video',
    expect: ready(0.4, 1919, 1079),
    note: 'odd dimensions (4:4:4 so x264 accepts them): even output dims, 1080p rung dropped',
  },
  {
    name: 'portrait_rotated.mp4',
    make: async (p, dir) => {
      const tmp = join(dir, 'landscape_src.mp4');
      await gen([...lavfi('testsrc2=s=640x360:r=25:d=1'), ...x264], tmp);
      await gen(['-i', tmp, '-c', 'copy', '-metadata:s:v:0', 'rotate=90'], p);
    },
    classify: 'video',
    expect: ready(1, 360, 640),
    note: 'stored 640×360 with a 90° display matrix: displayed 360×640, portrait ladder',
  },
  {
    name: 'aspect_4x3.mp4',
    make: [...lavfi('testsrc2=s=640x480:r=25:d=1'), ...x264],
    classify: 'video',
    expect: ready(1, 640, 480),
    note: '4:3',
  },
  {
    name: 'aspect_21x9.mp4',
    make: [...lavfi('testsrc2=s=1120x480:r=25:d=1'), ...x264],
    classify: 'video',
    expect: ready(1, 1120, 480),
    note: '21:9 (2.33:1)',
  },
  {
    name: 'anamorphic_sar.mp4',
    make: [...lavfi('testsrc2=s=720x576:r=25:d=1'), '-vf', 'setsar=16/11', ...x264],
    classify: 'video',
    expect: ready(1, 720, 576),
    note: 'anamorphic 720×576 at SAR 16:11 (display 1047×576): square-pixel 872×480 and 654×360',
  },
  {
    name: 'vfr.mp4',
    make: [
      '-filter_complex',
      'testsrc2=s=320x180:r=15:d=1[a];testsrc2=s=320x180:r=30:d=1[b];[a][b]concat,settb=1/90000[v]',
      '-map',
      '[v]',
      '-fps_mode',
      'vfr',
      ...x264,
    ],
    classify: 'video',
    expect: ready(2, 320, 180),
    note: '1 s at 15 fps then 1 s at 30 fps: VFR (avg 22.9), planned as constant 23.976 fps (nearest standard)',
  },
  {
    name: 'interlaced.ts',
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
    classify: 'video',
    expect: ready(1, 720, 576),
    note: 'interlaced H.264 (tff) in MPEG-TS: deinterlace planned',
  },
  {
    name: 'h264_10bit.mp4',
    make: [...lavfi('testsrc2=s=320x180:r=25:d=1'), ...x264, '-pix_fmt', 'yuv420p10le'],
    classify: 'video',
    expect: ready(1, 320, 180),
    note: 'High 10 (output is 8-bit yuv420p)',
  },
  {
    name: 'hevc.mp4',
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
    classify: 'video',
    expect: ready(1, 320, 180),
    note: 'HEVC',
  },
  {
    name: 'vp9.webm',
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
    classify: 'video',
    expect: ready(1, 320, 180),
    note: 'VP9 + Opus in WebM',
  },
  {
    name: 'webm_named.mp4',
    make: async (p, dir) => {
      await writeFile(p, await readFile(join(dir, 'vp9.webm')));
    },
    from: ['vp9.webm'],
    classify: 'video',
    expect: ready(1, 320, 180),
    note: 'a WebM named .mp4 (lying extension): container detected by content',
  },
  {
    name: 'mpeg2.ts',
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
    classify: 'video',
    expect: ready(1, 720, 576),
    note: 'MPEG-2 video + MP2 in MPEG-TS',
  },
  {
    name: 'prores.mov',
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
    classify: 'video',
    expect: ready(1, 320, 180),
    note: 'ProRes 422 Proxy + PCM in MOV',
  },
  {
    name: 'multi_audio.mkv',
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
    classify: 'video',
    expect: ready(1, 320, 180),
    note: 'two audio tracks, the second flagged default: the plan takes it (44.1 kHz kept)',
  },
  {
    name: 'surround_5.1.mp4',
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
    classify: 'video',
    expect: ready(1, 320, 180),
    note: '5.1 AAC: downmixed to 2 channels',
  },
  {
    name: 'image.png',
    make: [...lavfi('testsrc2=s=320x180'), '-frames:v', '1'],
    classify: 'non_video',
    expect: errored('non_video', /still image/),
    note: 'PNG',
  },
  {
    name: 'image.jpg',
    make: [...lavfi('testsrc2=s=320x180'), '-frames:v', '1'],
    classify: 'non_video',
    expect: errored('non_video', /still image/),
    note: 'JPEG',
  },
  {
    name: 'animated.gif',
    make: [...lavfi('testsrc2=s=160x90:r=10'), '-frames:v', '20'],
    classify: 'video',
    expect: ready(2, 160, 90),
    note: 'an animated GIF (20 frames at 10 fps): a short video, transcoded like any other (issue 13)',
  },
  {
    name: 'still.gif',
    make: [...lavfi('testsrc2=s=160x90'), '-frames:v', '1'],
    classify: 'non_video',
    expect: errored('non_video', /still image/),
    note: 'a one-frame GIF: a still image',
  },
  {
    name: 'bomb_8192x8192.mp4',
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
    classify: 'too_large',
    expect: errored('too_large', /8192×8192/),
    note: 'a small file declaring 8192×8192 (67 Mpx) frames: refused from the header, never decoded',
  },
  {
    name: 'fps_240.mp4',
    make: [...lavfi('testsrc2=s=160x90:r=240:d=0.5'), ...x264],
    classify: 'too_large',
    // The platform's limit is 240 fps: accepted there.
    expect: ready(0.5, 160, 90),
    note: '240 fps above maxFps 120 (the platform allows 240)',
  },
  {
    name: 'fps_100.mp4',
    make: [...lavfi('testsrc2=s=160x90:r=100:d=0.5'), ...x264],
    classify: 'video',
    expect: ready(0.5, 160, 90),
    note: '100 fps accepted, planned at 50 fps (source ÷ 2 under the 60 cap)',
  },
  {
    name: 'pts_jump_hours.ts',
    make: (p, dir) => ptsJump(p, dir, 18000),
    classify: 'too_long',
    // Under the platform's 6 h limit: it would be planned as 5 h of output. Not uploaded.
    expect: null,
    note: 'MPEG-TS whose PTS jump 5 h: the container declares ~5 h (a CFR encode would fill it)',
  },
  {
    name: 'pts_jump_7h.ts',
    make: (p, dir) => ptsJump(p, dir, 25_000),
    classify: 'too_long',
    expect: errored('too_long', /lasts 6h5\dm\d\ds, above the limit of 6h00m00s/),
    note: 'MPEG-TS whose PTS jump ~7 h: declares a duration above the platform limit (6 h)',
  },
];

/**
 * Writes the corpus (or the named subset, plus what they derive from) into `dir`, `concurrency` ffmpeg
 * processes at a time; files derived from others are made after their sources.
 */
export async function makeCorpus(
  dir: string,
  opts: { only?: (c: CorpusCase) => boolean; concurrency?: number } = {},
): Promise<CorpusFile[]> {
  const wanted = CORPUS.filter(opts.only ?? (() => true));
  const names = new Set(wanted.map((c) => c.name));
  for (const c of wanted) for (const f of c.from ?? []) names.add(f);
  const selected = CORPUS.filter((c) => names.has(c.name));
  const make = async (c: CorpusCase) => {
    const path = join(dir, c.name);
    if (Array.isArray(c.make)) await gen(c.make, path);
    else await c.make(path, dir);
  };
  for (const group of [selected.filter((c) => !c.from), selected.filter((c) => c.from)]) {
    const queue = [...group];
    await Promise.all(
      Array.from({ length: opts.concurrency ?? 2 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) await make(c);
      }),
    );
  }
  return wanted.map((c) => ({ ...c, path: join(dir, c.name) }));
}
