import { readFileSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { Upload } from 'tus-js-client';
import { run } from './proc';

/**
 * Video codec of a generated clip: `h264` web-ready (x264 High, CRF 23, veryfast), `h264-fast` the same
 * with x264 ultrafast (cheap to make, for long clips), `hevc` x265 ultrafast, `mpeg2` MPEG-2 video in MP4.
 */
export type ClipCodec = 'h264' | 'h264-fast' | 'hevc' | 'mpeg2';

const VIDEO_ARGS: Record<ClipCodec, string[]> = {
  h264: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23'],
  'h264-fast': ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23'],
  hevc: [
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-crf',
    '26',
    '-tag:v',
    'hvc1',
    '-x265-params',
    'log-level=error',
  ],
  mpeg2: ['-c:v', 'mpeg2video', '-b:v', '12M', '-maxrate', '15M', '-bufsize', '8M'],
};

/** The file name a clip is cached under in the work directory (h264 keeps the name bench/ladder.ts used). */
export function clipName(codec: ClipCodec, durationSec: number): string {
  return codec === 'h264'
    ? `ladder-src-${durationSec}s-1080p30.mp4`
    : `clip-${codec}-${durationSec}s-1080p30.mp4`;
}

/** ffmpeg arguments for a testsrc2 + light temporal noise (so encoders have real work) 1080p30 clip, 2 s GOP, stereo AAC. */
export function clipArgs(codec: ClipCodec, durationSec: number, out: string): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=30:d=${durationSec},noise=alls=3:allf=t`],
    ...['-f', 'lavfi', '-i', `sine=f=440:d=${durationSec}:sample_rate=48000`],
    ...['-filter_complex', '[1:a]aformat=channel_layouts=stereo[a]', '-map', '0:v', '-map', '[a]'],
    ...VIDEO_ARGS[codec],
    ...['-g', '60', '-pix_fmt', 'yuv420p'],
    ...[
      '-c:a',
      'aac',
      '-b:a',
      '192k',
      '-movflags',
      '+faststart',
      '-t',
      String(durationSec),
      '-f',
      'mp4',
      out,
    ],
  ];
}

/** Makes the clip once under `workDir` (kept there for later runs); returns its path and whether it was made now. */
export async function ensureClip(
  workDir: string,
  codec: ClipCodec,
  durationSec: number,
): Promise<{ file: string; how: 'reused' | 'created' }> {
  const file = path.join(workDir, clipName(codec, durationSec));
  if ((await stat(file).catch(() => undefined))?.size) return { file, how: 'reused' };
  await mkdir(workDir, { recursive: true });
  const partial = `${file}.partial.mp4`;
  const r = await run('ffmpeg', clipArgs(codec, durationSec, partial));
  if (r.code !== 0) throw new Error(`clip generation failed: ${r.stderr.slice(-2000)}`);
  await rename(partial, file);
  return { file, how: 'created' };
}

/** Whether this ffmpeg has an encoder (e.g. libx265). */
export async function hasEncoder(name: string): Promise<boolean> {
  const r = await run('ffmpeg', ['-hide_banner', '-encoders']);
  return new RegExp(`^\\s*V\\S*\\s+${name}\\s`, 'm').test(r.stdout);
}

/**
 * tus upload with tus-js-client of the whole file in memory: the creation POST, then ONE PATCH. Resolves
 * when that PATCH has returned (the upload is complete), with `performance.now()` and `Date.now()` then.
 */
export function tusUpload(
  file: string,
  created: { url: string; headers: Record<string, string> },
): Promise<{ at: number; epochMs: number }> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(readFileSync(file), {
      endpoint: created.url,
      headers: created.headers,
      chunkSize: Number.POSITIVE_INFINITY,
      metadata: { filename: path.basename(file), filetype: 'video/mp4' },
      retryDelays: null,
      storeFingerprintForResuming: false,
      onSuccess: () => resolve({ at: performance.now(), epochMs: Date.now() }),
      onError: reject,
    });
    upload.start();
  });
}

/** The file name a live recording (bench/recording.ts) is cached under in the work directory. */
export const recordingName = (minutes: number) => `recording-${minutes}min-1080p30.flv`;

/**
 * ffmpeg arguments for a recording as nginx-rtmp writes it from a typical live encoder: FLV, H.264 (x264
 * veryfast, 2 s GOP, ~5 Mb/s constrained, as a broadcaster's encoder sends) 1920×1080 30 fps of a moving
 * testsrc2 with temporal noise, AAC 48 kHz stereo.
 */
export function recordingArgs(minutes: number, out: string): string[] {
  const d = minutes * 60;
  return [
    ...['-hide_banner', '-nostdin', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=30:d=${d},noise=alls=3:allf=t`],
    ...['-f', 'lavfi', '-i', `sine=f=440:d=${d}:sample_rate=48000`],
    ...['-filter_complex', '[1:a]aformat=channel_layouts=stereo[a]', '-map', '0:v', '-map', '[a]'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p'],
    ...['-b:v', '5M', '-maxrate', '5M', '-bufsize', '10M'],
    ...['-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2'],
    ...['-t', String(d), '-f', 'flv', out],
  ];
}

/** Makes the recording once under `workDir` (kept for later runs); returns its path and whether it was made now. */
export async function ensureRecording(
  workDir: string,
  minutes: number,
): Promise<{ file: string; how: 'reused' | 'created' }> {
  const file = path.join(workDir, recordingName(minutes));
  if ((await stat(file).catch(() => undefined))?.size) return { file, how: 'reused' };
  await mkdir(workDir, { recursive: true });
  const partial = `${file}.partial.flv`;
  const r = await run('ffmpeg', recordingArgs(minutes, partial));
  if (r.code !== 0) throw new Error(`recording generation failed: ${r.stderr.slice(-2000)}`);
  await rename(partial, file);
  return { file, how: 'created' };
}
