/**
 * Image functions on local files: a snapshot at any time and size, a representative poster frame, and a
 * storyboard (sprite sheets + WebVTT with `#xywh=`). ffmpeg seeks and decodes; sharp resizes, scores
 * and encodes. No database, no HTTP; temp files only for the poster candidates (removed afterwards).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sharp } from 'sharp';

type SharpFn = typeof import('sharp');
let sharpLoaded: Promise<SharpFn> | undefined;
/** sharp (and libvips with it) is loaded on first use: a node that never makes an image never maps it. */
export function loadSharp(): Promise<SharpFn> {
  sharpLoaded ??= import('sharp').then((m) => m.default);
  return sharpLoaded;
}

import { MediaError } from './errors';
import { type MediaInfo, probe } from './probe';
import { runFfmpeg } from './runner';
import type { SlotPriority } from './slots';

export type ImageFormat = 'jpeg' | 'webp' | 'png';
export type ImageFit = 'contain' | 'cover' | 'fill';

interface CommonImageOptions {
  /** Hard limit for each ffmpeg/ffprobe process started by the call. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Run ffmpeg under `nice -n` (0..19). */
  nice?: number;
  /** See RunOptions.priority (default background). */
  priority?: SlotPriority;
  /** Called with each ffmpeg's pid once spawned (see RunOptions.onSpawn; e.g. to make it yield). */
  onSpawn?: (pid: number) => void;
}

export interface ExtractFrameOptions extends CommonImageOptions {
  /** Wanted time in seconds; clamped into [0, duration). The frame shown at that time is returned. */
  timeSec: number;
  /** Output box. Only one of them: the other follows the display aspect ratio. Neither: display size. */
  width?: number;
  height?: number;
  /** How the frame goes into a width × height box (default `contain`, letterboxed in black). */
  fit?: ImageFit;
  format: ImageFormat;
  /** 1..100 for jpeg/webp (default 82); ignored for png. */
  quality?: number;
  /** A probe of this input done earlier (skips the ffprobe run). */
  info?: MediaInfo;
}

export interface ImageResult {
  data: Buffer;
  format: ImageFormat;
  width: number;
  height: number;
  /** The time actually used (after clamping), in seconds. */
  timeSec: number;
}

export interface PosterOptions extends CommonImageOptions {
  durationSec: number;
  /** Number of candidate frames, 5..8 (default 6). */
  candidates?: number;
  /** Longest side of the poster in pixels, never enlarged (default 1280). */
  maxSize?: number;
  /** JPEG quality (default 82). */
  quality?: number;
}

export interface FrameScore {
  /** Mean luma 0..255 (Rec. 601 weights on the RGB channel means). */
  meanLuma: number;
  /** Mean of the RGB channel standard deviations. */
  stdev: number;
  /** sharp's histogram entropy (0..8 bits). */
  entropy: number;
  /** Higher is better; negative when the frame is too dark, too bright or flat. */
  score: number;
}

export interface PosterCandidate extends FrameScore {
  timeSec: number;
}

export interface PosterResult {
  timeSec: number;
  jpeg: Buffer;
  width: number;
  height: number;
  /** Score of the chosen frame. */
  score: FrameScore;
  /** Every candidate that produced a frame, in time order. */
  candidates: PosterCandidate[];
}

export interface StoryboardOptions extends CommonImageOptions {
  durationSec: number;
  /** Seconds between tiles (default max(1, duration / 150), so at most ~150 tiles). */
  intervalSec?: number;
  /** Default 160. The tile height follows the display aspect ratio (rounded to even). */
  tileWidth?: number;
  /** Default 10. */
  columns?: number;
  /** Default 10. */
  rowsPerSheet?: number;
  format: 'jpeg' | 'webp';
  /** 1..100 (default 70). */
  quality?: number;
  /** URL of sheet `i` as the player will fetch it (relative or absolute). */
  spriteUrl: (sheetIndex: number) => string;
  /** Upper bound on tiles; the interval is widened to respect it (default 1000). */
  maxTiles?: number;
  /**
   * Decode keyframes only (`-skip_frame nokey`): ~10× faster on long videos, but each tile shows the last
   * keyframe at or before its time (up to one GOP early; useless for sources with very sparse keyframes).
   * Default false: every frame is decoded and tiles are exact.
   */
  keyframesOnly?: boolean;
  /** A probe of this input done earlier (skips the ffprobe run). */
  info?: MediaInfo;
}

export interface StoryboardResult {
  sheets: Buffer[];
  vtt: string;
  tileWidth: number;
  tileHeight: number;
  /** Tiles (= VTT cues). */
  count: number;
  intervalSec: number;
  columns: number;
  rowsPerSheet: number;
}

/** Below this mean luma a frame counts as black (≈ 11 %). */
export const POSTER_MIN_LUMA = 28;
/** Above this mean luma a frame counts as washed out / white flash. */
export const POSTER_MAX_LUMA = 235;
/** Below this channel stdev a frame counts as flat (a fade, a title card background). */
export const POSTER_MIN_STDEV = 12;

const SAR_FIX = "scale=w='max(1,round(iw*sar))':h=ih,setsar=1";

function clampInt(v: number | undefined, lo: number, hi: number, dflt: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(hi, Math.max(lo, Math.round(v)));
}

function positive(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
    throw new RangeError(`${name} must be a positive number (got ${v})`);
  }
}

function noFrame(what: string, stderr: string): MediaError {
  return new MediaError('ffmpeg_failed', `ffmpeg produced no frame for ${what}`, {
    tool: 'ffmpeg',
    exitCode: 0,
    stderrTail: stderr.slice(-4096),
  });
}

/** Seconds as ffmpeg wants them on the command line (µs precision, no exponent). */
function sec(t: number): string {
  return Math.max(0, t).toFixed(6);
}

async function encode(
  img: Sharp,
  format: ImageFormat,
  quality: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  const out =
    format === 'jpeg'
      ? img.jpeg({ quality, chromaSubsampling: '4:2:0' })
      : format === 'webp'
        ? img.webp({ quality, effort: 3 })
        : img.png({ compressionLevel: 6 });
  const { data, info } = await out.toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * One frame as an image. The time is clamped into [0, duration) and the frame *shown* at that time is
 * returned (the one at or just before it): ffmpeg's accurate input seek yields the first frame at or after
 * the seek point, so we seek to `t − 1 frame + ε`. Rotation is applied (ffmpeg autorotates), non-square
 * pixels are made square, and the aspect ratio is kept unless `fit: 'fill'`.
 */
export async function extractFrame(input: string, opts: ExtractFrameOptions): Promise<ImageResult> {
  positive('width', opts.width);
  positive('height', opts.height);
  const info = opts.info ?? (await probe(input, { timeoutMs: opts.timeoutMs, signal: opts.signal }));
  const fps = info.video?.fps && info.video.fps > 0 && info.video.fps < 1000 ? info.video.fps : null;
  const frameDur = fps ? 1 / fps : 0;
  const duration = info.video?.duration ?? info.duration;
  let t = Number.isFinite(opts.timeSec) ? Math.max(0, opts.timeSec) : 0;
  if (duration > 0) t = Math.min(t, Math.max(0, duration - Math.max(frameDur, 0.001)));
  const quality = clampInt(opts.quality, 1, 100, 82);

  // Pre-shrink in ffmpeg (cheap, keeps the pipe small for 4K sources) to no less than twice the target,
  // then let sharp do the final, better-quality resize and the fit.
  const filters = [SAR_FIX];
  if (opts.width || opts.height) {
    const w2 = opts.width ? 2 * Math.ceil(opts.width) : 0;
    const h2 = opts.height ? 2 * Math.ceil(opts.height) : 0;
    const f = `min(1,max(${w2}/iw,${h2}/ih))`;
    filters.push(`scale=w='max(1,round(iw*${f}))':h='max(1,round(ih*${f}))':flags=area`);
  }

  const attempt = async (seekTo: number) => {
    const args = ['-loglevel', 'error', '-threads', '2', '-ss', sec(seekTo), '-i', input];
    args.push('-map', '0:V:0', '-an', '-sn', '-dn', '-frames:v', '1', '-vf', filters.join(','));
    args.push('-f', 'image2pipe', '-c:v', 'png', '-compression_level', '1', 'pipe:1');
    const res = await runFfmpeg(args, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      nice: opts.nice,
      priority: opts.priority,
      onSpawn: opts.onSpawn,
      captureStdout: true,
      maxStdoutBytes: 256 * 1024 * 1024,
    });
    return res;
  };

  const eps = frameDur > 0 ? Math.min(0.001, frameDur / 4) : 0;
  let res = await attempt(t > 0 ? Math.max(0, t - frameDur + eps) : 0);
  // Declared durations can overshoot the last video frame (audio longer, edit lists): step back.
  for (const back of [1, 3]) {
    if (res.stdout?.length || t === 0) break;
    t = Math.max(0, t - back);
    res = await attempt(Math.max(0, t - frameDur + eps));
  }
  if (!res.stdout?.length) throw noFrame(`${input} at ${t}s`, res.stderr);

  let img = (await loadSharp())(res.stdout);
  if (opts.width || opts.height) {
    img = img.resize({
      width: opts.width ? Math.round(opts.width) : undefined,
      height: opts.height ? Math.round(opts.height) : undefined,
      fit: opts.fit ?? 'contain',
      background: { r: 0, g: 0, b: 0, alpha: 1 },
    });
  }
  const out = await encode(img, opts.format, quality);
  return { ...out, format: opts.format, timeSec: t };
}

/**
 * Scores a frame for use as a poster: bright enough, not washed out, not flat. Pure given the pixels.
 * The score is the entropy (0..8) plus up to 4 for contrast; black / white / flat frames get large
 * penalties that still order them (a brighter black frame beats a darker one), so there is always a
 * "least bad" choice.
 */
export async function scoreFrame(image: Buffer): Promise<FrameScore> {
  // An encoded image, not a sharp pipeline: stats() reads the input and ignores pending operations.
  const st = await (await loadSharp())(image).stats();
  const [r, g, b] = st.channels;
  const rm = r?.mean ?? 0;
  const gm = g?.mean ?? rm;
  const bm = b?.mean ?? rm;
  const meanLuma = 0.299 * rm + 0.587 * gm + 0.114 * bm;
  const chans = st.channels.slice(0, 3);
  const stdev = chans.reduce((s, c) => s + c.stdev, 0) / Math.max(1, chans.length);
  const entropy = st.entropy;
  let score = entropy + Math.min(stdev, 80) / 20;
  if (meanLuma < POSTER_MIN_LUMA) score -= 100 + (POSTER_MIN_LUMA - meanLuma);
  else if (meanLuma > POSTER_MAX_LUMA) score -= 100 + (meanLuma - POSTER_MAX_LUMA);
  if (stdev < POSTER_MIN_STDEV) score -= 20 + (POSTER_MIN_STDEV - stdev);
  return { meanLuma, stdev, entropy, score };
}

/** Candidate times for the poster: evenly spread over [5 %, 95 %] of the duration (centres of n slots). */
export function posterCandidateTimes(durationSec: number, n: number): number[] {
  const lo = 0.05 * durationSec;
  const span = 0.9 * durationSec;
  return Array.from({ length: n }, (_, i) => Math.round((lo + (span * (i + 0.5)) / n) * 1000) / 1000);
}

/**
 * Picks a representative poster frame. ONE ffmpeg process: each candidate is a separate input with a
 * fast `-ss` seek before `-i` (so a two-hour film costs N keyframe seeks plus at most a GOP of decoding
 * each, not a full decode as the `select` filter would), mapped to its own one-frame PNG output in a temp
 * dir. sharp scores each candidate (`stats()`: luma, stdev, entropy) and encodes the winner to JPEG.
 */
export async function choosePoster(input: string, opts: PosterOptions): Promise<PosterResult> {
  if (!(Number.isFinite(opts.durationSec) && opts.durationSec > 0)) {
    throw new RangeError(`durationSec must be positive (got ${opts.durationSec})`);
  }
  const n = clampInt(opts.candidates, 5, 8, 6);
  const maxSize = clampInt(opts.maxSize, 16, 8192, 1280);
  const quality = clampInt(opts.quality, 1, 100, 82);
  const times = posterCandidateTimes(opts.durationSec, n);
  const cap = `min(1,${maxSize}/max(iw,ih))`;
  const vf = `${SAR_FIX},scale=w='max(1,round(iw*${cap}))':h='max(1,round(ih*${cap}))':flags=area`;

  const dir = await mkdtemp(join(tmpdir(), 'vod-poster-'));
  try {
    const args = ['-loglevel', 'error'];
    for (const t of times) args.push('-threads', '2', '-ss', sec(t), '-i', input);
    times.forEach((_, i) => {
      args.push('-map', `${i}:V:0`, '-an', '-sn', '-dn', '-frames:v', '1', '-vf', vf);
      args.push('-c:v', 'png', '-compression_level', '1', '-y', join(dir, `c${i}.png`));
    });
    await runFfmpeg(args, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      nice: opts.nice,
      priority: opts.priority,
      onSpawn: opts.onSpawn,
    });

    const found: { png: Buffer; cand: PosterCandidate }[] = [];
    for (const [i, t] of times.entries()) {
      const png = await readFile(join(dir, `c${i}.png`)).catch(() => null);
      if (!png?.length) continue; // seek past the last frame (short or truncated files)
      found.push({ png, cand: { timeSec: t, ...(await scoreFrame(png)) } });
    }
    if (!found.length) {
      // Very short clip whose candidates all fell after the last frame: take the first frame.
      const first = await extractFrame(input, {
        timeSec: 0,
        format: 'png',
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
        nice: opts.nice,
        priority: opts.priority,
        onSpawn: opts.onSpawn,
      });
      found.push({ png: first.data, cand: { timeSec: 0, ...(await scoreFrame(first.data)) } });
    }
    let best = found[0]!;
    for (const f of found) if (f.cand.score > best.cand.score) best = f;
    const out = await encode((await loadSharp())(best.png), 'jpeg', quality);
    const { timeSec, ...score } = best.cand;
    return {
      timeSec,
      jpeg: out.data,
      width: out.width,
      height: out.height,
      score,
      candidates: found.map((f) => f.cand),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `HH:MM:SS.mmm` from integer milliseconds. */
export function vttTime(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const r = ms % 1000;
  const p = (v: number, w = 2) => String(v).padStart(w, '0');
  return `${p(h)}:${p(m)}:${p(s)}.${p(r, 3)}`;
}

/** Tile interval in integer ms: the requested one (or max(1 s, duration/150)), widened to fit maxTiles. */
export function storyboardIntervalMs(durationMs: number, intervalSec?: number, maxTiles = 1000): number {
  let ms =
    intervalSec !== undefined ? Math.round(intervalSec * 1000) : Math.max(1000, Math.ceil(durationMs / 150));
  ms = Math.max(1, ms);
  if (Math.ceil(durationMs / ms) > maxTiles) ms = Math.ceil(durationMs / maxTiles);
  return ms;
}

/**
 * Storyboard: ONE ffmpeg decode pass (`fps=1000/intervalMs,scale=tile`) writing raw RGB tiles to a pipe,
 * assembled into sheets of `columns × rowsPerSheet` in memory and encoded by sharp. Tile `k` shows the
 * frame at `k × interval`; the WebVTT has one cue per tile, contiguous from 00:00:00.000 to the duration.
 * The last sheet is only as tall as its rows (and as wide as its tiles when it has a single row).
 */
export async function makeStoryboard(input: string, opts: StoryboardOptions): Promise<StoryboardResult> {
  if (!(Number.isFinite(opts.durationSec) && opts.durationSec > 0)) {
    throw new RangeError(`durationSec must be positive (got ${opts.durationSec})`);
  }
  positive('intervalSec', opts.intervalSec);
  const tileWidth = clampInt(opts.tileWidth, 16, 1920, 160);
  const columns = clampInt(opts.columns, 1, 100, 10);
  const rowsPerSheet = clampInt(opts.rowsPerSheet, 1, 100, 10);
  const quality = clampInt(opts.quality, 1, 100, 70);
  // WebP's hard limit is 16383 px per side (the height is checked once the tile height is known).
  if (opts.format === 'webp' && columns * tileWidth > 16383) {
    throw new RangeError('sheet wider than WebP allows (16383 px)');
  }

  const info = opts.info ?? (await probe(input, { timeoutMs: opts.timeoutMs, signal: opts.signal }));
  const v = info.video;
  const aspect = v && v.displayAspect > 0 ? v.displayAspect : v && v.height > 0 ? v.width / v.height : 16 / 9;
  const tileHeight = Math.max(2, Math.round(tileWidth / aspect / 2) * 2);
  if (opts.format === 'webp' && rowsPerSheet * tileHeight > 16383) {
    throw new RangeError('sheet taller than WebP allows (16383 px)');
  }

  const durationMs = Math.max(1, Math.round(opts.durationSec * 1000));
  const intervalMs = storyboardIntervalMs(
    durationMs,
    opts.intervalSec,
    clampInt(opts.maxTiles, 1, 100_000, 1000),
  );
  const count = Math.max(1, Math.ceil(durationMs / intervalMs));
  const tileBytes = tileWidth * tileHeight * 3;

  const args = ['-loglevel', 'error'];
  if (opts.keyframesOnly) args.push('-skip_frame', 'nokey');
  args.push('-i', input, '-map', '0:V:0', '-an', '-sn', '-dn');
  args.push(
    '-vf',
    `fps=fps=1000/${intervalMs}:start_time=0:eof_action=pass,scale=${tileWidth}:${tileHeight}:flags=area,setsar=1,format=rgb24`,
  );
  args.push('-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  const res = await runFfmpeg(args, {
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    nice: opts.nice,
    priority: opts.priority,
    onSpawn: opts.onSpawn,
    captureStdout: true,
    maxStdoutBytes: (count + 8) * tileBytes,
  });
  const raw = res.stdout ?? Buffer.alloc(0);
  const got = Math.floor(raw.length / tileBytes);
  if (got === 0) throw noFrame(`${input} (storyboard)`, res.stderr);

  const perSheet = columns * rowsPerSheet;
  const sheetCount = Math.ceil(count / perSheet);
  const rowBytes = tileWidth * 3;
  const sheets: Buffer[] = [];
  const cues: string[] = [];
  for (let s = 0; s < sheetCount; s++) {
    const first = s * perSheet;
    const m = Math.min(perSheet, count - first);
    const cols = Math.min(columns, m);
    const rows = Math.ceil(m / columns);
    const sw = cols * tileWidth;
    const sh = rows * tileHeight;
    const canvas = Buffer.alloc(sw * sh * 3); // black where the last row is short
    const url = opts.spriteUrl(s);
    for (let j = 0; j < m; j++) {
      const k = first + j;
      // ffmpeg's fps filter may emit one tile fewer than the arithmetic says: repeat the last one.
      const src = Math.min(k, got - 1) * tileBytes;
      const x = (j % columns) * tileWidth;
      const y = Math.floor(j / columns) * tileHeight;
      for (let row = 0; row < tileHeight; row++) {
        const from = src + row * rowBytes;
        raw.copy(canvas, ((y + row) * sw + x) * 3, from, from + rowBytes);
      }
      const start = k * intervalMs;
      const end = Math.min(durationMs, (k + 1) * intervalMs);
      cues.push(`${vttTime(start)} --> ${vttTime(end)}\n${url}#xywh=${x},${y},${tileWidth},${tileHeight}`);
    }
    const img = (await loadSharp())(canvas, { raw: { width: sw, height: sh, channels: 3 } });
    sheets.push((await encode(img, opts.format, quality)).data);
  }

  return {
    sheets,
    vtt: `WEBVTT\n\n${cues.join('\n\n')}\n`,
    tileWidth,
    tileHeight,
    count,
    intervalSec: intervalMs / 1000,
    columns,
    rowsPerSheet,
  };
}
