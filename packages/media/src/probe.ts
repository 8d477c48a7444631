import { isMediaError, MediaError } from './errors';
import { type ProbeRunOptions, runFfprobe } from './runner';
import { type Sniff, sniffFile } from './sniff';

export interface Rational {
  num: number;
  den: number;
}

export interface VideoStreamInfo {
  /** Stream index in the container (`0:<index>` in ffmpeg maps). */
  index: number;
  codec: string;
  profile: string | null;
  level: number | null;
  pixFmt: string | null;
  /** 8, 10, 12… from bits_per_raw_sample or the pixel format name; null when unknown. */
  bitDepth: number | null;
  /** Coded (storage) dimensions as in the stream. */
  codedWidth: number;
  codedHeight: number;
  /** Dimensions as displayed: after rotation (not after SAR). */
  width: number;
  height: number;
  /** Clockwise display rotation in degrees: 0, 90, 180 or 270. */
  rotation: 0 | 90 | 180 | 270;
  /** Sample (pixel) aspect ratio; 1:1 when absent or 0:1. */
  sar: Rational;
  /** Display aspect ratio after SAR and rotation, as a number (width / height). */
  displayAspect: number;
  avgFps: number | null;
  rFps: number | null;
  /** Best single fps figure (avg, else r). */
  fps: number | null;
  /** avg_frame_rate and r_frame_rate differ by more than 2 %: treat as variable frame rate. */
  vfr: boolean;
  fieldOrder: string | null;
  interlaced: boolean;
  /** nb_frames when the container declares it (no counting). */
  frameCount: number | null;
  bitrate: number | null;
  duration: number | null;
  isDefault: boolean;
}

export interface AudioStreamInfo {
  index: number;
  codec: string;
  profile: string | null;
  channels: number;
  channelLayout: string | null;
  sampleRate: number;
  bitrate: number | null;
  duration: number | null;
  isDefault: boolean;
  language: string | null;
}

export interface MediaInfo {
  /** ffprobe format_name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `mpegts`. */
  container: string;
  containerLongName: string | null;
  /** What the leading bytes say (independent of the file name). */
  sniffed: Sniff['kind'];
  /** Seconds; 0 when unknown. */
  duration: number;
  durationSource: 'format' | 'stream' | 'none';
  /** The container's duration as written, unfiltered (may be absurd); null when absent. */
  declaredDuration: number | null;
  /** Longest declared stream duration (for cross-checks); null when none. */
  streamDuration: number | null;
  startTime: number;
  size: number;
  bitrate: number | null;
  /** The main video stream (default disposition first; cover art excluded); null when none. */
  video: VideoStreamInfo | null;
  videoStreamCount: number;
  audio: AudioStreamInfo[];
  streamCount: number;
  /** Still-image containers (png_pipe, image2, …) or single-image codecs with no timeline. */
  isStillImage: boolean;
}

/** ffprobe could not read the file. `classify` turns this into `non_video` or `malformed_media`. */
export interface ProbeFailure {
  failed: true;
  /** `ffmpeg_failed` (ffprobe said no), `timeout`, `spawn_failed`, … */
  code: string;
  message: string;
  stderr: string;
  sniffed: Sniff['kind'];
  size: number;
}

export function isProbeFailure(x: MediaInfo | ProbeFailure): x is ProbeFailure {
  return (x as ProbeFailure).failed === true;
}

export interface ProbeOptions extends Omit<ProbeRunOptions, 'timeoutMs'> {
  /** Default 15 s. */
  timeoutMs?: number;
  /** Bytes ffprobe may read to detect streams (default 20 MB). */
  probeSize?: number;
  /** Microseconds of media ffprobe may analyse (default 15 s). */
  analyzeDurationUs?: number;
}

/** Declared durations above this (≈ 115 days) are treated as garbage timestamps, not as a length. */
export const ABSURD_DURATION_SEC = 1e7;

const IMAGE_FORMATS = /(^|,)(image2|[a-z0-9]+_pipe|gif|apng|webp_pipe|ico)(,|$)/;
/** Image formats that hold animations ffmpeg decodes: with more than one frame they are short videos. */
const ANIMATION_FORMATS = /(^|,)(gif|apng)(,|$)/;
const IMAGE_CODECS = new Set([
  'png',
  'mjpeg',
  'jpeg2000',
  'bmp',
  'gif',
  'webp',
  'tiff',
  'apng',
  'jpegxl',
  'ppm',
  'pgm',
  'targa',
]);

interface FfStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  level?: number;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  field_order?: string;
  nb_frames?: string;
  bit_rate?: string;
  duration?: string;
  channels?: number;
  channel_layout?: string;
  sample_rate?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number | string }[];
}

interface FfFormat {
  format_name?: string;
  format_long_name?: string;
  duration?: string;
  start_time?: string;
  size?: string;
  bit_rate?: string;
  nb_streams?: number;
}

export function parseRational(s: string | undefined): Rational | null {
  if (!s) return null;
  const m = /^(-?\d+)[/:](\d+)$/.exec(s.trim());
  if (!m) return null;
  const num = Number(m[1]);
  const den = Number(m[2]);
  if (!Number.isFinite(num) || !Number.isFinite(den) || den === 0 || num <= 0) return null;
  return { num, den };
}

function rate(s: string | undefined): number | null {
  const r = parseRational(s);
  if (!r) return null;
  const v = r.num / r.den;
  return v > 0 && v < 10_000 ? v : null;
}

function num(s: string | number | undefined): number | null {
  if (s === undefined || s === '' || s === 'N/A') return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

function positiveDuration(s: string | undefined): number | null {
  const v = num(s);
  return v !== null && v > 0 && v < ABSURD_DURATION_SEC ? v : null;
}

function rotationOf(s: FfStream): 0 | 90 | 180 | 270 {
  let deg: number | null = null;
  for (const sd of s.side_data_list ?? []) {
    if (sd.side_data_type === 'Display Matrix' && sd.rotation !== undefined) deg = num(sd.rotation);
  }
  // The display matrix rotation is counter-clockwise (ffprobe prints -90 for a phone held upright);
  // the legacy `rotate` tag is clockwise.
  if (deg !== null) deg = -deg;
  else if (s.tags?.rotate !== undefined) deg = num(s.tags.rotate);
  if (deg === null) return 0;
  const r = (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
  return r as 0 | 90 | 180 | 270;
}

function bitDepthOf(s: FfStream): number | null {
  const raw = num(s.bits_per_raw_sample);
  if (raw && raw > 0) return raw;
  const pf = s.pix_fmt;
  if (!pf) return null;
  const m = /p(\d{2})(le|be)?$/.exec(pf);
  if (m) return Number(m[1]);
  if (/^(yuvj?4[24][024]p|nv12|nv21|gray|rgb24|bgr24|rgba|bgra|argb|abgr|yuva420p)$/.test(pf)) return 8;
  return null;
}

function videoInfo(s: FfStream): VideoStreamInfo {
  const codedWidth = s.width ?? 0;
  const codedHeight = s.height ?? 0;
  const rotation = rotationOf(s);
  const swap = rotation === 90 || rotation === 270;
  const sar = parseRational(s.sample_aspect_ratio) ?? { num: 1, den: 1 };
  const width = swap ? codedHeight : codedWidth;
  const height = swap ? codedWidth : codedHeight;
  const sarValue = sar.num / sar.den;
  // SAR stretches stored pixels horizontally; after a quarter turn it stretches the display height.
  const displayAspect = height > 0 ? (swap ? width / (height * sarValue) : (width * sarValue) / height) : 0;
  const avgFps = rate(s.avg_frame_rate);
  const rFps = rate(s.r_frame_rate);
  const vfr = avgFps !== null && rFps !== null && Math.abs(avgFps - rFps) / Math.max(avgFps, rFps) > 0.02;
  const fieldOrder = s.field_order ?? null;
  const interlaced = fieldOrder !== null && ['tt', 'bb', 'tb', 'bt'].includes(fieldOrder);
  const frames = num(s.nb_frames);
  return {
    index: s.index,
    codec: s.codec_name ?? 'unknown',
    profile: s.profile ?? null,
    level: s.level !== undefined && s.level > 0 ? s.level : null,
    pixFmt: s.pix_fmt ?? null,
    bitDepth: bitDepthOf(s),
    codedWidth,
    codedHeight,
    width,
    height,
    rotation,
    sar,
    displayAspect,
    avgFps,
    rFps,
    fps: avgFps ?? rFps,
    vfr,
    fieldOrder,
    interlaced,
    frameCount: frames !== null && frames > 0 ? frames : null,
    bitrate: num(s.bit_rate),
    duration: positiveDuration(s.duration) ?? positiveDuration(s.tags?.DURATION && hmsToSec(s.tags.DURATION)),
    isDefault: s.disposition?.default === 1,
  };
}

/** Matroska writes per-stream durations as a `DURATION` tag `HH:MM:SS.nnnnnnnnn`. */
function hmsToSec(t: string): string | undefined {
  const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(t.trim());
  if (!m) return undefined;
  return String(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]));
}

function audioInfo(s: FfStream): AudioStreamInfo {
  return {
    index: s.index,
    codec: s.codec_name ?? 'unknown',
    profile: s.profile ?? null,
    channels: s.channels ?? 0,
    channelLayout: s.channel_layout ?? null,
    sampleRate: num(s.sample_rate) ?? 0,
    bitrate: num(s.bit_rate),
    duration: positiveDuration(s.duration) ?? positiveDuration(s.tags?.DURATION && hmsToSec(s.tags.DURATION)),
    isDefault: s.disposition?.default === 1,
    language: s.tags?.language ?? null,
  };
}

/** Turns ffprobe's `-show_format -show_streams -of json` output into `MediaInfo`. Pure. */
export function parseProbeJson(json: string, sniff: Sniff): MediaInfo {
  const data = JSON.parse(json) as { format?: FfFormat; streams?: FfStream[] };
  const format = data.format ?? {};
  const streams = data.streams ?? [];
  const videos = streams.filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const main = videos.find((s) => s.disposition?.default === 1) ?? videos[0];
  const video = main ? videoInfo(main) : null;
  const audio = streams.filter((s) => s.codec_type === 'audio').map(audioInfo);

  const streamDurations = [video?.duration, ...audio.map((a) => a.duration)].filter(
    (d): d is number => typeof d === 'number',
  );
  const streamDuration = streamDurations.length ? Math.max(...streamDurations) : null;
  const formatDuration = positiveDuration(format.duration);
  let duration = 0;
  let durationSource: MediaInfo['durationSource'] = 'none';
  if (formatDuration !== null) {
    duration = formatDuration;
    durationSource = 'format';
  } else if (streamDuration !== null) {
    duration = streamDuration;
    durationSource = 'stream';
  }
  const container = format.format_name ?? 'unknown';
  // An animated GIF (or APNG) is a video (it is transcoded like any other); one frame is a still image.
  const animation =
    !!video &&
    ANIMATION_FORMATS.test(container) &&
    ((video.frameCount ?? 0) > 1 || (video.frameCount === null && duration >= 0.5));
  const isStillImage =
    !!video &&
    !animation &&
    (IMAGE_FORMATS.test(container) ||
      (IMAGE_CODECS.has(video.codec) && (duration === 0 || (video.frameCount ?? 2) <= 1)));

  return {
    container,
    containerLongName: format.format_long_name ?? null,
    sniffed: sniff.kind,
    duration,
    durationSource,
    declaredDuration: num(format.duration),
    streamDuration,
    startTime: num(format.start_time) ?? 0,
    size: num(format.size) ?? sniff.size,
    bitrate: num(format.bit_rate),
    video,
    videoStreamCount: videos.length,
    audio,
    streamCount: format.nb_streams ?? streams.length,
    isStillImage,
  };
}

function probeArgs(input: string, opts: ProbeOptions): string[] {
  return [
    '-v',
    'error',
    '-probesize',
    String(opts.probeSize ?? 20_000_000),
    '-analyzeduration',
    String(opts.analyzeDurationUs ?? 15_000_000),
    '-show_format',
    '-show_streams',
    '-of',
    'json',
    '-i',
    input,
  ];
}

/** Probes a local file. Throws `MediaError` when ffprobe fails (see `tryProbe` for a non-throwing form). */
export async function probe(input: string, opts: ProbeOptions = {}): Promise<MediaInfo> {
  const r = await tryProbe(input, opts);
  if (isProbeFailure(r)) {
    throw new MediaError('ffmpeg_failed', `ffprobe could not read ${input}: ${r.message}`, {
      tool: 'ffprobe',
      stderrTail: r.stderr,
    });
  }
  return r;
}

/**
 * Probes a local file; ffprobe's refusal comes back as a `ProbeFailure` (for `classify`), while timeouts,
 * aborts and a missing binary still throw.
 */
export async function tryProbe(input: string, opts: ProbeOptions = {}): Promise<MediaInfo | ProbeFailure> {
  const sniff = await sniffFile(input);
  if (sniff.kind === 'empty') {
    return {
      failed: true,
      code: 'empty',
      message: 'the file is empty',
      stderr: '',
      sniffed: 'empty',
      size: 0,
    };
  }
  try {
    const { stdout } = await runFfprobe(probeArgs(input, opts), {
      ...opts,
      timeoutMs: opts.timeoutMs ?? 15_000,
    });
    return parseProbeJson(stdout, sniff);
  } catch (e) {
    if (isMediaError(e) && e.code === 'ffmpeg_failed') {
      const lines = e.stderrTail.split('\n').filter((l) => l.trim());
      return {
        failed: true,
        code: e.code,
        message: lines.at(-1)?.replace(/^.*?: (?=[A-Z])/, '') ?? 'ffprobe failed',
        stderr: e.stderrTail,
        sniffed: sniff.kind,
        size: sniff.size,
      };
    }
    throw e;
  }
}
