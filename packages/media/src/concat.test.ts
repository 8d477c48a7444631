import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatListLine, concatMedia } from './concat';
import { MediaError } from './errors';

const run = promisify(execFile);
const ff = (...args: string[]) =>
  run('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], {
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
const ffprobeJson = async (...args: string[]) =>
  JSON.parse((await run('ffprobe', ['-v', 'error', '-of', 'json', ...args])).stdout) as {
    streams?: Record<string, string | number | Record<string, string>>[];
    packets?: { pts_time?: string }[];
    format?: { duration?: string; format_name?: string };
  };

let dir = '';
const clip = (name: string) => join(dir, name);
const opts = { timeoutMs: 60_000 };

/**
 * A part as an RTMP broadcaster sends it (x264 with a 2 s GOP, AAC) and a live recorder writes it: the FLV
 * header written before the length is known (no duration in it), so ffprobe estimates one from the last
 * video packet, 58 ms short of the audio's end.
 */
function part(name: string, sec: number, size = '640x360', audio = true, extra: string[] = []) {
  return ff(
    ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`],
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'] : []),
    ...['-t', String(sec), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p'],
    ...(audio ? ['-c:a', 'aac'] : []),
    ...extra,
    ...['-flvflags', 'no_duration_filesize', '-f', 'flv', clip(name)],
  );
}

async function videoFrames(path: string): Promise<number> {
  const j = await ffprobeJson(
    '-count_packets',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=nb_read_packets',
    path,
  );
  return Number(j.streams?.[0]?.nb_read_packets);
}

/** Packet times of the first stream of `kind`, sorted (B-frames are off with ultrafast, but be safe). */
async function packetTimes(path: string, kind: 'v' | 'a'): Promise<number[]> {
  const j = await ffprobeJson('-select_streams', `${kind}:0`, '-show_entries', 'packet=pts_time', path);
  return (j.packets ?? []).map((p) => Number(p.pts_time)).sort((a, b) => a - b);
}

/** Mean luma of the left 80 columns of the frame at `t` (the pillarbox of a 4:3 part in 16:9). */
async function leftEdgeLuma(path: string, t: number): Promise<number> {
  const args = ['-ss', String(t), '-i', path, '-frames:v', '1', '-vf', 'crop=80:ih:0:0,format=gray'];
  const { stdout } = await run('ffmpeg', ['-v', 'error', ...args, '-f', 'rawvideo', 'pipe:1'], {
    encoding: 'buffer',
  });
  return stdout.reduce((s, b) => s + b, 0) / stdout.length;
}

/** [start, end] of each silence ffmpeg's silencedetect finds in the first audio stream. */
async function silences(path: string): Promise<[number, number][]> {
  const { stderr } = await run('ffmpeg', [
    '-i',
    path,
    '-map',
    '0:a:0',
    '-af',
    'silencedetect=d=0.5',
    '-f',
    'null',
    '-',
  ]);
  const starts = [...stderr.matchAll(/silence_start: ([\d.]+)/g)].map((m) => Number(m[1]));
  const ends = [...stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
  return starts.map((s, i) => [s, ends[i] ?? Number.NaN]);
}

/** What ffmpeg reports while demuxing and decoding every stream of a file (empty: clean). */
async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await ff('-v', 'error', '-i', path, '-f', 'null', '-');
  return stderr.trim();
}

const maxGap = (t: number[]) => t.slice(1).reduce((m, v, i) => Math.max(m, v - t[i]!), 0);

/** Per-stream lengths (MP4 records each stream's own). */
async function streamDurations(path: string): Promise<Record<string, number>> {
  const j = await ffprobeJson('-show_entries', 'stream=codec_type,duration', path);
  const out: Record<string, number> = {};
  for (const s of j.streams ?? []) out[String(s.codec_type)] = Number(s.duration);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vod-concat-'));
  await Promise.all([
    part('a.flv', 3),
    part('b.flv', 2),
    part('c.flv', 4),
    // A recorder file after a reconnect whose timestamps go on from the stream's clock: starts at 40 s.
    part('c-late.flv', 4, '640x360', true, ['-output_ts_offset', '40']),
    part('small.flv', 2, '320x240'),
    part('mute.flv', 2, '640x360', false),
    writeFile(clip('random.flv'), randomBytes(64 * 1024)),
  ]);
  await copyFile(clip('b.flv'), clip("it's part 2.flv"));
  // b.flv with its audio listed first (nginx-rtmp's split files, when the audio arrived first).
  await ff(
    '-i',
    clip('b.flv'),
    '-map',
    '0:a',
    '-map',
    '0:v',
    '-c',
    'copy',
    '-f',
    'mp4',
    clip('b-audio-first.mp4'),
  );
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('concatListLine', () => {
  it('closes, escapes and reopens the quote around a single quote', () => {
    expect(concatListLine("/r/it's a.flv")).toBe("file '/r/it'\\''s a.flv'");
    expect(concatListLine('/r/b.flv', 2.0416666)).toBe("file '/r/b.flv'\nduration 2.041667");
  });
});

describe('concatMedia', () => {
  it('copies alike FLV parts into one continuous MP4 file, the pause between broadcasts dropped', async () => {
    const parts = ['a.flv', 'b.flv', 'c-late.flv'].map(clip);
    const out = clip('copy.mkv');
    const r = await concatMedia(parts, out, opts);
    expect(r.mode).toBe('copy');
    expect(r.reason).toBeUndefined();
    const frames = await Promise.all(parts.map(videoFrames));
    expect(frames).toEqual([75, 50, 100]);
    expect(r.videoFrames).toBe(225);
    expect(await videoFrames(out)).toBe(225);
    // Each part's AAC ends 41 ms after its picture (priming and padding): kept, so the sound runs on
    // without a cut and the next part starts after it.
    expect(Math.abs(r.durationSec - 9)).toBeLessThan(0.15);
    const v = await packetTimes(out, 'v');
    expect(v[0]).toBeLessThan(0.05);
    // At a joint the picture waits for that tail (18 ms after the last frame's end) and for the next part's
    // first frame (23 ms after its first audio): one frame plus 41 ms, give or take the FLV's whole ms.
    expect(maxGap(v)).toBeLessThanOrEqual(0.04 + 0.041 + 0.003);
    const a = await packetTimes(out, 'a');
    expect(a[0]).toBeLessThan(0.05);
    expect(a.at(-1)).toBeGreaterThan(9);
    // One AAC frame (23.2 ms, in whole ms) after another: no gap, and no overlap (the concat demuxer alone
    // starts a part at the declared duration here, and the muxer then rewrites colliding audio times).
    const steps = a.slice(1).map((t, i) => t - a[i]!);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(0.022);
    expect(Math.max(...steps)).toBeLessThanOrEqual(0.025);
    expect(r.audioPackets).toBe(a.length);
    expect(r.sizeBytes).toBeGreaterThan(0);
    // The whole file demuxes and decodes without one error (ffmpeg 5.1's Matroska muxer broke on these
    // parts' 5-byte AAC config: why the output is MP4).
    expect(await decodeErrors(out)).toBe('');
    expect((await ffprobeJson('-show_entries', 'format=format_name', out)).format).toMatchObject({
      format_name: expect.stringContaining('mp4'),
    });
  });

  it('re-encodes when a part has another size: every part at the first size, the frames all there', async () => {
    const parts = ['a.flv', 'small.flv', 'c.flv'].map(clip);
    const out = clip('resized.mkv');
    const r = await concatMedia(parts, out, opts);
    expect(r.mode).toBe('reencode');
    expect(r.reason).toMatch(/part 2 .*size/);
    const j = await ffprobeJson('-select_streams', 'v:0', '-show_entries', 'stream=width,height', out);
    expect(j.streams?.[0]).toMatchObject({ width: 640, height: 360 });
    expect(Math.abs(r.durationSec - 9)).toBeLessThan(0.1);
    expect(Math.abs((r.videoFrames ?? 0) - 225)).toBeLessThanOrEqual(3);
    expect(r.videoFrames).toBe(await videoFrames(out));
    // Part 2 (4:3) is pillarboxed in black, part 1 fills the frame.
    expect(await leftEdgeLuma(out, 4)).toBeLessThan(20);
    expect(await leftEdgeLuma(out, 1)).toBeGreaterThan(40);
  });

  it('fills a part without audio with silence so sound and picture stay the same length', async () => {
    const out = clip('filled.mkv');
    const r = await concatMedia(['a.flv', 'mute.flv', 'c.flv'].map(clip), out, opts);
    expect(r.mode).toBe('reencode');
    expect(r.reason).toMatch(/part 2 .*audio/);
    expect(Math.abs(r.durationSec - 9)).toBeLessThan(0.1);
    const d = await streamDurations(out);
    expect(Math.abs(d.audio! - d.video!)).toBeLessThan(0.1);
    // The silence is where part 2's picture is (3 s to 5 s): part 3's tone starts with part 3's picture.
    const quiet = await silences(out);
    expect(quiet).toHaveLength(1);
    expect(Math.abs(quiet[0]![0] - 3)).toBeLessThan(0.05);
    expect(Math.abs(quiet[0]![1] - 5)).toBeLessThan(0.05);
  });

  it('rejects a part that is not media, naming it, and leaves nothing at the output', async () => {
    const out = clip('bad.mkv');
    const before = await readdir(dir);
    const err = await concatMedia(['a.flv', 'random.flv', 'c.flv'].map(clip), out, opts).catch((e) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/part 2 of 3 \(random\.flv\)/);
    expect(await readdir(dir)).toEqual(before);
  });

  it('repacks parts that differ only in stream order, then still copies (every frame kept)', async () => {
    const out = clip('joined-order.mkv');
    const r = await concatMedia([clip('a.flv'), clip('b-audio-first.mp4'), clip('c.flv')], out, opts);
    expect(r.mode).toBe('copy');
    expect(r.videoFrames).toBe(225);
    expect(Math.abs(r.durationSec - 9)).toBeLessThan(0.15);
  });

  it('reads a part whose name holds a quote and a space', async () => {
    const out = clip("joined it's.mkv");
    const r = await concatMedia([clip('a.flv'), clip("it's part 2.flv")], out, opts);
    expect(r.mode).toBe('copy');
    expect(r.videoFrames).toBe(125);
    expect(Math.abs(r.durationSec - 5)).toBeLessThan(0.1);
  });
});
