import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { waitFor } from '../../../../../test/support/uploads';
import { createTemplate, makeClip, uploadUntilReady } from '../../../../../test/support/videos';

describe('delivery accounting on the stream role', () => {
  let s: TestServer;
  let t: Awaited<ReturnType<TestServer['tenant']>>;
  const dir = mkdtempSync(path.join(tmpdir(), 'voddeliv-'));
  beforeAll(async () => {
    s = await startTestServer({ VOD_DELIVERY_FLUSH_MS: '200' });
    t = await s.tenant('delivery');
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the bytes and requests actually served per tenant and video, in batches', async () => {
    const templateId = await createTemplate(s.url, t.auth, {
      name: 'd',
      renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
      hls: { segmentDuration: 2 },
    });
    const clip = await makeClip(path.join(dir, 'c.mp4'), { duration: 4 });
    const v = await uploadUntilReady(s.url, t.auth, clip, { templateId }, 60_000);
    await s.ctx.delivery.flush();
    const before = await s.ctx.db.primary
      .selectFrom('delivery_stats')
      .selectAll()
      .where('video_id', '=', v.id)
      .execute();
    const base = {
      bytes: before.reduce((a, r) => a + Number(r.bytes), 0),
      requests: before.reduce((a, r) => a + Number(r.requests), 0),
    };

    let bytes = 0;
    const get = async (url: string, headers: Record<string, string> = {}) => {
      const res = await fetch(url, { headers });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status === 200 || res.status === 206) bytes += body.length;
      return res;
    };
    const seg = await get(`${s.url}/hls/${v.playback.id}/240p/seg-00000.ts`);
    await get(`${s.url}/hls/${v.playback.id}/240p/seg-00001.ts`);
    await get(v.playback.hlsUrl);
    const part = await get(v.playback.mp4Urls['240p']!, { range: 'bytes=0-999' });
    expect(part.status).toBe(206);
    // not delivered: a 304, a 404, a 416
    expect(
      (
        await get(`${s.url}/hls/${v.playback.id}/240p/seg-00000.ts`, {
          'if-none-match': seg.headers.get('etag')!,
        })
      ).status,
    ).toBe(304);
    expect((await get(`${s.url}/hls/${v.playback.id}/240p/seg-09999.ts`)).status).toBe(404);
    expect((await get(v.playback.mp4Urls['240p']!, { range: 'bytes=999999999-' })).status).toBe(416);

    const rows = await waitFor(
      async () => {
        const r = await s.ctx.db.primary
          .selectFrom('delivery_stats')
          .selectAll()
          .where('video_id', '=', v.id)
          .execute();
        const total = r.reduce((a, x) => a + Number(x.requests), 0);
        return total - base.requests >= 4 ? r : undefined;
      },
      5000,
      'the flush',
    );
    expect(rows.every((r) => r.tenant_id === t.id && /T\d\d:00:00\.000Z$/.test(r.period))).toBe(true);
    expect(rows.reduce((a, r) => a + Number(r.requests), 0) - base.requests).toBe(4);
    expect(rows.reduce((a, r) => a + Number(r.bytes), 0) - base.bytes).toBe(bytes);

    // Thumbnails at any time and size, made once and then served from storage.
    const thumb = async (q: string, ext = 'jpg') => {
      const res = await fetch(`${s.url}/thumb/${v.playback.id}.${ext}${q}`);
      return { res, body: Buffer.from(await res.arrayBuffer()) };
    };
    const plain = await thumb('');
    expect(plain.res.headers.get('content-type')).toBe('image/jpeg');
    const small = await thumb('?width=160', 'webp');
    expect(small.res.status).toBe(200);
    expect(small.res.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(small.body).metadata()).width).toBe(160);
    const timed = await thumb('?time=2&width=200&height=200&fit=cover');
    expect(timed.res.status).toBe(200);
    expect(timed.res.headers.get('cache-control')).toContain('immutable');
    const meta = await sharp(timed.body).metadata();
    // Sizes are snapped to a small set (thumbnails.ts normaliseThumb): 200×200 is made at 240×240.
    expect([meta.width, meta.height, meta.format]).toEqual([240, 240, 'jpeg']);
    const stored = await s.ctx.ports.storage.list(`${t.id}/${v.id}/`);
    expect(stored.items.filter((i) => i.key.includes('/thumbs/')).length).toBe(2);
    const again = await thumb('?time=2&width=200&height=200&fit=cover');
    expect(again.body.equals(timed.body)).toBe(true);
    expect((await thumb('?time=99')).res.status).toBe(400);
    expect((await thumb('?width=99999')).res.status).toBe(400);
    expect((await thumb('?bogus=1')).res.status).toBe(400);

    // A blocked video is not served (within the stream role's 2 s lookup cache), and is again once unblocked.
    const segUrl = `${s.url}/hls/${v.playback.id}/240p/seg-00000.ts`;
    expect(
      (await fetch(`${s.url}/v1/videos/${v.id}/block`, { method: 'POST', headers: t.auth })).status,
    ).toBe(200);
    await waitFor(async () => ((await fetch(segUrl)).status === 404 ? true : undefined), 5000, 'the block');
    expect((await fetch(v.playback.hlsUrl)).status).toBe(404);
    expect(
      (await fetch(`${s.url}/v1/videos/${v.id}/unblock`, { method: 'POST', headers: t.auth })).status,
    ).toBe(200);
    await waitFor(async () => ((await fetch(segUrl)).status === 200 ? true : undefined), 5000, 'the unblock');
  }, 120_000);
});
