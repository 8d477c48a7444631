import { join } from 'node:path';
import { fpsString, fpsValue, type PlannedRendition } from './plan';

/**
 * Argument builders: typed options in, ffmpeg argv out (without the binary, `-hide_banner`, `-nostdin` or
 * `-progress`, which `runFfmpeg` adds). No I/O: callers create the output directories.
 *
 * Timestamps. Every TS segment carries absolute presentation times shifted by the constant `TS_OFFSET_SEC`:
 * the first frame of the segment that starts at 12 s has PTS 12 s + TS_OFFSET_SEC. The offset keeps B-frame
 * DTS and the AAC encoder delay (priming, 1024 samples) non-negative so the muxer never shifts a chunk on
 * its own; it is the same for every chunk, every rendition and the audio track, so segments made by
 * different processes concatenate gaplessly, and players (which start the timeline at the first PTS) do
 * not see it.
 */
export const TS_OFFSET_SEC = 1;

export interface SegmentSpan {
  index: number;
  /** Seconds, exact (from planSegments). */
  start: number;
  end: number;
}

export interface WatermarkOptions {
  /** Local image file (PNG with alpha recommended). */
  path: string;
  position: 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'center';
  /** Fraction of the video width. */
  margin: number;
  /** 0..1 */
  opacity: number;
  /** Watermark width as a fraction of the video width. */
  width: number;
}

/** `seg-00012.ts` for index 12. */
export function segmentFileName(index: number, ext = 'ts'): string {
  return `seg-${String(index).padStart(5, '0')}.${ext}`;
}

/** `${outDir}/${name}/seg-%05d.ts`: the per-rendition pattern used by every builder here. */
export function segmentPattern(outDir: string, name: string, ext = 'ts'): string {
  return join(outDir, name, `seg-%05d.${ext}`);
}

/** Seconds with microsecond precision, no exponent, no trailing zeros. */
function t(sec: number): string {
  return (Math.round(sec * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, '') || '0';
}

function overlayXY(position: WatermarkOptions['position'], marginPx: number): string {
  const m = String(marginPx);
  switch (position) {
    case 'top-left':
      return `x=${m}:y=${m}`;
    case 'top-right':
      return `x=main_w-overlay_w-${m}:y=${m}`;
    case 'bottom-left':
      return `x=${m}:y=main_h-overlay_h-${m}`;
    case 'bottom-right':
      return `x=main_w-overlay_w-${m}:y=main_h-overlay_h-${m}`;
    case 'center':
      return 'x=(main_w-overlay_w)/2:y=(main_h-overlay_h)/2';
  }
}

interface VideoGraphOptions {
  renditions: PlannedRendition[];
  /** Seconds of the (input-seeked) source that map to output time `startSec`. */
  startSec: number;
  /** Frames to keep per rendition, keyed by name. */
  framesFor: (r: PlannedRendition) => number;
  deinterlace: boolean;
  watermark?: WatermarkOptions;
  /** Input index of the watermark image. */
  watermarkInput: number;
}

/**
 * `[0:v] (bwdif) split=N` → per rendition: `fps` (CFR on a grid that starts at the chunk start) → `trim`
 * (exact frame count) → `scale` + `setsar=1` → (overlay) → `format=yuv420p` → `setpts=PTS+<start frame>`
 * (absolute time, integer frames in the 1/fps time base: no float rounding).
 */
function videoGraph(o: VideoGraphOptions): string {
  const parts: string[] = [];
  const n = o.renditions.length;
  const head = o.deinterlace ? 'bwdif=mode=send_frame:parity=auto:deint=all,' : '';
  parts.push(
    n === 1
      ? `[0:v]${head}null[s0]`
      : `[0:v]${head}split=${n}${o.renditions.map((_, i) => `[s${i}]`).join('')}`,
  );
  if (o.watermark) {
    const wm = o.watermark;
    const alpha = wm.opacity < 1 ? `,colorchannelmixer=aa=${wm.opacity}` : '';
    parts.push(
      `[${o.watermarkInput}:v]format=rgba${alpha}` +
        (n === 1 ? '[wsrc0]' : `,split=${n}${o.renditions.map((_, i) => `[wsrc${i}]`).join('')}`),
    );
  }
  o.renditions.forEach((r, i) => {
    const startFrame = Math.round(o.startSec * fpsValue(r.fps));
    const frames = o.framesFor(r);
    const chain = [
      `fps=fps=${fpsString(r.fps)}:start_time=0:round=near`,
      `trim=end_frame=${frames}`,
      `scale=${r.width}:${r.height}:flags=bicubic`,
      'setsar=1',
    ];
    if (o.watermark) {
      const wm = o.watermark;
      const w = Math.max(2, Math.round((wm.width * r.width) / 2) * 2);
      const margin = Math.round(wm.margin * r.width);
      parts.push(`[wsrc${i}]scale=${w}:-2[wm${i}]`);
      parts.push(`[s${i}]${chain.join(',')}[pre${i}]`);
      parts.push(
        `[pre${i}][wm${i}]overlay=${overlayXY(wm.position, margin)}:eof_action=repeat,format=yuv420p,setpts=PTS+${startFrame}[v${i}]`,
      );
    } else {
      parts.push(`[s${i}]${chain.join(',')},format=yuv420p,setpts=PTS+${startFrame}[v${i}]`);
    }
  });
  return parts.join(';');
}

interface EncodeOptions {
  preset: string;
  threads?: number;
  /** Absolute (un-offset) keyframe times. */
  keyframeTimes: number[];
}

function x264Args(r: PlannedRendition, o: EncodeOptions): string[] {
  const rate = fpsValue(r.fps);
  // Keyframes are forced a quarter frame early so the ≥ test in ffmpeg never misses a boundary frame.
  const kf = o.keyframeTimes.map((s) => t(Math.max(0, s - 0.25 / rate))).join(',');
  const args = [
    '-c:v',
    'libx264',
    '-preset',
    o.preset,
    '-profile:v',
    r.profile,
    '-level:v',
    r.level,
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    String(r.videoBitrate),
    '-maxrate',
    String(r.maxrate),
    '-bufsize',
    String(r.bufsize),
    '-g',
    String(r.gop),
    '-keyint_min',
    String(r.gop),
    '-sc_threshold',
    '0',
    '-flags',
    '+cgop',
    '-forced-idr',
    '1',
    '-force_key_frames',
    kf || '0',
  ];
  // Two B-frames of delay must stay inside TS_OFFSET_SEC.
  if (rate < 4) args.push('-bf', '0');
  if (o.threads) args.push('-threads', String(o.threads));
  return args;
}

/** Output options shared by every TS segment output. `splitTimes` are absolute (un-offset) seconds. */
function segmentMuxArgs(
  splitTimes: number[],
  firstIndex: number,
  frameDur: number,
  pattern: string,
): string[] {
  const args = ['-output_ts_offset', t(TS_OFFSET_SEC), '-muxdelay', '0', '-muxpreload', '0'];
  args.push('-f', 'segment', '-segment_format', 'mpegts');
  if (splitTimes.length) {
    args.push('-segment_times', splitTimes.map((s) => t(s + TS_OFFSET_SEC)).join(','));
    // Split at the first keyframe within half a frame before a boundary (boundaries are on the frame grid).
    args.push('-segment_time_delta', t(frameDur / 2));
  } else {
    // One segment: no split at all (segment_time defaults to 2 s otherwise).
    args.push('-segment_time', '1000000000');
  }
  args.push('-segment_start_number', String(firstIndex), '-reset_timestamps', '0', pattern);
  return args;
}

export interface ChunkArgsOptions {
  input: string;
  /** Chunk range on the output timeline; must equal the first segment's start and the last one's end. */
  startSec: number;
  endSec: number;
  segments: SegmentSpan[];
  renditions: PlannedRendition[];
  /** Segments go to `${outDir}/${rendition.name}/seg-${index:05}.ts` (directories must exist). */
  outDir: string;
  /** Per-encoder `-threads`, plus `-filter_complex_threads`. */
  threads?: number;
  /** x264 preset, default `veryfast`. */
  preset?: string;
  /** Deinterlace with bwdif (plan.deinterlace). */
  deinterlace?: boolean;
  watermark?: WatermarkOptions;
}

function checkSegments(segments: SegmentSpan[], startSec: number, endSec: number): void {
  if (segments.length === 0) throw new Error('chunkArgs: no segments');
  const first = segments[0]!;
  const last = segments.at(-1)!;
  if (Math.abs(first.start - startSec) > 1e-6 || Math.abs(last.end - endSec) > 1e-6) {
    throw new Error(`chunkArgs: segments span ${first.start}–${last.end}, not ${startSec}–${endSec}`);
  }
  for (let i = 1; i < segments.length; i++) {
    const a = segments[i - 1]!;
    const b = segments[i]!;
    if (b.index !== a.index + 1 || Math.abs(b.start - a.end) > 1e-6) {
      throw new Error('chunkArgs: segments must be consecutive');
    }
  }
}

/**
 * One process: seek to `startSec`, decode [startSec, endSec) once, and write every rendition's video-only
 * TS segments for the chunk, keyframe-aligned and with absolute timestamps (see TS_OFFSET_SEC).
 * Frame-accurate: input `-ss` decodes from the previous keyframe and drops what lies before `startSec`;
 * `fps` rebuilds the CFR grid from the chunk start, `trim` cuts the exact frame count.
 */
export function chunkArgs(o: ChunkArgsOptions): string[] {
  checkSegments(o.segments, o.startSec, o.endSec);
  const span = o.endSec - o.startSec;
  const slowest = Math.min(...o.renditions.map((r) => fpsValue(r.fps)));
  const args: string[] = [];
  // Read two frames past the end so `fps` sees what follows the last kept frame.
  if (o.startSec > 0) args.push('-ss', t(o.startSec));
  args.push('-t', t(span + 2 / slowest), '-i', o.input);
  if (o.watermark) args.push('-i', o.watermark.path);
  if (o.threads) args.push('-filter_complex_threads', String(o.threads));
  const graph = videoGraph({
    renditions: o.renditions,
    startSec: o.startSec,
    framesFor: (r) => Math.round(o.endSec * fpsValue(r.fps)) - Math.round(o.startSec * fpsValue(r.fps)),
    deinterlace: !!o.deinterlace,
    watermark: o.watermark,
    watermarkInput: 1,
  });
  args.push('-filter_complex', graph);
  const starts = o.segments.map((s) => s.start);
  o.renditions.forEach((r, i) => {
    args.push('-map', `[v${i}]`, '-an', '-sn', '-dn', '-map_metadata', '-1', '-fps_mode', 'passthrough');
    args.push(...x264Args(r, { preset: o.preset ?? 'veryfast', threads: o.threads, keyframeTimes: starts }));
    args.push(
      ...segmentMuxArgs(
        starts.slice(1),
        o.segments[0]!.index,
        1 / fpsValue(r.fps),
        segmentPattern(o.outDir, r.name),
      ),
    );
  });
  return args;
}

export interface AudioArgsOptions {
  input: string;
  /** Stream to encode (ffmpeg map spec), default `0:a:0`; use `0:<AudioPlan.sourceIndex>`. */
  map?: string;
  /** Output length (the video's planned end, last segment's `end`): audio is padded or cut to it. */
  durationSec: number;
  segments: SegmentSpan[];
  /** Segments go to `${outDir}/${dirName}/seg-#####.ts`; dirName default `audio`. */
  outDir: string;
  dirName?: string;
  bitrate: number;
  channels: number;
  sampleRate: number;
  threads?: number;
}

function audioFilter(durationSec: number): string {
  // async: fill gaps / drop overlaps in the source timeline; first_pts=0: start at the video's zero.
  return `aresample=async=1:first_pts=0,apad=whole_dur=${t(durationSec)}`;
}

function aacArgs(o: { bitrate: number; channels: number; sampleRate: number }): string[] {
  return ['-c:a', 'aac', '-b:a', String(o.bitrate), '-ac', String(o.channels), '-ar', String(o.sampleRate)];
}

/**
 * The whole audio track, encoded once (one AAC priming delay at the very start, none between segments),
 * split into TS segments at the same boundaries as the video (each audio segment starts at the AAC frame
 * nearest the boundary: within half of 1024 samples of it).
 */
export function audioArgs(o: AudioArgsOptions): string[] {
  const frameDur = 1024 / o.sampleRate;
  return [
    '-i',
    o.input,
    '-map',
    o.map ?? '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    '-map_metadata',
    '-1',
    '-af',
    audioFilter(o.durationSec),
    '-t',
    t(o.durationSec),
    ...aacArgs(o),
    ...(o.threads ? ['-threads', String(o.threads)] : []),
    ...segmentMuxArgs(
      o.segments.slice(1).map((s) => s.start),
      o.segments[0]?.index ?? 0,
      frameDur,
      segmentPattern(o.outDir, o.dirName ?? 'audio'),
    ),
  ];
}

export interface LadderArgsOptions {
  input: string;
  segments: SegmentSpan[];
  renditions: PlannedRendition[];
  outDir: string;
  /** Audio to encode (null: none). */
  audio: { map?: string; bitrate: number; channels: number; sampleRate: number } | null;
  /**
   * `muxed` (default): each rendition's segments carry the audio too (encoded once per rendition).
   * `separate`: audio goes once to `${outDir}/audio/`, the same layout the chunked path produces.
   */
  audioMode?: 'muxed' | 'separate';
  threads?: number;
  preset?: string;
  deinterlace?: boolean;
  watermark?: WatermarkOptions;
}

/** The whole ladder in one process: decode once, every rendition, audio muxed (or separate). */
export function ladderArgs(o: LadderArgsOptions): string[] {
  if (o.segments.length === 0) throw new Error('ladderArgs: no segments');
  const endSec = o.segments.at(-1)!.end;
  const args: string[] = ['-i', o.input];
  if (o.watermark) args.push('-i', o.watermark.path);
  if (o.threads) args.push('-filter_complex_threads', String(o.threads));
  args.push(
    '-filter_complex',
    videoGraph({
      renditions: o.renditions,
      startSec: 0,
      framesFor: (r) => Math.round(endSec * fpsValue(r.fps)),
      deinterlace: !!o.deinterlace,
      watermark: o.watermark,
      watermarkInput: 1,
    }),
  );
  const starts = o.segments.map((s) => s.start);
  const muxAudio = o.audio && (o.audioMode ?? 'muxed') === 'muxed';
  o.renditions.forEach((r, i) => {
    args.push('-map', `[v${i}]`);
    if (muxAudio && o.audio) {
      args.push('-map', o.audio.map ?? '0:a:0', '-af', audioFilter(endSec), ...aacArgs(o.audio));
    } else {
      args.push('-an');
    }
    args.push('-sn', '-dn', '-map_metadata', '-1', '-fps_mode:v', 'passthrough');
    if (muxAudio) args.push('-t', t(endSec));
    args.push(...x264Args(r, { preset: o.preset ?? 'veryfast', threads: o.threads, keyframeTimes: starts }));
    args.push(
      ...segmentMuxArgs(
        starts.slice(1),
        o.segments[0]!.index,
        1 / fpsValue(r.fps),
        segmentPattern(o.outDir, r.name),
      ),
    );
  });
  if (o.audio && !muxAudio) {
    args.push('-map', o.audio.map ?? '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1');
    args.push('-af', audioFilter(endSec), '-t', t(endSec), ...aacArgs(o.audio));
    args.push(
      ...segmentMuxArgs(
        starts.slice(1),
        o.segments[0]!.index,
        1024 / o.audio.sampleRate,
        segmentPattern(o.outDir, 'audio'),
      ),
    );
  }
  return args;
}

export interface Mp4ArgsOptions {
  /**
   * The rendition's video segments: a list of paths (joined with the `concat:` protocol; fine up to a few
   * thousand segments) or `{ listFile }`, a text file with one path per line (`concatf:` protocol, any
   * length). TS is byte-concatenable, so timestamps stay exactly as encoded.
   */
  video: string[] | { listFile: string };
  /** The audio segments (same forms), or a muxed input, or none. */
  audio?: string[] | { listFile: string } | null;
  output: string;
  /** Move the moov atom to the front (default true). */
  faststart?: boolean;
}

function concatInput(x: string[] | { listFile: string }): string {
  return Array.isArray(x) ? `concat:${x.join('|')}` : `concatf:${x.listFile}`;
}

/**
 * Progressive MP4 by stream copy from the TS segments (+ audio segments). `-copyts` keeps the two inputs'
 * relative timing (the AAC priming becomes an edit list), and the constant TS offset is taken off.
 */
export function mp4Args(o: Mp4ArgsOptions): string[] {
  const args = ['-copyts', '-f', 'mpegts', '-i', concatInput(o.video)];
  if (o.audio) args.push('-f', 'mpegts', '-i', concatInput(o.audio));
  args.push('-map', '0:v:0');
  args.push('-map', o.audio ? '1:a:0' : '0:a:0?');
  args.push('-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-map_metadata', '-1');
  args.push('-output_ts_offset', t(-TS_OFFSET_SEC));
  if (o.faststart ?? true) args.push('-movflags', '+faststart');
  args.push('-f', 'mp4', '-y', o.output);
  return args;
}

export interface M4aArgsOptions {
  /** The audio track's TS segments (same forms as mp4Args' `video`). */
  audio: string[] | { listFile: string };
  output: string;
}

/**
 * Progressive audio-only download (`audio.m4a`) by stream copy from the audio track's TS segments: the
 * ADTS AAC is rewrapped for MP4, moov first.
 */
export function m4aArgs(o: M4aArgsOptions): string[] {
  return [
    '-copyts',
    '-f',
    'mpegts',
    '-i',
    concatInput(o.audio),
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
    o.output,
  ];
}

export interface RemuxArgsOptions {
  input: string;
  /** Target boundaries (output timeline seconds); each segment is cut at the first keyframe at or after one. */
  splitTimes: number[];
  outDir: string;
  name: string;
  /** Optional CSV written by the segment muxer (`file,start,end` per segment): the real boundaries. */
  segmentListFile?: string;
  /** What to copy: the main video (+ first audio, default), only the video, or only one audio stream. */
  streams?: 'both' | 'video' | 'audio';
  /** Input stream index of the audio to copy (streams 'audio'); default the first audio stream. */
  audioIndex?: number;
  /** The source's start time (probe startTime): output time 0 is the source's first timestamp. */
  startTimeSec?: number;
}

/**
 * Fast path for a web-ready H.264/AAC source: stream-copy video and/or audio into TS segments cut at
 * keyframes (for audio every frame is one). Boundaries land on the source's keyframes, so the playlist must
 * come from `segmentListFile`. Timestamps follow TS_OFFSET_SEC like every other builder here.
 */
export function remuxArgs(o: RemuxArgsOptions): string[] {
  const streams = o.streams ?? 'both';
  const maps =
    streams === 'video'
      ? ['-map', '0:v:0']
      : streams === 'audio'
        ? ['-map', o.audioIndex === undefined ? '0:a:0' : `0:${o.audioIndex}`]
        : ['-map', '0:v:0', '-map', '0:a:0?'];
  const args = ['-i', o.input, ...maps, '-c', 'copy', '-sn', '-dn', '-map_metadata', '-1'];
  const offset = TS_OFFSET_SEC - (o.startTimeSec ?? 0);
  args.push('-output_ts_offset', t(offset), '-muxdelay', '0', '-muxpreload', '0');
  args.push('-f', 'segment', '-segment_format', 'mpegts');
  if (o.splitTimes.length)
    args.push('-segment_times', o.splitTimes.map((s) => t(s + TS_OFFSET_SEC)).join(','));
  else args.push('-segment_time', '1000000000');
  if (o.segmentListFile) args.push('-segment_list', o.segmentListFile, '-segment_list_type', 'csv');
  args.push('-segment_start_number', '0', '-reset_timestamps', '0', segmentPattern(o.outDir, o.name));
  return args;
}

export interface CopyArgsOptions {
  input: string;
  /** Target boundaries (output timeline seconds), as in remuxArgs. */
  splitTimes: number[];
  outDir: string;
  /** Copy the main video to `${outDir}/${name}/`, its real boundaries to `segmentListFile` (CSV). */
  video?: { name: string; segmentListFile: string };
  /** Copy one audio stream (input stream index) to `${outDir}/${name}/`. */
  audio?: { index: number; name: string };
}

/**
 * The fast path's stream copies in one ffmpeg: video and audio segments from one read of the source (one
 * process start, which costs more than the copy itself for a minute of video).
 */
export function copyArgs(o: CopyArgsOptions): string[] {
  const seg = (name: string) => {
    const a = ['-output_ts_offset', t(TS_OFFSET_SEC), '-muxdelay', '0', '-muxpreload', '0'];
    a.push('-f', 'segment', '-segment_format', 'mpegts');
    if (o.splitTimes.length)
      a.push('-segment_times', o.splitTimes.map((s) => t(s + TS_OFFSET_SEC)).join(','));
    else a.push('-segment_time', '1000000000');
    return { a, out: segmentPattern(o.outDir, name) };
  };
  const args = ['-i', o.input];
  if (o.video) {
    const s = seg(o.video.name);
    args.push('-map', '0:v:0', '-c', 'copy', '-sn', '-dn', '-map_metadata', '-1', ...s.a);
    args.push('-segment_list', o.video.segmentListFile, '-segment_list_type', 'csv');
    args.push('-segment_start_number', '0', '-reset_timestamps', '0', s.out);
  }
  if (o.audio) {
    const s = seg(o.audio.name);
    args.push('-map', `0:${o.audio.index}`, '-c', 'copy', '-sn', '-dn', '-map_metadata', '-1', ...s.a);
    args.push('-segment_start_number', '0', '-reset_timestamps', '0', s.out);
  }
  if (!o.video && !o.audio) throw new Error('copyArgs: nothing to copy');
  return args;
}
