// Source files for the playable-in-a-second suites, made by ffmpeg from its test sources.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const ffmpeg = async (file: string, args: string[]) => {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, file], { timeout: 600_000 });
  return file;
};

/**
 * Web-ready: H.264 High yuv420p at `size`, 30 fps, a keyframe exactly every 2 s (no scene cuts), AAC-LC
 * stereo 48 kHz at 128 kb/s, moov first. Qualifies for the passthrough remux and the audio stream copy
 * under a top rendition of the same size whose bit rate is at least ~1.7 Mb/s.
 */
export const makeWebReady = (file: string, o: { duration: number; size?: string }) =>
  ffmpeg(file, [
    ...['-f', 'lavfi', '-i', `testsrc2=size=${o.size ?? '1280x720'}:rate=30:duration=${o.duration}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.duration}`],
    ...['-c:v', 'libx264', '-preset', 'superfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p'],
    ...['-b:v', '2500k', '-maxrate', '3000k', '-bufsize', '6000k'],
    ...['-g', '60', '-keyint_min', '60', '-sc_threshold', '0'],
    ...['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000', '-movflags', '+faststart'],
  ]);

/**
 * Variable frame rate (the media corpus's recipe, longer): `half` seconds at 15 fps, then `half` seconds at
 * 30 fps, in a 1/90000 time base; with a tone as long as the video.
 */
export const makeVfr = (file: string, o: { half: number; size?: string }) =>
  ffmpeg(file, [
    '-filter_complex',
    `testsrc2=s=${o.size ?? '640x360'}:r=15:d=${o.half}[a];testsrc2=s=${o.size ?? '640x360'}:r=30:d=${o.half}[b];[a][b]concat,settb=1/90000[v]`,
    ...['-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${2 * o.half}`],
    ...['-map', '[v]', '-map', '0:a', '-fps_mode', 'vfr'],
    ...['-c:v', 'libx264', '-preset', 'superfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2'],
  ]);

/** Needs a re-encode: MPEG-2 video at `size` (default 854x480), 25 fps, with AAC stereo, in MP4. */
export const makeMpeg2 = (file: string, o: { duration: number; size?: string }) =>
  ffmpeg(file, [
    ...['-f', 'lavfi', '-i', `testsrc2=size=${o.size ?? '854x480'}:rate=25:duration=${o.duration}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.duration}`],
    ...['-c:v', 'mpeg2video', '-b:v', '2000k', '-g', '25', '-c:a', 'aac', '-b:a', '128k', '-ac', '2'],
  ]);
