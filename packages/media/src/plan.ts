import type { TemplateSpec } from '@vodcloud/contracts';
import type { MediaInfo } from './probe';

/**
 * Ladder and segment planning. Pure functions: same template and probe data → same plan, on any worker.
 *
 * Conventions:
 * - A template rung's `height` is the SHORT side of the output. A landscape 1920×1080 source gets 1920×1080
 *   for "1080p"; a portrait 1080×1920 source gets 1080×1920 for "1080p" and 720×1280 for "720p".
 * - The aspect ratio kept is the display aspect: rotation applied (width/height swapped for 90°/270°) and the
 *   sample aspect ratio applied (anamorphic 720×576 at 16:15 SAR → 768×576 at "576p"). Output pixels are square.
 * - Both output dimensions are even (yuv420p needs it); the long side is rounded to the nearest even number.
 * - Never upscale: rungs whose short side exceeds the source's are dropped; when all are, the lowest rung is
 *   kept at the source's short side (rounded down to even).
 */

export interface Fps {
  num: number;
  den: number;
}

export interface PlannedRendition {
  name: string;
  width: number;
  height: number;
  /** Target average bitrate (bits/s) after caps. */
  videoBitrate: number;
  maxrate: number;
  bufsize: number;
  /** Constant output frame rate. */
  fps: Fps;
  /** Keyframe interval in frames (= frames per segment at this fps). */
  gop: number;
  profile: 'high' | 'main' | 'baseline';
  /** H.264 level as ffmpeg wants it, e.g. '4.0'. */
  level: string;
  /** The template's nominal short side (what the rung was asked for). */
  nominalHeight: number;
}

export interface AudioPlan {
  bitrate: number;
  channels: 1 | 2;
  sampleRate: 48000 | 44100;
  /** Stream index in the source (ffmpeg map `0:<index>`). */
  sourceIndex: number;
}

export interface LadderPlan {
  renditions: PlannedRendition[];
  /** null for a silent video (no audio stream). */
  audio: AudioPlan | null;
  /** The frame rate segments are cut on (the highest rendition fps). */
  fps: Fps;
  segmentDuration: number;
  /** Frames per segment at `fps`. */
  segmentFrames: number;
  deinterlace: boolean;
  /** Source display dimensions (after rotation and SAR). */
  sourceDisplay: { width: number; height: number };
}

export const DEFAULT_MAX_FPS = 60;
const MIN_BITRATE = 100_000;
/** Standard rates a VFR source is snapped to (the nearest one to its average rate). */
const STANDARD_RATES: Fps[] = [
  { num: 24000, den: 1001 },
  { num: 24, den: 1 },
  { num: 25, den: 1 },
  { num: 30000, den: 1001 },
  { num: 30, den: 1 },
  { num: 50, den: 1 },
  { num: 60000, den: 1001 },
  { num: 60, den: 1 },
];
/**
 * How many bits of H.264 one bit of the source codec is worth, for the bitrate cap. Intra/mezzanine codecs
 * (ProRes, DNxHD, raw) have bitrates far above anything we would pick, so their cap never binds.
 */
const CODEC_EFFICIENCY: Record<string, number> = {
  h264: 1,
  hevc: 1.4,
  vp9: 1.4,
  av1: 1.6,
  vp8: 0.9,
  mpeg2video: 0.6,
  mpeg4: 0.7,
  mjpeg: 0.3,
};

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y) [x, y] = [y, x % y];
  return x || 1;
}

export function fpsValue(f: Fps): number {
  return f.num / f.den;
}

export function fpsString(f: Fps): string {
  return f.den === 1 ? String(f.num) : `${f.num}/${f.den}`;
}

/** Turns a measured rate into an exact rational: NTSC rates become n×1000/1001, others n/1, n/2 or n/1000. */
export function toFps(v: number): Fps {
  const ntsc = (v * 1001) / 1000;
  if (Math.abs(ntsc - Math.round(ntsc)) < 0.002 && Math.abs(v - Math.round(v)) > 0.002) {
    return { num: Math.round(ntsc) * 1000, den: 1001 };
  }
  for (const den of [1, 2, 3, 4, 5, 8, 10]) {
    const n = v * den;
    if (Math.abs(n - Math.round(n)) < 0.001 * den) {
      const g = gcd(Math.round(n), den);
      return { num: Math.round(n) / g, den: den / g };
    }
  }
  const num = Math.round(v * 1000);
  const g = gcd(num, 1000);
  return { num: num / g, den: 1000 / g };
}

/**
 * Output rate for a source rate under a cap: the source rate when it fits, else the source divided by the
 * smallest integer that fits (59.94 → 29.97 under 30; 120 → 60; 50 → 25 under 30), so every output frame
 * is a source frame.
 */
export function capFps(source: Fps, cap: number): Fps {
  const v = fpsValue(source);
  if (v <= cap + 1e-6) return source;
  const n = Math.ceil(v / cap - 1e-9);
  const g = gcd(source.num, source.den * n);
  return { num: source.num / g, den: (source.den * n) / g };
}

/** The constant rate to encode a source at, before caps. VFR sources snap to the nearest standard rate. */
export function sourceFps(info: MediaInfo): Fps {
  const v = info.video;
  if (!v) return { num: 25, den: 1 };
  const avg = v.avgFps;
  const r = v.rFps;
  if (v.vfr || avg === null) {
    const target = avg ?? r ?? 25;
    let best = STANDARD_RATES[0]!;
    for (const s of STANDARD_RATES) {
      if (Math.abs(fpsValue(s) - target) < Math.abs(fpsValue(best) - target)) best = s;
    }
    // A slideshow-like VFR source (avg 5 fps) keeps its low rate instead of being padded to 24.
    return target < 20 ? toFps(Math.max(1, Math.round(target))) : best;
  }
  return toFps(avg);
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
const evenDown = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** H.264 levels: [name, max macroblocks/s, max frame size in macroblocks, max bitrate in kbit/s (High)]. */
const LEVELS: [string, number, number, number][] = [
  ['3.0', 40_500, 1_620, 12_500],
  ['3.1', 108_000, 3_600, 17_500],
  ['3.2', 216_000, 5_120, 25_000],
  ['4.0', 245_760, 8_192, 25_000],
  ['4.1', 245_760, 8_192, 62_500],
  ['4.2', 522_240, 8_704, 62_500],
  ['5.0', 589_824, 22_080, 168_750],
  ['5.1', 983_040, 36_864, 300_000],
  ['5.2', 2_073_600, 36_864, 300_000],
  ['6.0', 4_177_920, 139_264, 300_000],
  ['6.1', 8_355_840, 139_264, 480_000],
  ['6.2', 16_711_680, 139_264, 800_000],
];

export function h264Level(width: number, height: number, fps: number, maxrate: number): string {
  const mbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  for (const [name, mbps, fs, kbps] of LEVELS) {
    if (mbs <= fs && mbs * fps <= mbps && maxrate / 1000 <= kbps) return name;
  }
  return '6.2';
}

/** Video bitrate of the source, when known: the stream's, else the container's minus audio. */
function sourceVideoBitrate(info: MediaInfo): number | null {
  const v = info.video;
  if (!v) return null;
  if (v.bitrate && v.bitrate > 0) return v.bitrate;
  if (info.bitrate && info.bitrate > 0) {
    const audio = info.audio.reduce((s, a) => s + (a.bitrate ?? 128_000), 0);
    const rest = info.bitrate - audio;
    return rest > 0 ? rest : null;
  }
  return null;
}

export interface PlanOptions {
  /** Fps cap when a rung has no maxFps (default 60). */
  defaultMaxFps?: number;
}

/** Plans the ladder for a probed source. Throws when the source has no video stream. */
export function planLadder(template: TemplateSpec, info: MediaInfo, opts: PlanOptions = {}): LadderPlan {
  const v = info.video;
  if (!v) throw new Error('planLadder: the source has no video stream');
  const seg = template.hls.segmentDuration;

  // Display size: rotation is already in width/height; SAR stretches the stored width, which after a quarter
  // turn is the display height.
  const swap = v.rotation === 90 || v.rotation === 270;
  const sar = v.sar.num / v.sar.den;
  const dispW = swap ? v.width : v.width * sar;
  const dispH = swap ? v.height * sar : v.height;
  const aspect = dispW / dispH;
  const portrait = aspect < 1;
  const srcShort = Math.floor(Math.min(dispW, dispH));

  const base = sourceFps(info);
  const srcBitrate = sourceVideoBitrate(info);
  const efficiency = CODEC_EFFICIENCY[v.codec];
  const srcPixels = v.width * v.height;

  const rungs = [...template.renditions].sort((a, b) => b.height - a.height);
  let chosen = rungs.filter((r) => r.height <= srcShort);
  let downsized = false;
  if (chosen.length === 0) {
    chosen = [rungs.at(-1)!];
    downsized = true;
  }

  const renditions: PlannedRendition[] = chosen.map((r) => {
    const short = downsized ? evenDown(srcShort) : even(r.height);
    const long = even(short * (portrait ? 1 / aspect : aspect));
    const width = portrait ? short : long;
    const height = portrait ? long : short;
    let bitrate = r.videoBitrate;
    if (downsized) bitrate = Math.round(bitrate * Math.min(1, (short / r.height) ** 2));
    if (srcBitrate && efficiency) {
      const scale = Math.min(1, (width * height) / srcPixels);
      bitrate = Math.min(bitrate, Math.round(srcBitrate * efficiency * scale));
    }
    bitrate = Math.max(MIN_BITRATE, bitrate);
    const fps = capFps(base, r.maxFps ?? opts.defaultMaxFps ?? DEFAULT_MAX_FPS);
    const maxrate = Math.round(bitrate * 1.2);
    const bufsize = bitrate * 2;
    return {
      name: r.name,
      width,
      height,
      videoBitrate: bitrate,
      maxrate,
      bufsize,
      fps,
      gop: Math.max(1, Math.round(seg * fpsValue(fps))),
      profile: 'high',
      level: h264Level(width, height, fpsValue(fps), maxrate),
      nominalHeight: r.height,
    };
  });

  // Segments are cut on the fastest rendition's frame grid; slower ones divide it (see capFps).
  const ladderFps = renditions.reduce(
    (a, r) => (fpsValue(r.fps) > fpsValue(a) ? r.fps : a),
    renditions[0]!.fps,
  );
  const segmentFrames = Math.max(1, Math.round(seg * fpsValue(ladderFps)));
  for (const r of renditions) {
    r.gop = Math.max(1, Math.round((segmentFrames * fpsValue(r.fps)) / fpsValue(ladderFps)));
  }

  return {
    renditions,
    audio: planAudio(template, info),
    fps: ladderFps,
    segmentDuration: seg,
    segmentFrames,
    deinterlace: v.interlaced,
    sourceDisplay: { width: Math.round(dispW), height: Math.round(dispH) },
  };
}

/** The audio track to encode: first default audio stream (else the first), stereo at most, 48 or 44.1 kHz. */
export function planAudio(template: TemplateSpec, info: MediaInfo): AudioPlan | null {
  const usable = info.audio.filter((a) => a.channels > 0);
  const a = usable.find((x) => x.isDefault) ?? usable[0];
  if (!a) return null;
  return {
    bitrate: a.channels === 1 ? Math.min(template.audio.bitrate, 96_000) : template.audio.bitrate,
    channels: a.channels >= 2 ? 2 : 1,
    sampleRate: a.sampleRate === 44100 || a.sampleRate === 22050 || a.sampleRate === 11025 ? 44100 : 48000,
    sourceIndex: a.index,
  };
}

export interface Segment {
  index: number;
  /** Exact start and end times in seconds (frame boundaries of the ladder fps). */
  start: number;
  end: number;
  startFrame: number;
  endFrame: number;
}

/**
 * Segment boundaries on the frame grid: segment k starts at frame k × round(seg × fps), i.e. at
 * k × round(seg × fps) / fps seconds; the last one ends at the last frame (round(duration × fps) frames
 * in total) and may be shorter.
 */
export function planSegments(durationSec: number, segmentDurationSec: number, fps: Fps | number): Segment[] {
  const f = typeof fps === 'number' ? toFps(fps) : fps;
  const rate = fpsValue(f);
  const total = Math.max(1, Math.round(durationSec * rate));
  const per = Math.max(1, Math.round(segmentDurationSec * rate));
  const out: Segment[] = [];
  for (let k = 0, s = 0; s < total; k++, s += per) {
    const e = Math.min(total, s + per);
    out.push({ index: k, startFrame: s, endFrame: e, start: (s * f.den) / f.num, end: (e * f.den) / f.num });
  }
  return out;
}

/** Total frames a plan produces at `fps` (= the last segment's endFrame). */
export function totalFrames(segments: Segment[]): number {
  return segments.at(-1)?.endFrame ?? 0;
}

/**
 * How many consecutive segments one chunk should hold so that a chunk is worth a process start (at least
 * `minChunkSec`, default 20 s) while the work spreads over `workers` (default 1: one chunk per ~minChunkSec).
 */
export function segmentsPerChunk(
  segmentCount: number,
  segmentDurationSec: number,
  opts: { workers?: number; minChunkSec?: number; maxChunks?: number } = {},
): number {
  const minSegs = Math.max(1, Math.ceil((opts.minChunkSec ?? 20) / segmentDurationSec));
  const workers = Math.max(1, opts.workers ?? 1);
  const spread = Math.ceil(segmentCount / Math.max(workers, Math.ceil(segmentCount / minSegs)));
  let per = Math.max(minSegs, spread);
  if (opts.maxChunks) per = Math.max(per, Math.ceil(segmentCount / opts.maxChunks));
  return Math.min(Math.max(1, per), Math.max(1, segmentCount));
}

/** Groups segments into chunks of `perChunk` consecutive segments. */
export function chunkSegments(segments: Segment[], perChunk: number): Segment[][] {
  const out: Segment[][] = [];
  for (let i = 0; i < segments.length; i += perChunk) out.push(segments.slice(i, i + perChunk));
  return out;
}

export type WebReadyVerdict =
  | { ok: true; codec: { profile: string; level: string } }
  | { ok: false; reason: string };

/**
 * Whether the source's video can stand in for the ladder's top rendition by stream copy (no re-encode):
 * H.264 8-bit 4:2:0 progressive, Baseline/Main/High up to level 5.1, no rotation or non-square pixels (TS
 * carries neither), the top rendition's exact size, a frame rate within its cap (constant), and a bitrate
 * no higher than 1.5× the rendition's peak rate.
 */
export function webReadyVideo(info: MediaInfo, top: PlannedRendition): WebReadyVerdict {
  const v = info.video;
  if (!v) return { ok: false, reason: 'no video' };
  if (v.codec !== 'h264') return { ok: false, reason: `codec ${v.codec}` };
  const profile = (v.profile ?? '').toLowerCase();
  const p =
    profile === 'high'
      ? 'high'
      : profile === 'main'
        ? 'main'
        : profile.includes('baseline')
          ? 'baseline'
          : null;
  if (!p) return { ok: false, reason: `profile ${v.profile}` };
  if (v.bitDepth !== null && v.bitDepth !== 8) return { ok: false, reason: `${v.bitDepth}-bit` };
  if (v.pixFmt && v.pixFmt !== 'yuv420p' && v.pixFmt !== 'yuvj420p') return { ok: false, reason: v.pixFmt };
  if (v.interlaced) return { ok: false, reason: 'interlaced' };
  if (v.rotation !== 0) return { ok: false, reason: 'rotated' };
  if (v.sar.num !== v.sar.den) return { ok: false, reason: 'non-square pixels' };
  if (v.vfr) return { ok: false, reason: 'variable frame rate' };
  if (v.width !== top.width || v.height !== top.height)
    return {
      ok: false,
      reason: `size ${v.width}x${v.height} is not the top rendition's ${top.width}x${top.height}`,
    };
  if (v.fps === null || Math.abs(v.fps - fpsValue(top.fps)) > 0.01)
    return { ok: false, reason: 'frame rate capped' };
  const level = v.level ?? 0;
  if (level <= 0 || level > 51) return { ok: false, reason: `level ${v.level}` };
  const bitrate = v.bitrate ?? info.bitrate;
  if (bitrate === null || bitrate > top.maxrate * 1.5) return { ok: false, reason: `bitrate ${bitrate}` };
  return { ok: true, codec: { profile: p, level: (level / 10).toFixed(1) } };
}

/** Whether the planned audio can be a stream copy of the source's: AAC-LC, mono/stereo, 44.1/48 kHz, ≤ 2× the planned bitrate (256 kb/s for the default 128). */
export function copyableAudio(info: MediaInfo, plan: AudioPlan): boolean {
  const a = info.audio.find((x) => x.index === plan.sourceIndex);
  if (!a || a.codec !== 'aac') return false;
  if (a.profile && a.profile !== 'LC') return false;
  if (a.channels !== plan.channels) return false;
  if (a.sampleRate !== plan.sampleRate) return false;
  return a.bitrate === null || a.bitrate <= plan.bitrate * 2;
}
