// The chaos run's test videos: a few small H.264 + AAC clips of distinct sizes (made once with ffmpeg and
// cached), each upload made unique by an MP4 `free` box appended at the end (a valid top-level box every
// demuxer skips), so no two uploads have the same bytes and a source mixed up between videos is caught.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Rng } from './stats';

const run = promisify(execFile);

interface ClipSpec {
  size: string;
  seconds: number;
  /** Video bitrate, kbit/s (the noise filter makes the encoder reach it). */
  kbps: number;
}

/** About 0.5, 1.5, 1.9, 2, 2.5 and 5 MB. */
const SPECS: ClipSpec[] = [
  { size: '320x240', seconds: 4, kbps: 900 },
  { size: '426x240', seconds: 6, kbps: 1900 },
  { size: '480x270', seconds: 5, kbps: 2900 },
  { size: '320x240', seconds: 10, kbps: 1500 },
  { size: '640x360', seconds: 8, kbps: 2400 },
  { size: '640x360', seconds: 10, kbps: 3900 },
];

export interface Clip {
  name: string;
  data: Buffer;
}

async function makeClip(file: string, s: ClipSpec): Promise<void> {
  const tmp = `${file}.tmp.mp4`;
  await run(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=${s.size}:rate=25:duration=${s.seconds}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=330:duration=${s.seconds}`],
      ...['-vf', 'noise=alls=24:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...['-b:v', `${s.kbps}k`, '-maxrate', `${s.kbps}k`, '-bufsize', `${s.kbps * 2}k`],
      ...['-c:a', 'aac', '-b:a', '64k', '-shortest', '-movflags', '+faststart', tmp],
    ],
    { timeout: 120_000 },
  );
  renameSync(tmp, file);
}

/** Makes (or finds in `cacheDir`) the base clips. */
export async function baseClips(cacheDir: string, log: (l: string) => void): Promise<Clip[]> {
  mkdirSync(cacheDir, { recursive: true });
  const out: Clip[] = [];
  for (const s of SPECS) {
    const name = `${s.size}-${s.seconds}s-${s.kbps}k.mp4`;
    const file = path.join(cacheDir, name);
    if (!existsSync(file)) {
      log(`making test clip ${name}`);
      await makeClip(file, s);
    }
    out.push({ name, data: readFileSync(file) });
  }
  return out;
}

/** A clip with a `free` box of `label` and seeded filler appended: distinct bytes, same media. */
export function uniqueCopy(clip: Clip, label: string, rng: Rng): Buffer {
  const filler = Buffer.alloc(rng.int(64, 4096));
  for (let i = 0; i < filler.length; i++) filler[i] = Math.floor(rng.next() * 256);
  const body = Buffer.concat([Buffer.from(`${label}\n`), filler]);
  const box = Buffer.alloc(8);
  box.writeUInt32BE(8 + body.length, 0);
  box.write('free', 4, 'latin1');
  return Buffer.concat([clip.data, box, body]);
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
