// Issue 13: anyone could make unlimited on-demand thumbnails, each an ffmpeg run and an object kept forever
// (`/thumb/{pid}.webp?time=3.3&width=3838&height=2160&fit=fill`, a new width each time). Real server, ffmpeg.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import {
  createTemplate,
  makeClip,
  type ReadyVideo,
  uploadUntilReady,
} from '../../../../../test/support/videos';
import { MAX_PARALLEL, normaliseThumb } from './thumbnails';

type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
const dir = mkdtempSync(path.join(tmpdir(), 'vodthumbs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server with one ready 8 s video. */
async function serverWithVideo(env: Record<string, string>) {
  const s = await startTestServer({ VOD_RATE_LIMIT_PER_MINUTE: '100000', ...env });
  const t = await s.tenant('thumbs');
  const templateId = await createTemplate(s.url, t.auth, {
    name: 'small',
    renditions: [{ name: '180p', height: 180, videoBitrate: 200_000 }],
    hls: { segmentDuration: 2 },
  });
  const clip = await makeClip(path.join(dir, `c-${Date.now()}.mp4`), { duration: 8, size: '320x180' });
  const v = await uploadUntilReady<ReadyVideo>(s.url, t.auth, clip, { templateId }, 90_000);
  return { s, t, v };
}

const thumbsOf = async (s: TestServer, t: Tenant, v: ReadyVideo) =>
  (await s.ctx.ports.storage.list(`${t.id}/${v.id}/`)).items
    .filter((i) => i.key.includes('/thumbs/'))
    .map((i) => i.key.split('/').pop()!)
    .sort();

/** ffmpeg processes this test process (the server runs in it) has running now, from /proc. */
function ffmpegChildren(): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (m?.[1] === 'ffmpeg' && Number(m[2]) === process.pid) n++;
    } catch {
      // the process ended meanwhile
    }
  }
  return n;
}

describe('finding: anyone can make unlimited on-demand thumbnails (sizes, variants, ffmpeg runs)', () => {
  let s: TestServer;
  let t: Tenant;
  let v: ReadyVideo;
  beforeAll(async () => {
    ({ s, t, v } = await serverWithVideo({
      VOD_THUMB_MAX_VARIANTS: '3',
      VOD_THUMB_GENERATE_PER_MINUTE: '0',
    }));
  }, 150_000);
  afterAll(() => s?.close());
  const thumb = async (q: string, ext = 'webp') => {
    const res = await fetch(`${s.url}/thumb/${v.playback.id}.${ext}${q}`);
    const body = Buffer.from(await res.arrayBuffer());
    return { res, body, meta: res.status === 200 ? await sharp(body).metadata() : undefined };
  };

  it('snaps sizes to a small set (keeping the asked shape) and times to a 0.5 s grid', async () => {
    expect(normaliseThumb({ width: 3838, height: 2160, time: 3.3, fit: 'fill' }, 8)).toEqual({
      width: 3840,
      height: 2160,
      time: 3.5,
      fit: 'fill',
    });
    expect(normaliseThumb({ width: 200, fit: 'contain' }, null).width).toBe(240);
    expect(normaliseThumb({ height: 100, fit: 'contain' }, null).height).toBe(120);
    expect(normaliseThumb({ time: 7.9, fit: 'contain' }, 7.9).time).toBe(7.5); // not past the end
    // 20 different widths, one image: the attack of the finding makes one object, not 20.
    for (let w = 301; w <= 320; w++) {
      const r = await thumb(`?time=3.3&width=${w}&height=180&fit=fill`);
      expect(r.res.status).toBe(200);
      expect([r.meta?.width, r.meta?.height]).toEqual([320, 180]);
    }
    expect((await thumb('?time=3.4&width=319&height=181&fit=fill')).res.status).toBe(200);
    expect(await thumbsOf(s, t, v)).toEqual(['t35-320x180-fill.webp']);
    expect((await thumb('?width=200', 'jpg')).meta?.width).toBe(240);
  });

  it('keeps at most VOD_THUMB_MAX_VARIANTS thumbnails per generation, evicting the oldest made', async () => {
    const times = [0.5, 1, 1.5, 2, 2.5];
    for (const time of times) {
      expect((await thumb(`?time=${time}&width=160`)).res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 30)); // distinct modification times
    }
    expect(await thumbsOf(s, t, v)).toEqual([
      't15-160x0-contain.webp',
      't20-160x0-contain.webp',
      't25-160x0-contain.webp',
    ]);
    // An evicted one is made again when asked for; the folder stays bounded.
    const again = await thumb('?time=0.5&width=160');
    expect(again.res.status).toBe(200);
    expect(again.meta?.width).toBe(160);
    expect((await thumbsOf(s, t, v)).length).toBe(3);
  });

  it(`never runs more than MAX_PARALLEL (${MAX_PARALLEL}) ffmpeg processes however many thumbnails are asked at once`, async () => {
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, ffmpegChildren());
    }, 2);
    try {
      // 14 different frames at once (each an ffmpeg run).
      const results = await Promise.all(
        Array.from({ length: 14 }, (_, i) => thumb(`?time=${0.5 * (i + 1)}&width=640`)),
      );
      expect(results.map((r) => r.res.status)).toEqual(Array(14).fill(200));
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBeGreaterThanOrEqual(1); // the sampler saw them
    expect(peak).toBeLessThanOrEqual(MAX_PARALLEL);
  });

  it('answers 404, not a server error, for a sized poster while the video has none (still processing)', async () => {
    const keys = (await s.ctx.ports.storage.list(`${t.id}/${v.id}/`)).items.map((i) => i.key);
    const gone = keys.filter((k) => k.endsWith('/poster.jpg') || k.includes('/thumbs/'));
    expect(gone.some((k) => k.endsWith('/poster.jpg'))).toBe(true);
    for (const k of gone) await s.ctx.ports.storage.delete(k);
    const { res, body } = await thumb('?width=640', 'jpg');
    expect(res.status, body.toString()).toBe(404);
    expect(JSON.parse(body.toString())).toMatchObject({ code: 'not_found' });
  });
});

describe('finding: /thumb has no rate limit on image generation', () => {
  let s: TestServer;
  let v: ReadyVideo;
  beforeAll(async () => {
    ({ s, v } = await serverWithVideo({ VOD_THUMB_GENERATE_PER_MINUTE: '3' }));
  }, 150_000);
  afterAll(() => s?.close());

  it('answers 429 + Retry-After past VOD_THUMB_GENERATE_PER_MINUTE new images per address; cache hits are served', async () => {
    // The limit is a fixed one-minute window: start well inside one.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await new Promise((r) => setTimeout(r, left + 200));
    const url = (time: number) => `${s.url}/thumb/${v.playback.id}.jpg?time=${time}&width=160`;
    for (const time of [1, 2, 3]) expect((await fetch(url(time))).status).toBe(200);
    const refused = await fetch(url(4));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect((await refused.json()).code).toBe('rate_limited');
    // Already made: no generation, not limited.
    for (let i = 0; i < 5; i++) expect((await fetch(url(2))).status).toBe(200);
    expect((await fetch(`${s.url}/thumb/${v.playback.id}.jpg`)).status).toBe(200); // the plain poster
  });
});
