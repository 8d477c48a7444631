// Gapless checks of served HLS renditions with ffprobe: the segments of one rendition are fetched from the
// stream role, concatenated (MPEG-TS concatenates by bytes) and their packets read back. Shared by the
// playable-in-a-second suites; the per-packet reading follows packages/media/src/chunks.test.ts.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pkt {
  pts: number;
  dts: number;
  dur: number;
  key: boolean;
}

/** Every packet of the first video (`v`) or audio (`a`) stream of a file, in file order. */
export async function packets(file: string, stream: 'v' | 'a'): Promise<Pkt[]> {
  const { stdout } = await run(
    'ffprobe',
    [
      ...['-v', 'error', '-select_streams', `${stream}:0`],
      ...['-show_entries', 'packet=pts_time,dts_time,duration_time,flags', '-of', 'json', file],
    ],
    { timeout: 120_000, maxBuffer: 256 * 1024 * 1024 },
  );
  const data = JSON.parse(stdout) as {
    packets?: { pts_time: string; dts_time: string; duration_time?: string; flags: string }[];
  };
  return (data.packets ?? []).map((p) => ({
    pts: Number(p.pts_time),
    dts: Number(p.dts_time),
    dur: Number(p.duration_time ?? 0),
    key: p.flags.startsWith('K'),
  }));
}

/** Segment URIs of a media playlist, resolved against its URL, with their EXTINF durations. */
export async function mediaPlaylist(url: string): Promise<Array<{ url: string; duration: number }>> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  if (!text.includes('#EXT-X-ENDLIST')) throw new Error(`${url} is not a complete VOD playlist`);
  const out: Array<{ url: string; duration: number }> = [];
  let duration = Number.NaN;
  for (const line of text.split('\n')) {
    const m = /^#EXTINF:([\d.]+),/.exec(line);
    if (m) duration = Number(m[1]);
    else if (line && !line.startsWith('#')) out.push({ url: new URL(line, url).toString(), duration });
  }
  return out;
}

/** Fetches every segment of a media playlist (each must answer 200); bodies in playlist order. */
export async function fetchSegments(playlistUrl: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const s of await mediaPlaylist(playlistUrl)) {
    const res = await fetch(s.url);
    if (res.status !== 200) throw new Error(`GET ${s.url}: ${res.status} ${await res.text()}`);
    out.push(Buffer.from(await res.arrayBuffer()));
  }
  return out;
}

/** Variants of a master playlist, in the order listed. */
export function masterVariants(
  master: string,
  masterUrl: string,
): Array<{ name: string; url: string; codecs: string; fps: number; resolution: string }> {
  const lines = master.split('\n');
  const out: Array<{ name: string; url: string; codecs: string; fps: number; resolution: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.startsWith('#EXT-X-STREAM-INF:')) continue;
    const uri = lines[i + 1]!;
    out.push({
      // `{generation}/{rendition}/index.m3u8`: the rendition is the folder the media playlist is in.
      name: uri.split('/').at(-2)!,
      url: new URL(uri, masterUrl).toString(),
      codecs: /CODECS="([^"]+)"/.exec(l)?.[1] ?? '',
      fps: Number(/FRAME-RATE=([\d.]+)/.exec(l)?.[1] ?? Number.NaN),
      resolution: /RESOLUTION=(\d+x\d+)/.exec(l)?.[1] ?? '',
    });
  }
  return out;
}

export interface VideoTrack {
  /** Video packets (= frames) in the concatenation. */
  frames: number;
  /** Largest |PTS step − one frame| over the whole rendition (PTS sorted), seconds. */
  worstStepError: number;
  firstPts: number;
  /** Last PTS + one frame. */
  endPts: number;
}

/** Concatenates one rendition's segments into `dir/<name>.ts` and measures its video track. */
export async function videoTrack(
  dir: string,
  name: string,
  segments: Buffer[],
  fps: number,
): Promise<VideoTrack> {
  const file = path.join(dir, `${name}-${Date.now()}.ts`);
  await writeFile(file, Buffer.concat(segments));
  const pts = (await packets(file, 'v')).map((p) => p.pts).sort((a, b) => a - b);
  const frame = 1 / fps;
  let worst = 0;
  for (let i = 1; i < pts.length; i++) worst = Math.max(worst, Math.abs(pts[i]! - pts[i - 1]! - frame));
  return {
    frames: pts.length,
    worstStepError: pts.length > 1 ? worst : Number.POSITIVE_INFINITY,
    firstPts: pts[0] ?? Number.NaN,
    endPts: (pts.at(-1) ?? Number.NaN) + frame,
  };
}

export interface AudioTrack {
  packets: number;
  /** Largest |PTS step − packet duration| (file order), seconds. */
  worstStepError: number;
  firstPts: number;
  /** Last PTS + its duration. */
  endPts: number;
}

/** Concatenates the audio rendition's segments and measures its track. */
export async function audioTrack(dir: string, segments: Buffer[]): Promise<AudioTrack> {
  const file = path.join(dir, `audio-${Date.now()}.ts`);
  await writeFile(file, Buffer.concat(segments));
  const pk = await packets(file, 'a');
  let worst = 0;
  for (let i = 1; i < pk.length; i++)
    worst = Math.max(worst, Math.abs(pk[i]!.pts - pk[i - 1]!.pts - pk[i - 1]!.dur));
  const last = pk.at(-1);
  return {
    packets: pk.length,
    worstStepError: pk.length > 1 ? worst : Number.POSITIVE_INFINITY,
    firstPts: pk[0]?.pts ?? Number.NaN,
    endPts: last ? last.pts + last.dur : Number.NaN,
  };
}

/** The value of the just-in-time encode counter on a node's /metrics. */
export async function jitEncodes(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = /^vod_jit_segment_encodes_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m.exec(text);
  if (!m) throw new Error('vod_jit_segment_encodes_total is not on /metrics');
  return Number(m[1]);
}
