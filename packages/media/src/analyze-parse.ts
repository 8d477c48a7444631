/**
 * Pure parsing for `analyzeMedia`: one function per kind of ffmpeg stderr line (blackdetect, freezedetect,
 * silencedetect, scdet, cropdetect, idet, ebur128's summary, showinfo, the output stream banner), a
 * collector that feeds every line to them, and the arithmetic that turns the collected facts into a
 * `QcResult` (time origin, open spans, black subtracted from freeze, crop vote, interlace verdict).
 */

/** Seconds of the source, from its first video frame (first audio sample for audio-only), rounded to ms. */
export interface Span {
  start: number;
  end: number;
}

export interface QcThresholds {
  /** blackdetect `d`: shortest black span, seconds. */
  blackMinSec: number;
  /** blackdetect `pix_th`: a pixel darker than this (0..1) is black. */
  blackPixel: number;
  /** blackdetect `pic_th`: a picture with at least this share of black pixels is black. */
  blackPicture: number;
  /** freezedetect `n`, dB. */
  freezeNoiseDb: number;
  /** freezedetect `d`: shortest freeze, seconds. */
  freezeMinSec: number;
  /** silencedetect `n`, dB. */
  silenceNoiseDb: number;
  /** silencedetect `d`: shortest silence, seconds. */
  silenceMinSec: number;
  /** scdet `threshold`, 0..100. */
  sceneThreshold: number;
}

export const DEFAULT_QC_THRESHOLDS: QcThresholds = {
  blackMinSec: 0.5,
  blackPixel: 0.1,
  blackPicture: 0.98,
  freezeNoiseDb: -60,
  freezeMinSec: 1,
  silenceNoiseDb: -50,
  silenceMinSec: 1,
  sceneThreshold: 10,
};

export interface IdetCounts {
  tff: number;
  bff: number;
  progressive: number;
  undetermined: number;
}

export interface Loudness {
  integratedLufs: number;
  lra: number;
  truePeakDbtp: number;
}

export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface QcResult {
  black: Span[];
  freeze: Span[];
  silence: Span[];
  /** null without audio. */
  loudness: Loudness | null;
  interlaced: boolean;
  /** idet's multi-frame counts; null without video. */
  idet: IdetCounts | null;
  /** In source pixels (after rotation); null when nothing is to be cropped. */
  crop: Crop | null;
  sceneChanges: number;
  /** Times of the scene changes (the first `MAX_SCENE_TIMES`). */
  sceneTimes: number[];
}

/** Bound on `sceneTimes` (the count in `sceneChanges` is not bounded). */
export const MAX_SCENE_TIMES = 1000;
/** Bound on the distinct per-frame crops counted (a noisy picture could make one per frame). */
export const MAX_CROP_KEYS = 4096;
/** Floor for a true peak of digital silence (ebur128 says -inf, which JSON cannot carry). */
export const SILENT_PEAK_DBTP = -144;
/** idet: fewer interlaced (TFF + BFF) frames than this is never called interlaced. */
export const IDET_MIN_FRAMES = 10;

const NUM = '(-?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:e[-+]?\\d+)?|-?inf|nan)';

function num(s: string | undefined): number {
  if (s === undefined) return Number.NaN;
  if (/^-inf/i.test(s)) return Number.NEGATIVE_INFINITY;
  if (/^inf/i.test(s)) return Number.POSITIVE_INFINITY;
  return Number(s);
}

/** `black_start:2 black_end:4 black_duration:2` → {start, end}. */
export function parseBlackLine(line: string): { start: number; end: number } | null {
  const m = new RegExp(`black_start:${NUM}\\s+black_end:${NUM}`).exec(line);
  return m ? { start: num(m[1]), end: num(m[2]) } : null;
}

/** `lavfi.freezedetect.freeze_start: 8` / `…freeze_end: 10` (`freeze_duration` lines are ignored). */
export function parseFreezeLine(line: string): { edge: 'start' | 'end'; t: number } | null {
  const m = new RegExp(`lavfi\\.freezedetect\\.freeze_(start|end):\\s*${NUM}`).exec(line);
  return m ? { edge: m[1] as 'start' | 'end', t: num(m[2]) } : null;
}

/** `silence_start: 5.01` / `silence_end: 7.01 | silence_duration: 2`. */
export function parseSilenceLine(line: string): { edge: 'start' | 'end'; t: number } | null {
  const m = new RegExp(`silence_(start|end):\\s*${NUM}`).exec(line);
  return m ? { edge: m[1] as 'start' | 'end', t: num(m[2]) } : null;
}

/** `lavfi.scd.score: 40.862, lavfi.scd.time: 2` → 2. */
export function parseSceneLine(line: string): number | null {
  const m = new RegExp(`lavfi\\.scd\\.score:\\s*${NUM},\\s*lavfi\\.scd\\.time:\\s*${NUM}`).exec(line);
  return m ? num(m[2]) : null;
}

/** cropdetect's per-frame line (`… crop=1280:540:0:90`) → the crop, or null (also for a negative size). */
export function parseCropLine(line: string): Crop | null {
  const m = /\bx1:-?\d+ .*\bcrop=(-?\d+):(-?\d+):(-?\d+):(-?\d+)/.exec(line);
  if (!m) return null;
  const [width, height, x, y] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  return width > 0 && height > 0 && x >= 0 && y >= 0 ? { x, y, width, height } : null;
}

/** idet's `Multi frame detection: TFF: 149 BFF: 81 Progressive: 70 Undetermined: 0`. */
export function parseIdetLine(line: string): IdetCounts | null {
  const m =
    /Multi frame detection:\s*TFF:\s*(\d+)\s+BFF:\s*(\d+)\s+Progressive:\s*(\d+)\s+Undetermined:\s*(\d+)/.exec(
      line,
    );
  if (!m) return null;
  return { tff: Number(m[1]), bff: Number(m[2]), progressive: Number(m[3]), undetermined: Number(m[4]) };
}

/** showinfo's frame line (`n:   0 pts: 2090 pts_time:0.0232 … s:320x240 …`). */
export function parseShowinfoLine(line: string): { n: number; t: number } | null {
  const m = new RegExp(`\\bn:\\s*(\\d+)\\s+pts:\\s*-?\\d+\\s+pts_time:${NUM}`).exec(line);
  return m ? { n: Number(m[1]), t: num(m[2]) } : null;
}

/** The banner line of the QC sink (`Stream #0:0: Video: wrapped_avframe, …, 1920x1080 […], 30 fps, …`). */
export function parseQcStreamLine(
  line: string,
): { width: number; height: number; fps: number | null } | null {
  const m = /Stream #\d+:\d+.*: Video: wrapped_avframe\b.*?, (\d+)x(\d+)\b/.exec(line);
  if (!m) return null;
  const f = /, ([\d.]+) fps\b/.exec(line);
  const fps = f ? Number(f[1]) : Number.NaN;
  return { width: Number(m[1]), height: Number(m[2]), fps: fps > 0 && fps < 1000 ? fps : null };
}

/** What a run's stderr told us, before any arithmetic. Times are ffmpeg's (from the input's start). */
export interface QcLog {
  black: { start: number; end: number }[];
  /** `end` null: still open at the end of the file. */
  freeze: { start: number; end: number | null }[];
  silence: { start: number; end: number | null }[];
  sceneTimes: number[];
  sceneCount: number;
  /** Per-frame crops, counted by `w:h:x:y`. */
  crops: Map<string, number>;
  idet: IdetCounts | null;
  /** The last complete ebur128 summary (ffmpeg may print an empty one when it rebuilds the graph). */
  loudness: Loudness | null;
  /** pts_time of each frame that went through showinfo, by index. */
  frameTimes: number[];
  video: { width: number; height: number; fps: number | null } | null;
}

function openSpan(list: { start: number; end: number | null }[], edge: 'start' | 'end', t: number): void {
  const last = list.at(-1);
  if (edge === 'start') {
    if (!last || last.end !== null) list.push({ start: t, end: null });
  } else if (last && last.end === null) {
    last.end = t;
  }
}

/** Feeds stderr lines; `log` holds what was found so far. `onFrameTime` sees each showinfo time. */
export function createQcLogParser(onFrameTime?: (n: number, t: number) => void): {
  line(line: string): void;
  log: QcLog;
} {
  const log: QcLog = {
    black: [],
    freeze: [],
    silence: [],
    sceneTimes: [],
    sceneCount: 0,
    crops: new Map(),
    idet: null,
    loudness: null,
    frameTimes: [],
    video: null,
  };
  let summary: Partial<Loudness> | null = null;
  const line = (l: string): void => {
    if (l.includes('pts_time:')) {
      const f = parseShowinfoLine(l);
      if (f) {
        log.frameTimes[f.n] = f.t;
        onFrameTime?.(f.n, f.t);
      }
      return;
    }
    if (l.includes(' crop=')) {
      const c = parseCropLine(l);
      if (c) {
        const key = `${c.width}:${c.height}:${c.x}:${c.y}`;
        const n = log.crops.get(key);
        if (n !== undefined || log.crops.size < MAX_CROP_KEYS) log.crops.set(key, (n ?? 0) + 1);
      }
      return;
    }
    if (summary) {
      const m = new RegExp(`^\\s*(I|LRA|Peak):\\s*${NUM}`).exec(l);
      if (m?.[1] === 'I') summary.integratedLufs = num(m[2]);
      else if (m?.[1] === 'LRA') summary.lra = num(m[2]);
      else if (m?.[1] === 'Peak') {
        summary.truePeakDbtp = Math.max(SILENT_PEAK_DBTP, num(m[2]));
        if (Number.isFinite(summary.integratedLufs) && Number.isFinite(summary.lra)) {
          log.loudness = summary as Loudness;
        }
        summary = null;
      }
      return;
    }
    if (/ebur128.*\] Summary:/.test(l)) {
      summary = {};
      return;
    }
    const black = parseBlackLine(l);
    if (black) {
      log.black.push(black);
      return;
    }
    const freeze = parseFreezeLine(l);
    if (freeze) {
      openSpan(log.freeze, freeze.edge, freeze.t);
      return;
    }
    const silence = parseSilenceLine(l);
    if (silence) {
      openSpan(log.silence, silence.edge, silence.t);
      return;
    }
    const scene = parseSceneLine(l);
    if (scene !== null) {
      log.sceneCount++;
      if (log.sceneTimes.length < MAX_SCENE_TIMES) log.sceneTimes.push(scene);
      return;
    }
    const idet = parseIdetLine(l);
    if (idet) log.idet = idet;
    else if (!log.video) log.video = parseQcStreamLine(l);
  };
  return { line, log };
}

/** Seconds rounded to ms, and never -0. */
export function roundToMs(t: number): number {
  return Math.round(t * 1000) / 1000 + 0;
}

/** `spans` minus `holes` (both sorted, non-overlapping within themselves); pieces shorter than `minSec` go. */
export function subtractSpans(spans: Span[], holes: Span[], minSec = 0): Span[] {
  const out: Span[] = [];
  for (const s of spans) {
    let pieces: Span[] = [s];
    for (const h of holes) {
      pieces = pieces.flatMap((p) => {
        if (h.end <= p.start || h.start >= p.end) return [p];
        const left = { start: p.start, end: h.start };
        const right = { start: h.end, end: p.end };
        return [left, right].filter((x) => x.end > x.start);
      });
    }
    out.push(...pieces.filter((p) => p.end - p.start >= minSec - 1e-9));
  }
  return out;
}

/**
 * Interlaced when idet's multi-frame detection calls more frames interlaced (TFF + BFF) than progressive,
 * at least `IDET_MIN_FRAMES` of them, AND one field order dominates (at least 3× the other): real
 * interlaced video has one field order, whereas the false hits idet makes on sharp, fast-moving
 * progressive pictures (synthetic test patterns, fine text) split between TFF and BFF.
 */
export function isInterlaced(c: IdetCounts | null): boolean {
  if (!c) return false;
  const inter = c.tff + c.bff;
  const major = Math.max(c.tff, c.bff);
  const minor = Math.min(c.tff, c.bff);
  return inter >= IDET_MIN_FRAMES && inter > c.progressive && major >= 3 * minor;
}

/** The crop seen in most frames; null when none was seen or it is the whole picture. */
export function voteCrop(
  crops: Map<string, number>,
  frame: { width: number; height: number } | null,
): Crop | null {
  let best: string | null = null;
  let bestN = 0;
  for (const [k, n] of crops) {
    if (n > bestN) {
      best = k;
      bestN = n;
    }
  }
  if (!best) return null;
  const [width, height, x, y] = best.split(':').map(Number) as [number, number, number, number];
  if (frame && x === 0 && y === 0 && width >= frame.width && height >= frame.height) return null;
  return { x, y, width, height };
}

export interface FinishOptions {
  durationSec: number;
  hasVideo: boolean;
  hasAudio: boolean;
  thresholds: QcThresholds;
}

/**
 * The result from the log. Origin: the first video frame's time (ffmpeg's times start at the input's
 * start, which an earlier audio stream can set); audio-only runs are rebased by the filter graph.
 * A span still open at the end ends at the duration; so does a black span whose reported end is the last
 * frame's time (blackdetect closes at EOF with the last frame's start, one frame short).
 */
export function finishQc(log: QcLog, o: FinishOptions): QcResult {
  const origin = o.hasVideo && Number.isFinite(log.frameTimes[0]) ? (log.frameTimes[0] as number) : 0;
  const end = Math.max(0, o.durationSec - origin);
  const rel = (t: number) => roundToMs(Math.min(end, Math.max(0, t - origin)));
  const frameDur = log.video?.fps ? 1 / log.video.fps : 0.04;
  const close = (spans: { start: number; end: number | null }[]): Span[] =>
    spans.map((s) => ({ start: rel(s.start), end: s.end === null ? roundToMs(end) : rel(s.end) }));
  const black = close(
    log.black.map((b) => ({ start: b.start, end: b.end - origin + 1.5 * frameDur >= end ? null : b.end })),
  );
  const freeze = subtractSpans(close(log.freeze), black, o.thresholds.freezeMinSec);
  return {
    black: o.hasVideo ? black : [],
    freeze: o.hasVideo ? freeze : [],
    silence: o.hasAudio ? close(log.silence) : [],
    loudness: o.hasAudio ? log.loudness : null,
    interlaced: o.hasVideo && isInterlaced(log.idet),
    idet: o.hasVideo ? log.idet : null,
    crop: o.hasVideo ? voteCrop(log.crops, log.video) : null,
    sceneChanges: o.hasVideo ? log.sceneCount : 0,
    sceneTimes: o.hasVideo ? log.sceneTimes.map(rel) : [],
  };
}
