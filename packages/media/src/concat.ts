/**
 * Merges the parts of a live recording (nginx-rtmp / SRS: FLV or MP4 files cut by a reconnect or by
 * `record_interval`) into ONE MP4 source file, which the normal pipeline then transcodes.
 *
 * Copy mode (parts alike): ffmpeg's concat demuxer with `-c copy`. It places each part right after the
 * previous one (it subtracts each part's own start time), so the pause between two broadcasts is not kept
 * as frozen video. Where the next part starts is measured (the end of the part's last packet), not taken
 * from the container: a live recorder's FLV declares no length, and ffmpeg's estimate (the last video
 * packet) would make the next part's audio collide with this part's AAC tail. At each joint the picture
 * then waits for that tail: one frame plus a few tens of ms. MP4, not Matroska: ffmpeg 5.1's Matroska muxer
 * writes a broken file from the 5-byte AAC AudioSpecificConfig (with the SBR sync extension) that ffmpeg's
 * own AAC encoder puts in a broadcaster's FLV. MP4 keeps one set of H.264 parameter sets, so parts whose
 * SPS/PPS differ are re-encoded rather than copied.
 *
 * Re-encode mode (a reconnect with other encoder settings): the concat filter, every part scaled and
 * padded to the first part's size at its frame rate, audio at 48 kHz stereo; a part without audio gets
 * silence of its own length (and a part without video black frames), so sound and picture stay in step.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isMediaError, MediaError } from './errors';
import { isProbeFailure, type MediaInfo, tryProbe } from './probe';
import { runFfmpeg, runFfprobe } from './runner';

export interface ConcatOptions {
  /** Hard limit for each ffmpeg/ffprobe process started by the call. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Run ffmpeg/ffprobe under `nice -n` (0..19). */
  nice?: number;
  /** Work dir for the list file (default the OS temp dir); a subdirectory is made and removed. */
  tmpDir?: string;
  /**
   * The output container: `mp4` (default; see above) or `matroska`, for one MPEG-TS remuxed alone (its ADTS
   * audio gives a plain 2-byte config, and Matroska keeps the TS's own stream start times as they are).
   */
  format?: 'mp4' | 'matroska';
}

export interface ConcatResult {
  mode: 'copy' | 'reencode';
  /** Of the output, as ffprobe reads it. */
  durationSec: number;
  /** Packets of the output's first video stream (one per frame); null without video. */
  videoFrames: number | null;
  audioPackets?: number | null;
  sizeBytes: number;
  ms: number;
  /** Why re-encoded, when it was. */
  reason?: string;
}

/** Re-encode settings: the output is a source for the pipeline, so near-transparent quality. */
const REENCODE_VIDEO = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p'];
const REENCODE_AUDIO = ['-c:a', 'aac', '-b:a', '192k'];
const SAR_FIX = "scale=w='max(1,round(iw*sar))':h=ih,setsar=1";

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
const n6 = (v: number) => String(Math.round(v * 1e6) / 1e6);

interface Part {
  path: string;
  info: MediaInfo;
  /** Time bases of the first video and first audio stream (`1/1000`), null when absent. */
  videoTb: string | null;
  audioTb: string | null;
  /** The first video stream's codec configuration (avcC/hvcC as ffprobe dumps it): MP4 keeps only one. */
  videoConfig?: string | null;
}

/**
 * One entry of a concat demuxer list: inside single quotes all is literal, so a quote is closed, escaped
 * and reopened. `spanSec`, when known, is where the next part starts (after this part's start).
 */
export function concatListLine(path: string, spanSec?: number | null): string {
  const file = `file '${path.replaceAll("'", "'\\''")}'`;
  return spanSec ? `${file}\nduration ${n6(spanSec)}` : file;
}

/** How much of a part's end `partSpan` reads. */
const TAIL_SEC = 30;

/**
 * Seconds from a part's start to the end of its last packet (read from its last TAIL_SEC), or null. The
 * concat demuxer otherwise starts the next part after the duration the container declares: FLV's
 * metadata overshoots with B-frames (a 2-3 frame gap at the joint) and a recorder's unfinished file
 * has none, so the estimate falls short and the audio of two parts overlaps by a frame.
 */
async function partSpan(part: Part, opts: ConcatOptions): Promise<number | null> {
  const start = part.info.startTime;
  if (!(part.info.duration > 0)) return null;
  const from = Math.max(0, start + part.info.duration - TAIL_SEC);
  let stdout: string;
  try {
    ({ stdout } = await runFfprobe(
      [
        ...['-v', 'error', '-read_intervals', `${n6(from)}%`],
        ...['-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', part.path],
      ],
      { timeoutMs: opts.timeoutMs, signal: opts.signal, nice: opts.nice },
    ));
  } catch (e) {
    // A part that cannot seek, or whose declared length is so far off that its "tail" is hours long:
    // the demuxer's own placement is still right to within a frame or two.
    if (isMediaError(e) && (e.code === 'ffmpeg_failed' || e.code === 'output_too_large')) return null;
    throw e;
  }
  let end = Number.NEGATIVE_INFINITY;
  for (const line of stdout.split('\n')) {
    const [pts, dur] = line.split(',');
    const e = Number(pts) + (Number(dur) || 0);
    if (Number.isFinite(e) && e > end) end = e;
  }
  return end > start ? end - start : null;
}

/**
 * Why the parts cannot be joined by copying their packets, or null when they can. Beyond the codec
 * parameters the concat demuxer needs the same stream order (it matches streams by index) and the same
 * time bases (it does not rescale: an MP4 part after FLV parts lands minutes away).
 */
export function copyBlocker(
  parts: Pick<Part, 'info' | 'videoTb' | 'audioTb' | 'videoConfig'>[],
): string | null {
  const first = parts[0];
  if (!first) return 'no parts';
  const fv = first.info.video;
  const fa = first.info.audio[0] ?? null;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    const v = p.info.video;
    const a = p.info.audio[0] ?? null;
    const which = `part ${i + 1} differs from part 1 in`;
    if (!!v !== !!fv) return `${which} having video`;
    if (!!a !== !!fa) return `${which} having audio`;
    if (v && fv) {
      if (v.codec !== fv.codec) return `${which} video codec (${v.codec} vs ${fv.codec})`;
      if (v.codedWidth !== fv.codedWidth || v.codedHeight !== fv.codedHeight || v.rotation !== fv.rotation)
        return `${which} size (${v.width}x${v.height} vs ${fv.width}x${fv.height})`;
      if (v.pixFmt !== fv.pixFmt) return `${which} pixel format (${v.pixFmt} vs ${fv.pixFmt})`;
      if (v.index !== fv.index) return `${which} stream order`;
      if (p.videoTb !== first.videoTb) return `${which} video time base (${p.videoTb} vs ${first.videoTb})`;
      if ((p.videoConfig ?? null) !== (first.videoConfig ?? null)) return `${which} video parameter sets`;
    }
    if (a && fa) {
      if (a.codec !== fa.codec) return `${which} audio codec (${a.codec} vs ${fa.codec})`;
      // HE-AAC and AAC-LC share codec and rate but not the decoder setup the output keeps from part 1.
      if (a.profile !== fa.profile) return `${which} audio profile (${a.profile} vs ${fa.profile})`;
      if (a.sampleRate !== fa.sampleRate) return `${which} sample rate (${a.sampleRate} vs ${fa.sampleRate})`;
      if (a.channels !== fa.channels) return `${which} channels (${a.channels} vs ${fa.channels})`;
      if (a.index !== fa.index) return `${which} stream order`;
      if (p.audioTb !== first.audioTb) return `${which} audio time base (${p.audioTb} vs ${first.audioTb})`;
    }
  }
  return null;
}

/** copyBlocker reasons a remux of each part removes. */
const PACKING = /stream order|time base/;

/** One part remuxed to MP4 with its first video and first audio stream, in that order. */
async function repack(
  input: string,
  output: string,
  run: { timeoutMs: number; signal?: AbortSignal; nice?: number },
): Promise<string> {
  await runFfmpeg(
    ['-v', 'error', '-i', input, '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy', '-f', 'mp4', output],
    run,
  );
  return output;
}

/** NTSC-style rates as exact fractions (29.97 → 30000/1001), others as they are. */
function fpsExpr(fps: number | null): string {
  if (!fps || !Number.isFinite(fps) || fps <= 0) return '25';
  const ntsc = Math.round(fps * 1.001);
  if (Math.abs((ntsc * 1000) / 1001 - fps) < 0.005 && Math.abs(ntsc - fps) > 0.01)
    return `${ntsc * 1000}/1001`;
  return n6(fps);
}

/**
 * The `-filter_complex` graph of re-encode mode (inputs are the parts in order, `-i` each). `lengths`: each
 * part's length in seconds (its picture's when it has one): the audio of a part is cut or padded to it, so
 * one part's AAC overhang (priming, the last frame's tail) does not shift the picture of the next.
 */
export function buildReencodeGraph(
  infos: MediaInfo[],
  lengths: number[],
): { graph: string; video: boolean; audio: boolean } {
  const ref = infos.find((i) => i.video)?.video ?? null;
  const video = ref !== null;
  const audio = infos.some((i) => i.audio.length > 0);
  const w = ref ? even(ref.height * (ref.displayAspect || ref.width / ref.height)) : 0;
  const h = ref ? even(ref.height) : 0;
  const fps = fpsExpr(ref?.fps ?? null);
  const chains: string[] = [];
  const pads: string[] = [];
  infos.forEach((info, i) => {
    const d = n6(Math.max(0.04, lengths[i] ?? info.duration));
    if (video) {
      chains.push(
        info.video
          ? `[${i}:v:0]setpts=PTS-STARTPTS,fps=${fps},${SAR_FIX},` +
              `scale=${w}:${h}:force_original_aspect_ratio=decrease,` +
              `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:black,format=yuv420p[v${i}]`
          : `color=c=black:s=${w}x${h}:r=${fps}:d=${d},format=yuv420p[v${i}]`,
      );
      pads.push(`[v${i}]`);
    }
    if (audio) {
      chains.push(
        info.audio.length
          ? `[${i}:a:0]asetpts=PTS-STARTPTS,aresample=48000,` +
              `aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,apad,atrim=duration=${d}[a${i}]`
          : `anullsrc=r=48000:cl=stereo,atrim=duration=${d},aformat=sample_fmts=fltp[a${i}]`,
      );
      pads.push(`[a${i}]`);
    }
  });
  const outs = `${video ? '[v]' : ''}${audio ? '[a]' : ''}`;
  chains.push(`${pads.join('')}concat=n=${infos.length}:v=${video ? 1 : 0}:a=${audio ? 1 : 0}${outs}`);
  return { graph: chains.join(';'), video, audio };
}

async function streamTimeBases(
  path: string,
  opts: ConcatOptions,
): Promise<{ video: string | null; audio: string | null; videoConfig: string | null }> {
  const { stdout } = await runFfprobe(
    [
      '-v',
      'error',
      '-show_data',
      '-show_entries',
      'stream=codec_type,time_base,extradata',
      '-of',
      'json',
      path,
    ],
    { timeoutMs: opts.timeoutMs, signal: opts.signal, nice: opts.nice },
  );
  const streams = (
    JSON.parse(stdout) as { streams?: { codec_type?: string; time_base?: string; extradata?: string }[] }
  ).streams;
  const first = (kind: string) => streams?.find((s) => s.codec_type === kind);
  return {
    video: first('video')?.time_base ?? null,
    audio: first('audio')?.time_base ?? null,
    videoConfig: first('video')?.extradata ?? null,
  };
}

async function probePart(path: string, i: number, n: number, opts: ConcatOptions): Promise<Part> {
  const name = `concat: part ${i + 1} of ${n} (${basename(path)})`;
  if (/[\r\n]/.test(path)) throw new MediaError('invalid_input', `${name}: a line break in the path`);
  let r: Awaited<ReturnType<typeof tryProbe>>;
  try {
    r = await tryProbe(path, { timeoutMs: opts.timeoutMs, signal: opts.signal, nice: opts.nice });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new MediaError('invalid_input', `${name}: no such file`, { tool: 'ffprobe', cause: e });
    throw e;
  }
  if (isProbeFailure(r)) {
    throw new MediaError('invalid_input', `${name} is not readable media: ${r.message}`, {
      tool: 'ffprobe',
      stderrTail: r.stderr,
    });
  }
  if (!r.video && r.audio.length === 0)
    throw new MediaError('invalid_input', `${name} has neither video nor audio`, { tool: 'ffprobe' });
  const tb = await streamTimeBases(path, opts);
  return {
    path,
    info: r,
    videoTb: r.video ? tb.video : null,
    audioTb: r.audio.length ? tb.audio : null,
    videoConfig: r.video ? tb.videoConfig : null,
  };
}

/**
 * A part's length for re-encoding: its picture's (frames counted by demuxing, no decode, divided by its
 * frame rate: the container's duration includes the audio's overhang), else its audio's.
 */
async function partLength(part: Part, opts: ConcatOptions): Promise<number> {
  const v = part.info.video;
  if (!v?.fps) return part.info.duration;
  const c = await countPackets(part.path, opts);
  return c.videoFrames ? c.videoFrames / v.fps : part.info.duration;
}

async function countPackets(
  path: string,
  opts: ConcatOptions,
): Promise<{ durationSec: number; videoFrames: number | null; audioPackets: number | null }> {
  const { stdout } = await runFfprobe(
    [
      ...['-v', 'error', '-count_packets'],
      ...['-show_entries', 'stream=codec_type,nb_read_packets:format=duration', '-of', 'json', path],
    ],
    { timeoutMs: opts.timeoutMs, signal: opts.signal, nice: opts.nice },
  );
  const data = JSON.parse(stdout) as {
    streams?: { codec_type?: string; nb_read_packets?: string }[];
    format?: { duration?: string };
  };
  const count = (kind: string) => {
    const s = data.streams?.find((x) => x.codec_type === kind);
    return s?.nb_read_packets === undefined ? null : Number(s.nb_read_packets);
  };
  return {
    durationSec: Number(data.format?.duration ?? 0) || 0,
    videoFrames: count('video'),
    audioPackets: count('audio'),
  };
}

/**
 * Joins `inputs` (in order) into one MP4 file at `output`, whatever its extension. The result is
 * written under a temporary name beside `output` and renamed, so `output` never holds half a file. Rejects
 * with `MediaError`: `invalid_input` (naming the part) when a part is not readable media, else the runner's
 * codes.
 */
export async function concatMedia(
  inputs: string[],
  output: string,
  opts: ConcatOptions,
): Promise<ConcatResult> {
  const started = performance.now();
  if (inputs.length === 0) throw new MediaError('invalid_input', 'concat: no parts given');
  let paths = inputs.map((p) => resolve(p));
  let parts = await Promise.all(paths.map((p, i) => probePart(p, i, paths.length, opts)));
  let reason = copyBlocker(parts);
  const out = resolve(output);
  const tmpOut = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.tmp`);
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'vod-concat-'));
  const run = { timeoutMs: opts.timeoutMs, signal: opts.signal, nice: opts.nice };
  try {
    // Parts that differ only in how they are packed (nginx-rtmp's split files list audio first when the audio
    // came first; FLV and MP4 time bases): each remuxed alike (MP4, video then audio), then joined by
    // copy all the same. A remux reads and writes the bytes once, far cheaper than a re-encode.
    if (reason !== null && PACKING.test(reason)) {
      paths = await Promise.all(paths.map((p, i) => repack(p, join(work, `part-${i}.mp4`), run)));
      parts = await Promise.all(paths.map((p, i) => probePart(p, i, paths.length, opts)));
      reason = copyBlocker(parts);
    }
    if (reason === null) {
      const list = join(work, 'list.txt');
      const spans = await Promise.all(parts.map((p) => partSpan(p, opts)));
      await writeFile(list, `${paths.map((p, i) => concatListLine(p, spans[i])).join('\n')}\n`);
      const maps = ['-map', '0:v:0?', '-map', '0:a:0?'];
      const input = ['-f', 'concat', '-safe', '0', '-i', list];
      await runFfmpeg(
        ['-v', 'error', ...input, ...maps, '-c', 'copy', '-f', opts.format ?? 'mp4', tmpOut],
        run,
      );
    } else {
      const lengths = await Promise.all(parts.map((p) => partLength(p, opts)));
      const g = buildReencodeGraph(
        parts.map((p) => p.info),
        lengths,
      );
      const args = ['-v', 'error', ...paths.flatMap((p) => ['-i', p]), '-filter_complex', g.graph];
      if (g.video) args.push('-map', '[v]', ...REENCODE_VIDEO);
      if (g.audio) args.push('-map', '[a]', ...REENCODE_AUDIO);
      await runFfmpeg([...args, '-f', opts.format ?? 'mp4', tmpOut], run);
    }
    const counts = await countPackets(tmpOut, opts);
    await rename(tmpOut, out);
    const { size } = await stat(out);
    const res: ConcatResult = {
      mode: reason === null ? 'copy' : 'reencode',
      ...counts,
      sizeBytes: size,
      ms: Math.round(performance.now() - started),
    };
    if (reason !== null) res.reason = reason;
    return res;
  } finally {
    await rm(tmpOut, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}
