/**
 * Quality checks and sampled frames from ONE ffmpeg decode of a file (issue 18).
 *
 * The graph: the first video stream goes through idet (full-resolution fields), blackdetect, freezedetect,
 * cropdetect and scdet in one chain (all at full resolution: a downscaled branch saves little and costs
 * accuracy, see below), then is split: one branch to a null sink, one
 * to `select` (the first frame, scene changes, one every interval, with a minimum gap) → showinfo (the
 * frame times, on stderr) → scale to size×size → RGB24 on stdout, streamed and handed to `onFrame` one
 * frame at a time (backpressure: ffmpeg waits while `onFrame` works). The first audio stream goes through
 * silencedetect and ebur128 (true peak) to another null sink. Everything is parsed from stderr lines as
 * they come (see analyze-parse.ts).
 *
 * Cost, measured on the brief's clip (60 s 1080p30 H.264 veryfast + AAC; 2 cores, ffmpeg 5.1, a machine
 * shared with other work, load ≈ 2.5): `ffmpeg -i clip -f null -` median 4.7 s wall (8.1 s CPU);
 * analyzeMedia with 224² frames median 7.9 s wall: 1.67× the plain decode (5 rounds, 1.5–1.8×; the same
 * graph run bare: 13.3 s CPU, 1.6× the decode's CPU). The filter chain runs in one thread beside the
 * decoder threads; per 60 s of 1080p it costs roughly (noisy figures) idet 1.5 s, blackdetect 1 s, freezedetect, scdet
 * and select's scene score 0.5 s each. A 480-wide branch for black/freeze/crop/scdet measured about 8 %
 * faster (1.37× vs 1.48× in one set of rounds) but blurs freezes and puts crop edges 4 source pixels
 * apart at 1080p: not taken.
 */
import {
  createQcLogParser,
  DEFAULT_QC_THRESHOLDS,
  finishQc,
  type QcResult,
  type QcThresholds,
} from './analyze-parse';
import { runFfmpeg } from './runner';
import type { SlotPriority } from './slots';

export * from './analyze-parse';

export interface FrameSampling {
  /** One frame every N seconds at least (default 5); widened so that `max` frames cover the duration. */
  intervalSec: number;
  /** Hard bound on frames per video (default 60). */
  max: number;
  /** Square side in pixels (default 224, the nsfwjs input); a frame is size × size × 3 bytes of RGB. */
  size: number;
  /** Awaited: ffmpeg waits (the pipe fills) until it settles. A throw or rejection fails the run. */
  onFrame(frame: { time: number; rgb: Buffer }): void | Promise<void>;
}

export interface AnalyzeOptions {
  durationSec: number;
  hasVideo: boolean;
  hasAudio: boolean;
  thresholds?: Partial<QcThresholds>;
  frames?: Partial<Omit<FrameSampling, 'onFrame'>> & Pick<FrameSampling, 'onFrame'>;
  timeoutMs: number;
  signal?: AbortSignal;
  nice?: number;
  /** Decoder and filter threads (default: ffmpeg's choice). */
  threads?: number;
  priority?: SlotPriority;
  /** 0..1, from ffmpeg's progress. */
  onProgress?: (fraction: number) => void;
  /** The ffmpeg process id once spawned (e.g. to pause it while foreground work runs). */
  onSpawn?: (pid: number) => void;
}

export interface AnalyzeResult {
  qc: QcResult;
  framesSampled: number;
  ms: number;
}

export const DEFAULT_FRAME_SAMPLING = { intervalSec: 5, max: 60, size: 224 } as const;

/** How long a frame read from stdout may wait for its showinfo time on stderr before the run fails. */
const FRAME_TIME_WAIT_MS = 10_000;

/**
 * The `select` expression: the first frame, then a frame whenever `interval` has passed since the last
 * one, or at a scene change (score over `sceneThreshold`) once `gap` has passed. interval =
 * max(intervalSec, duration / (max / 2)); gap = max(interval / 2, duration / (max − 1)), so at most
 * `max` frames fit in the duration by construction (the output's `-frames:v` is the hard cap anyway).
 */
export function frameSelectExpr(
  durationSec: number,
  s: { intervalSec: number; max: number },
  sceneThreshold: number,
): { expr: string; intervalSec: number; gapSec: number } {
  const max = Math.max(1, Math.floor(s.max));
  const dur = Math.max(0.001, durationSec);
  if (max === 1) return { expr: 'isnan(prev_selected_t)', intervalSec: dur, gapSec: dur };
  const interval = Math.max(s.intervalSec, dur / (max / 2));
  const gap = Math.max(interval / 2, dur / (max - 1));
  const f = (n: number) => String(Math.round(n * 1e6) / 1e6);
  const scene = f(Math.min(1, Math.max(0, sceneThreshold / 100)));
  const expr =
    `isnan(prev_selected_t)+gte(t-prev_selected_t,${f(interval)})` +
    `+gte(scene,${scene})*gte(t-prev_selected_t,${f(gap)})`;
  return { expr, intervalSec: interval, gapSec: gap };
}

interface GraphSpec {
  durationSec: number;
  hasVideo: boolean;
  hasAudio: boolean;
  thresholds: QcThresholds;
  frames: { intervalSec: number; max: number; size: number } | null;
  threads?: number;
}

const n6 = (v: number) => String(Math.round(v * 1e6) / 1e6);

/** The ffmpeg argv (after the runner's own `-hide_banner -nostdin -progress …`). */
export function buildAnalyzeArgs(input: string, g: GraphSpec): string[] {
  if (!g.hasVideo && !g.hasAudio) throw new RangeError('nothing to analyze: no video and no audio');
  const t = g.thresholds;
  const chains: string[] = [];
  const outputs: string[] = [];
  if (g.hasVideo) {
    const qc = [
      'idet',
      `blackdetect=d=${n6(t.blackMinSec)}:pix_th=${n6(t.blackPixel)}:pic_th=${n6(t.blackPicture)}`,
      `freezedetect=n=${n6(t.freezeNoiseDb)}dB:d=${n6(t.freezeMinSec)}`,
      // limit as a fraction: 24/255 whatever the bit depth; reset=1: each frame's own crop (voted later).
      'cropdetect=limit=0.0941:round=2:reset=1',
      `scdet=threshold=${n6(t.sceneThreshold)}`,
    ];
    chains.push(`[0:V:0]${qc.join(',')},split=2[qc][pick]`);
    outputs.push('-map', '[qc]', '-f', 'null', '-');
    if (g.frames) {
      const { expr } = frameSelectExpr(g.durationSec, g.frames, t.sceneThreshold);
      const s = g.frames.size;
      chains.push(
        `[pick]select='${expr}',showinfo=checksum=0,scale=${s}:${s}:flags=area,format=rgb24[frames]`,
      );
      outputs.push('-map', '[frames]', '-fps_mode', 'passthrough', '-frames:v', String(g.frames.max));
      outputs.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
    } else {
      // Only the first frame's time (the origin of every time reported).
      chains.push(`[pick]select='isnan(prev_selected_t)',showinfo=checksum=0[first]`);
      outputs.push('-map', '[first]', '-fps_mode', 'passthrough', '-f', 'null', '-');
    }
  }
  if (g.hasAudio) {
    // Audio-only: rebased to its first sample (with video, the first video frame is the origin).
    const rebase = g.hasVideo ? '' : 'asetpts=PTS-STARTPTS,';
    chains.push(
      `[0:a:0]${rebase}silencedetect=n=${n6(t.silenceNoiseDb)}dB:d=${n6(t.silenceMinSec)},` +
        'ebur128=peak=true:framelog=verbose[aq]',
    );
    outputs.push('-map', '[aq]', '-f', 'null', '-');
  }
  const args = ['-loglevel', 'info'];
  if (g.threads) args.push('-threads', String(g.threads));
  args.push('-i', input);
  if (g.threads) args.push('-filter_complex_threads', String(g.threads));
  args.push('-filter_complex', chains.join(';'), ...outputs);
  return args;
}

/** Cuts a byte stream into frames of `frameBytes` and hands each to `onFrame` in order. */
function frameAssembler(frameBytes: number, onFrame: (index: number, rgb: Buffer) => Promise<void>) {
  let parts: Buffer[] = [];
  let have = 0;
  let index = 0;
  return async (chunk: Buffer): Promise<void> => {
    parts.push(chunk);
    have += chunk.length;
    while (have >= frameBytes) {
      const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      const frame = Buffer.from(all.subarray(0, frameBytes));
      const rest = all.subarray(frameBytes);
      parts = rest.length ? [rest] : [];
      have = rest.length;
      await onFrame(index++, frame);
    }
  };
}

/** Frame times arrive on stderr, frames on stdout: each frame waits for its time. */
function frameTimeBook() {
  const times: number[] = [];
  const waiters = new Map<number, (t: number) => void>();
  return {
    set(n: number, t: number) {
      times[n] = t;
      waiters.get(n)?.(t);
      waiters.delete(n);
    },
    get(n: number): Promise<number> {
      const known = times[n];
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(n);
          reject(new Error(`analyzeMedia: frame ${n} came without its showinfo time`));
        }, FRAME_TIME_WAIT_MS);
        waiters.set(n, (t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
    },
  };
}

/**
 * Quality checks (black, freeze, silence, loudness, interlace, crop, scene changes) and, with `frames`,
 * sampled square RGB frames, from one decode. Times are seconds from the first video frame. Rejects with
 * MediaError (ffmpeg_failed on unreadable input, timeout, aborted), or with `onFrame`'s own error.
 */
export async function analyzeMedia(input: string, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const started = performance.now();
  const thresholds = { ...DEFAULT_QC_THRESHOLDS, ...opts.thresholds };
  const sampling =
    opts.frames && opts.hasVideo
      ? {
          intervalSec: opts.frames.intervalSec ?? DEFAULT_FRAME_SAMPLING.intervalSec,
          max: Math.max(1, Math.floor(opts.frames.max ?? DEFAULT_FRAME_SAMPLING.max)),
          size: Math.max(1, Math.floor(opts.frames.size ?? DEFAULT_FRAME_SAMPLING.size)),
        }
      : null;
  const args = buildAnalyzeArgs(input, {
    durationSec: opts.durationSec,
    hasVideo: opts.hasVideo,
    hasAudio: opts.hasAudio,
    thresholds,
    frames: sampling,
    threads: opts.threads,
  });

  const book = frameTimeBook();
  const parser = createQcLogParser((n, t) => book.set(n, t));
  let sampled = 0;
  let origin: number | null = null;
  const onFrame = opts.frames?.onFrame;
  const assemble =
    sampling && onFrame
      ? frameAssembler(sampling.size * sampling.size * 3, async (i, rgb) => {
          if (i >= sampling.max) return;
          const t = await book.get(i);
          origin ??= t;
          sampled++;
          await onFrame({ time: Math.round((t - origin) * 1000) / 1000, rgb });
        })
      : undefined;
  let pending: Promise<void> = Promise.resolve();
  const duration = Math.max(0.001, opts.durationSec);
  await runFfmpeg(args, {
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    nice: opts.nice,
    priority: opts.priority,
    onStderrLine: parser.line,
    onSpawn: opts.onSpawn,
    onStdout: assemble
      ? (chunk) => {
          pending = pending.then(() => assemble(chunk));
          return pending;
        }
      : undefined,
    onProgress: (p) => opts.onProgress?.(p.done ? 1 : Math.min(1, p.outTimeSec / duration)),
  });
  await pending;
  const qc = finishQc(parser.log, {
    durationSec: opts.durationSec,
    hasVideo: opts.hasVideo,
    hasAudio: opts.hasAudio,
    thresholds,
  });
  return { qc, framesSampled: sampled, ms: Math.round(performance.now() - started) };
}
