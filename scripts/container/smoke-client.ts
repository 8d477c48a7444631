// The container smoke test's client: against a running vodcloud at BASE with the admin key, it creates a
// tenant and a key, uploads a small generated video with tus (tus-js-client), waits until the video is
// ready, then fetches the master playlist, a variant playlist and a segment. Prints one JSON line of
// timings; exits 1 on any failure.
//   node --import tsx scripts/container/smoke-client.ts http://127.0.0.1:18080 <admin key>
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tus from 'tus-js-client';

const [baseArg, keyArg] = process.argv.slice(2);
if (!baseArg || !keyArg) throw new Error('usage: smoke-client.ts <base url> <admin key>');
const base: string = baseArg;
const adminKey: string = keyArg;
const t0 = performance.now();
const sec = (from: number) => Number(((performance.now() - from) / 1000).toFixed(2));

async function call(method: string, url: string, key: string, body?: unknown) {
  const res = await fetch(new URL(url, base), {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function get(url: string, type: RegExp) {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const body = Buffer.from(await res.arrayBuffer());
  const ct = res.headers.get('content-type') ?? '';
  if (res.status !== 200 || !type.test(ct)) throw new Error(`GET ${url}: ${res.status} ${ct}`);
  return body;
}

async function main() {
  const dir = await mkdtemp(path.join(tmpdir(), 'vodsmoke-'));
  try {
    const file = path.join(dir, 'smoke.mp4');
    await promisify(execFile)('ffmpeg', [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:rate=25:duration=6',
      ],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=6', '-c:v', 'libx264', '-preset', 'veryfast'],
      ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-y', file],
    ]);
    const data = await readFile(file);
    const tenant = await call('POST', '/v1/tenants', adminKey, { name: `smoke-${Date.now()}` });
    const { key } = await call('POST', `/v1/tenants/${tenant.id}/api-keys`, adminKey, {
      name: 'smoke',
      scopes: ['read', 'write'],
    });
    const created = await call('POST', '/v1/uploads', key, { title: 'container smoke test' });
    const uploadStart = performance.now();
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(data, {
        endpoint: created.url,
        headers: created.headers,
        chunkSize: 256 * 1024,
        retryDelays: [0, 500, 1000, 2000],
        onError: reject,
        onSuccess: () => resolve(),
      }).start();
    });
    const uploaded = performance.now();
    let video: { status: string; playback: { hlsUrl: string } } | undefined;
    while (performance.now() - uploaded < 300_000) {
      video = await call('GET', `/v1/videos/${created.videoId}`, key);
      if (video!.status === 'ready') break;
      if (video!.status === 'errored') throw new Error(`video errored: ${JSON.stringify(video)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (video?.status !== 'ready') throw new Error(`not ready after 300 s: ${video?.status}`);
    const toReady = sec(uploaded);
    const master = (await get(video.playback.hlsUrl, /mpegurl/i)).toString('utf8');
    const variant = master.split('\n').find((l) => l && !l.startsWith('#'));
    if (!variant) throw new Error(`no variant in the master playlist:\n${master}`);
    const variantUrl = new URL(variant, video.playback.hlsUrl).href;
    const playlist = (await get(variantUrl, /mpegurl/i)).toString('utf8');
    const segment = playlist.split('\n').find((l) => l && !l.startsWith('#'));
    if (!segment) throw new Error(`no segment in ${variantUrl}`);
    const bytes = await get(
      new URL(segment, variantUrl).href,
      /video\/(mp4|mp2t|iso.segment)|application\/octet/i,
    );
    console.log(
      JSON.stringify({
        ok: true,
        uploadBytes: data.length,
        uploadSec: Number(((uploaded - uploadStart) / 1000).toFixed(2)),
        uploadToReadySec: toReady,
        segmentBytes: bytes.length,
        totalSec: sec(t0),
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`smoke test failed: ${(err as Error).message}`);
  process.exit(1);
});
