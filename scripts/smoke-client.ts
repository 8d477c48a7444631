// The client half of the smoke tests (scripts/compose-smoke.sh, scripts/container/smoke.sh): everything
// through the published port of a running vodcloud.
// With the admin key: a tenant and its key, a tus upload of the given clip (tus-js-client), wait until
// the video is ready, then the master playlist, a variant playlist and a segment (status and content
// type), and the video's detection completed (quality checks and frames scored by the model). Prints one JSON line: ids for the shell's replication check, and timings.
//   node --import tsx scripts/smoke-client.ts <base-url> <clip.mp4>   (admin key in VOD_ADMIN_API_KEY)
import { readFileSync } from 'node:fs';
import * as tus from 'tus-js-client';

const [base, clipPath] = process.argv.slice(2);
const adminKey = process.env.VOD_ADMIN_API_KEY;
if (!base || !clipPath || !adminKey) {
  console.error('usage: VOD_ADMIN_API_KEY=… node --import tsx scripts/smoke-client.ts <base-url> <clip>');
  process.exit(2);
}

interface Video {
  id: string;
  status: string;
  playback: { hlsUrl: string };
}

function fail(message: string): never {
  throw new Error(message);
}

async function call<T>(method: string, path: string, key: string, body?: object): Promise<T> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) fail(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

function upload(data: Buffer, endpoint: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new tus.Upload(data, {
      endpoint,
      headers,
      // Small chunks: several PATCH requests, which nginx spreads over both upload nodes.
      chunkSize: 256 * 1024,
      retryDelays: [0, 500, 1000, 2000],
      metadata: { filename: 'compose-smoke.mp4', filetype: 'video/mp4' },
      onError: reject,
      onSuccess: () => resolve(u.url!),
    });
    u.start();
  });
}

async function get(url: string, types: RegExp): Promise<Buffer> {
  const res = await fetch(url);
  const type = res.headers.get('content-type') ?? '';
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) fail(`GET ${url}: ${res.status} ${body.toString().slice(0, 300)}`);
  if (!types.test(type)) fail(`GET ${url}: content type ${type}, expected ${types}`);
  return body;
}

/** The URIs of a playlist (lines that are not tags), resolved against its URL. */
function uris(playlist: string, url: string): string[] {
  return playlist
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => new URL(l, url).toString());
}

async function waitReady(videoId: string, key: string, timeoutMs: number): Promise<Video> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await call<Video>('GET', `/v1/videos/${videoId}`, key);
    if (v.status === 'ready') return v;
    if (v.status === 'errored') fail(`video ${videoId} errored: ${JSON.stringify(v)}`);
    if (Date.now() > deadline) fail(`video ${videoId} not ready after ${timeoutMs} ms (${v.status})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Detection (issue 18) completes: the image's ffmpeg filters and its pruned TensorFlow.js and nsfwjs work
 * (quality checks present, frames scored by the model).
 */
async function waitDetected(videoId: string, key: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await call<{
      detection: {
        status: string;
        error: unknown;
        qc: unknown;
        moderation: { framesAnalyzed: number } | null;
      } | null;
    }>('GET', `/v1/videos/${videoId}`, key);
    const d = v.detection;
    if (d?.status === 'failed') fail(`detection of ${videoId} failed: ${JSON.stringify(d.error)}`);
    if (d?.status === 'completed') {
      if (!d.qc || !d.moderation?.framesAnalyzed)
        fail(`detection of ${videoId} is empty: ${JSON.stringify(d)}`);
      return d.moderation.framesAnalyzed;
    }
    if (Date.now() > deadline) fail(`detection of ${videoId} not completed after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function playback(hlsUrl: string) {
  const origin = new URL(base!).origin;
  if (new URL(hlsUrl).origin !== origin) fail(`hlsUrl ${hlsUrl} is not on the published port ${origin}`);
  const master = (await get(hlsUrl, /mpegurl/i)).toString();
  if (!master.startsWith('#EXTM3U')) fail(`master playlist is not HLS: ${master.slice(0, 100)}`);
  const variantUrl = uris(master, hlsUrl).find((u) => new URL(u).pathname.endsWith('.m3u8'));
  if (!variantUrl) fail(`no variant in the master playlist:\n${master}`);
  const variant = (await get(variantUrl, /mpegurl/i)).toString();
  const segmentUrl = uris(variant, variantUrl).find((u) => !/\/key$/.test(new URL(u).pathname));
  if (!segmentUrl) fail(`no segment in ${variantUrl}:\n${variant}`);
  const segment = await get(segmentUrl, /^(video\/mp2t|video\/mp4|video\/iso\.segment)/i);
  if (segment.length < 1000) fail(`segment ${segmentUrl} is only ${segment.length} bytes`);
  return { master: hlsUrl, variant: variantUrl, segment: segmentUrl, segmentBytes: segment.length };
}

async function main() {
  const t0 = Date.now();
  const tenant = await call<{ id: string }>('POST', '/v1/tenants', adminKey!, {
    name: `smoke-${Date.now()}`,
  });
  const { key } = await call<{ key: string }>('POST', `/v1/tenants/${tenant.id}/api-keys`, adminKey!, {
    name: 'compose-smoke',
    scopes: ['read', 'write'],
  });
  const created = await call<{ videoId: string; url: string; headers: Record<string, string> }>(
    'POST',
    '/v1/uploads',
    key,
    { title: 'compose smoke' },
  );
  if (new URL(created.url).origin !== new URL(base!).origin)
    fail(`the upload URL ${created.url} is not on the published port (VOD_UPLOAD_URL)`);
  const tUpload = Date.now();
  const uploadUrl = await upload(readFileSync(clipPath!), created.url, created.headers);
  const tUploaded = Date.now();
  const video = await waitReady(created.videoId, key, 300_000);
  const tReady = Date.now();
  const played = await playback(video.playback.hlsUrl);
  const playbackMs = Date.now() - tReady;
  const framesScored = await waitDetected(created.videoId, key, 180_000);
  const tDetected = Date.now();
  console.log(
    JSON.stringify({
      tenantId: tenant.id,
      videoId: created.videoId,
      uploadUrl,
      ...played,
      uploadMs: tUploaded - tUpload,
      uploadToReadyMs: tReady - tUpload,
      playbackMs,
      framesScored,
      uploadToDetectedMs: tDetected - tUpload,
      totalMs: Date.now() - t0,
    }),
  );
}

main().catch((err: Error) => {
  console.error(`smoke test failed: ${err.message}`);
  process.exit(1);
});
