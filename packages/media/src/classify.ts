import { isMediaError } from './errors';
import { isProbeFailure, type MediaInfo, type ProbeFailure } from './probe';
import { runFfmpeg } from './runner';
import type { SlotPriority } from './slots';
import type { SniffedKind } from './sniff';

export interface ClassifyLimits {
  maxDurationSec: number;
  /** Width × height of the main video stream (after rotation). */
  maxPixels: number;
  maxSizeBytes: number;
  /** Declared frame rate (avg, else r) above this is refused. */
  maxFps: number;
  /**
   * Codec names ffmpeg can decode (`detectEncoders().decoders`). When given, a video/audio codec outside it
   * is `unsupported_codec`; when absent only codecs ffprobe could not name are.
   */
  decodableCodecs?: ReadonlySet<string>;
}

export type ClassifyFailureCode =
  | 'non_video'
  | 'malformed_media'
  | 'unsupported_codec'
  | 'too_long'
  | 'too_large';

export type Classification =
  | { ok: true; kind: 'video' | 'audio_only' }
  | { ok: false; code: ClassifyFailureCode; message: string };

/** Containers we can tell from their leading bytes; a probe failure on one of these is a broken file. */
const MEDIA_CONTAINERS: ReadonlySet<SniffedKind> = new Set([
  'isobmff',
  'matroska',
  'mpegts',
  'mpegps',
  'avi',
  'flv',
  'ogg',
  'wav',
  'mp3',
  'flac',
  'asf',
]);

const CONTAINER_NAMES: Partial<Record<SniffedKind, string>> = {
  isobmff: 'MP4/MOV',
  matroska: 'Matroska/WebM',
  mpegts: 'MPEG-TS',
  mpegps: 'MPEG-PS',
  avi: 'AVI',
  flv: 'FLV',
  ogg: 'Ogg',
  wav: 'WAV',
  mp3: 'MP3',
  flac: 'FLAC',
  asf: 'ASF/WMV',
};

function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${n} bytes`;
}

export function fmtDuration(sec: number): string {
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s`
    : `${m}m${String(r).padStart(2, '0')}s`;
}

function mpx(pixels: number): string {
  const v = pixels / 1e6;
  return v >= 10 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '');
}

function fail(code: ClassifyFailureCode, message: string): Classification {
  return { ok: false, code, message };
}

function classifyFailure(f: ProbeFailure): Classification {
  if (f.sniffed === 'empty' || f.size === 0) return fail('non_video', 'the file is empty');
  if (MEDIA_CONTAINERS.has(f.sniffed)) {
    const what = CONTAINER_NAMES[f.sniffed] ?? f.sniffed;
    const hint = /moov atom not found/.test(f.stderr)
      ? ' (the moov index is missing: the upload is truncated or the recording was not finalised)'
      : '';
    return fail('malformed_media', `the file looks like ${what} but cannot be read: ${f.message}${hint}`);
  }
  if (f.sniffed === 'image')
    return fail('non_video', `the file is an image that cannot be read: ${f.message}`);
  if (f.sniffed === 'text') return fail('non_video', 'the file is text, not a video');
  return fail('non_video', `the file is not a recognised audio or video format (${f.message})`);
}

/**
 * Decides from probe data (no decoding) whether a file can be processed. Order: size, readability, still
 * image, streams, codec, dimensions, frame rate, duration.
 */
export function classify(info: MediaInfo | ProbeFailure, limits: ClassifyLimits): Classification {
  if (isProbeFailure(info)) return classifyFailure(info);

  if (info.size > limits.maxSizeBytes) {
    return fail(
      'too_large',
      `the file is ${fmtBytes(info.size)}, above the limit of ${fmtBytes(limits.maxSizeBytes)}`,
    );
  }
  const v = info.video;
  if (v && info.isStillImage) {
    return fail('non_video', `the file is a still image (${v.codec}, ${v.width}×${v.height}), not a video`);
  }
  if (!v && info.audio.length === 0) {
    return fail('non_video', `the file (${info.container}) has no audio or video stream`);
  }
  const decodable = (codec: string) =>
    codec !== 'unknown' && codec !== 'none' && (!limits.decodableCodecs || limits.decodableCodecs.has(codec));

  if (v) {
    if (!decodable(v.codec)) return fail('unsupported_codec', `the video codec ${v.codec} is not supported`);
    if (v.width <= 0 || v.height <= 0) {
      return fail('malformed_media', `the video stream (${v.codec}) declares no picture size`);
    }
    const pixels = v.width * v.height;
    if (pixels > limits.maxPixels) {
      return fail(
        'too_large',
        `the video is ${v.width}×${v.height} (${mpx(pixels)} Mpx), above the limit of ${mpx(limits.maxPixels)} Mpx`,
      );
    }
    const fps = v.avgFps ?? v.rFps;
    if (fps !== null && fps > limits.maxFps) {
      return fail(
        'too_large',
        `the frame rate is ${+fps.toFixed(2)} fps, above the limit of ${limits.maxFps} fps`,
      );
    }
  } else {
    const a = info.audio[0]!;
    if (!decodable(a.codec)) return fail('unsupported_codec', `the audio codec ${a.codec} is not supported`);
    if (a.channels <= 0 || a.sampleRate <= 0) {
      return fail('malformed_media', `the audio stream (${a.codec}) declares no channels or sample rate`);
    }
  }

  if (info.duration > limits.maxDurationSec) {
    return fail(
      'too_long',
      `the ${v ? 'video' : 'audio'} lasts ${fmtDuration(info.duration)}, above the limit of ${fmtDuration(limits.maxDurationSec)}`,
    );
  }
  if (info.duration <= 0) {
    if (info.declaredDuration !== null && info.declaredDuration > limits.maxDurationSec) {
      return fail(
        'too_long',
        `the file declares an implausible duration (${info.declaredDuration.toExponential(2)} s)`,
      );
    }
    return fail('malformed_media', 'the duration of the file cannot be determined');
  }
  return { ok: true, kind: v ? 'video' : 'audio_only' };
}

export interface DecodeCheckOptions {
  /** Seconds decoded at the head (and at the tail when `durationSec` is given). Default 2. */
  seconds?: number;
  /** Total for the whole check. Default 30 s. */
  timeoutMs?: number;
  /** Known duration: enables a second decode of the last `seconds` (catches truncation in the data). */
  durationSec?: number;
  /** Decode this stream (ffmpeg map spec); default the first video stream, else the first audio stream. */
  map?: string;
  nice?: number;
  signal?: AbortSignal;
  /** Its ffmpeg slot's priority (see ProcessSlots): `interactive` when someone waits for the check. */
  priority?: SlotPriority;
  /** Which ends to decode (default both; `tail` needs `durationSec`): callers may run them apart. */
  ends?: 'both' | 'head' | 'tail';
}

export type DecodeCheckResult =
  | {
      ok: true;
      headFrames: number | null;
      headSec: number | null;
      tailFrames: number | null;
      tailSec: number | null;
      durationMs: number;
    }
  | { ok: false; code: 'malformed_media'; message: string; stderr: string; durationMs: number };

interface Decoded {
  frames: number;
  outSec: number;
  stderr: string;
}

async function decodeWindow(
  input: string,
  startSec: number | null,
  seconds: number,
  map: string,
  opts: DecodeCheckOptions,
  timeoutMs: number,
): Promise<Decoded> {
  let frames = 0;
  let outSec = 0;
  const args = ['-v', 'error'];
  if (startSec !== null) args.push('-ss', startSec.toFixed(3));
  args.push('-t', String(seconds), '-i', input, '-map', map, '-f', 'null', '-');
  const res = await runFfmpeg(args, {
    timeoutMs,
    signal: opts.signal,
    nice: opts.nice,
    priority: opts.priority,
    onProgress: (p) => {
      frames = p.frame;
      outSec = p.outTimeSec;
    },
  });
  return { frames, outSec, stderr: res.stderr };
}

/**
 * Decodes the first `seconds` (and the last `seconds` when `durationSec` is known) to catch streams whose
 * headers parse but whose data does not: a failed decode, no frame, or less than half of the expected
 * window decoded → `malformed_media`. Timeouts and aborts still throw `MediaError`.
 */
export async function decodeCheck(
  input: string,
  opts: DecodeCheckOptions & { hasVideo?: boolean } = {},
): Promise<DecodeCheckResult> {
  const started = performance.now();
  const seconds = opts.seconds ?? 2;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const map = opts.map ?? (opts.hasVideo === false ? '0:a:0' : '0:v:0?');
  const audioOnly = opts.hasVideo === false || map.startsWith('0:a');
  const bad = (message: string, stderr: string): DecodeCheckResult => ({
    ok: false,
    code: 'malformed_media',
    message,
    stderr,
    durationMs: performance.now() - started,
  });
  const judge = (d: Decoded, expectSec: number, where: string): DecodeCheckResult | null => {
    const firstError = d.stderr
      .split('\n')
      .find((l) => l.trim())
      ?.trim();
    if (!audioOnly && d.frames === 0) {
      return bad(
        `no picture could be decoded at the ${where} of the file${firstError ? `: ${firstError}` : ''}`,
        d.stderr,
      );
    }
    // Short clips: expect at least half the window (or half the clip), with one frame of slack.
    if (d.outSec + 0.05 < expectSec * 0.5) {
      return bad(
        `only ${d.outSec.toFixed(2)} s of the first ${expectSec.toFixed(2)} s at the ${where} could be decoded${firstError ? `: ${firstError}` : ''}`,
        d.stderr,
      );
    }
    return null;
  };
  try {
    // Head and tail are decoded at once (two ffmpeg processes): the check sits on the path to playable.
    const ends = opts.ends ?? 'both';
    const tailStart =
      ends !== 'head' && opts.durationSec && opts.durationSec > seconds * 2
        ? Math.max(0, opts.durationSec - seconds)
        : null;
    const tailRun =
      tailStart === null
        ? null
        : decodeWindow(input, tailStart, seconds, map, opts, Math.max(1000, timeoutMs));
    tailRun?.catch(() => undefined);
    const head = ends === 'tail' ? null : await decodeWindow(input, null, seconds, map, opts, timeoutMs);
    if (!head) {
      // tail only
    } else if (opts.durationSec) {
      const headVerdict = judge(head, Math.min(seconds, opts.durationSec), 'start');
      if (headVerdict) return headVerdict;
    } else if (audioOnly ? head.outSec <= 0 : head.frames === 0) {
      return bad('nothing could be decoded at the start of the file', head.stderr);
    }
    let tail: Decoded | null = null;
    if (tailRun && tailStart !== null && opts.durationSec) {
      tail = await tailRun;
      // Seeking lands on the keyframe before `start`, so more than `seconds` can come out; that is fine.
      const tailVerdict = judge(tail, opts.durationSec - tailStart, 'end');
      if (tailVerdict) return tailVerdict;
    }
    return {
      ok: true,
      headFrames: head?.frames ?? null,
      headSec: head?.outSec ?? null,
      tailFrames: tail?.frames ?? null,
      tailSec: tail?.outSec ?? null,
      durationMs: performance.now() - started,
    };
  } catch (e) {
    if (isMediaError(e) && e.code === 'ffmpeg_failed') {
      const lines = e.stderrTail.split('\n').filter((l) => l.trim());
      return bad(`the media data cannot be decoded: ${lines.at(-1) ?? 'ffmpeg failed'}`, e.stderrTail);
    }
    throw e;
  }
}
