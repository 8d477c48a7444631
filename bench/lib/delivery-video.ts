// The video bench/delivery.ts serves: a 10 s 720p30 clip uploaded as a `signed` video with one 6 Mb/s
// rendition in 4 s segments, a playback token, and the segment closest to 3 MB.
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { tusUpload } from './clips';
import { run, sleep } from './proc';
import { createTenantKey, type VodcloudProcess } from './vodcloud';

const TARGET_SEGMENT_BYTES = 3e6;

/** 10 s 720p30: testsrc2 + strong temporal noise, so a 6 Mb/s rendition really spends its bits. */
export async function ensureClip(workDir: string): Promise<string> {
  const file = path.join(workDir, 'delivery-src-10s-720p30.mp4');
  if ((await stat(file).catch(() => undefined))?.size) return file;
  await mkdir(workDir, { recursive: true });
  const partial = `${file}.partial.mp4`;
  const r = await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=30:d=10,noise=alls=20:allf=t'],
    ...['-f', 'lavfi', '-i', 'sine=f=440:d=10:sample_rate=48000'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-g', '60', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-t', '10', '-f', 'mp4', partial],
  ]);
  if (r.code !== 0) throw new Error(`clip generation failed: ${r.stderr.slice(-2000)}`);
  await run('mv', [partial, file]);
  return file;
}

export interface BenchVideo {
  tenantId: string;
  videoId: string;
  playbackId: string;
  token: string;
  readySec: number;
  /** The segment served (closest to 3 MB) and every segment's size. */
  segment: { name: string; size: number; file: string };
  segments: Array<{ name: string; size: number }>;
  /** The stored media playlist (the rendition `hi`). */
  playlistFile: string;
}

/** Uploads the clip as a signed video, waits until it is ready and mints a playback token for it. */
export async function makeSignedVideo(server: VodcloudProcess, clip: string): Promise<BenchVideo> {
  const { tenantId, key } = await createTenantKey(server, 'bench');
  const template = await server.api<{ id: string }>('POST', '/v1/templates', key, {
    name: 'delivery-bench',
    renditions: [{ name: 'hi', height: 720, videoBitrate: 6_000_000 }],
    hls: { segmentDuration: 4 },
    mp4: 'none',
  });
  const created = await server.api<{ videoId: string; url: string; headers: Record<string, string> }>(
    'POST',
    '/v1/uploads',
    key,
    { playbackPolicy: 'signed', templateId: template.id },
  );
  const t0 = performance.now();
  await tusUpload(clip, created);
  let video = { status: '', playback: { id: '', policy: '' } };
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    video = await server.api('GET', `/v1/videos/${created.videoId}`, key);
    if (['ready', 'errored', 'blocked'].includes(video.status)) break;
    if (Date.now() > deadline) throw new Error('video not ready after 10 min');
    await sleep(200);
  }
  if (video.status !== 'ready') throw new Error(`video ended ${video.status}`);
  if (video.playback.policy !== 'signed') throw new Error(`playback policy is ${video.playback.policy}`);
  const readySec = (performance.now() - t0) / 1000;
  const { token } = await server.api<{ token: string }>(
    'POST',
    `/v1/videos/${created.videoId}/playback-tokens`,
    key,
    { aud: 'v', expiresIn: 3600 },
  );
  // The published HLS objects: <data>/objects/objects/<tenant>/<video>/<generation>/hls/hi/seg-NNNNN.ts%o
  const videoDir = path.join(server.dataDir, 'objects', 'objects', tenantId, created.videoId);
  const gens = (await readdir(videoDir, { withFileTypes: true })).filter((e) => e.isDirectory());
  const generation = gens.find((e) => e.name !== 'source')?.name;
  if (!generation) throw new Error(`no generation directory in ${videoDir}`);
  const hlsDir = path.join(videoDir, generation, 'hls', 'hi');
  const names = (await readdir(hlsDir)).filter((f) => /^seg-\d{5}\.ts%o$/.test(f));
  const segments = await Promise.all(
    names.map(async (f) => ({ name: f.replace(/%o$/, ''), size: (await stat(path.join(hlsDir, f))).size })),
  );
  segments.sort((a, b) => a.name.localeCompare(b.name));
  const closest = [...segments].sort(
    (a, b) => Math.abs(a.size - TARGET_SEGMENT_BYTES) - Math.abs(b.size - TARGET_SEGMENT_BYTES),
  )[0];
  if (!closest) throw new Error(`no segments in ${hlsDir}`);
  return {
    tenantId,
    videoId: created.videoId,
    playbackId: video.playback.id,
    token,
    readySec,
    segment: { ...closest, file: path.join(hlsDir, `${closest.name}%o`) },
    segments,
    playlistFile: path.join(hlsDir, 'index.m3u8%o'),
  };
}
