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
    expect(rows.every((r) => r.tenant_id === t.id && /T\d\d:\d\d:00\.000Z$/.test(r.period))).toBe(true);
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

  it('two stream nodes count one video: the statistics add up exactly to the bytes the client received', async () => {
    const templateId = await createTemplate(s.url, t.auth, {
      name: 'd2',
      renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
      hls: { segmentDuration: 1 },
    });
    const clip = await makeClip(path.join(dir, 'two.mp4'), { duration: 6 });
    const v = await uploadUntilReady(s.url, t.auth, clip, { templateId }, 60_000);
    // A second node with the stream role only, on the same database and storage.
    const b = await startTestServer({
      VOD_ROLES: 'stream',
      VOD_DATA_DIR: s.dataDir,
      VOD_DELIVERY_FLUSH_MS: '200',
    });
    try {
      let received = 0;
      const nodes = [s.url, b.url];
      const playlist = await (await fetch(`${s.url}/hls/${v.playback.id}/240p/index.m3u8`)).text();
      const segments = playlist.split('\n').filter((l) => l && !l.startsWith('#'));
      expect(segments.length).toBeGreaterThanOrEqual(5);
      for (const [i, seg] of segments.entries()) {
        const url = new URL(seg, `${nodes[i % 2]}/hls/${v.playback.id}/240p/index.m3u8`).toString();
        const res = await fetch(url);
        expect(res.status, url).toBe(200);
        received += (await res.arrayBuffer()).byteLength;
      }
      for (const node of nodes) {
        const res = await fetch(`${node}/hls/${v.playback.id}/master.m3u8`);
        expect(res.status).toBe(200);
        received += (await res.arrayBuffer()).byteLength;
        const part = await fetch(v.playback.mp4Urls['240p']!.replace(s.url, node), {
          headers: { range: 'bytes=100-1099' },
        });
        expect(part.status).toBe(206);
        received += (await part.arrayBuffer()).byteLength;
      }
      // The first playlist fetch above was delivered too.
      received += Buffer.byteLength(playlist);
      await Promise.all([s.ctx.delivery.flush(), b.ctx.delivery.flush()]);
      await s.ctx.stats.runRollup();
      const stats = await fetch(
        `${s.url}/v1/stats/videos/${v.id}?granularity=minute&from=${new Date(Date.now() - 3_600_000).toISOString()}`,
        { headers: t.auth },
      );
      expect(stats.status).toBe(200);
      const body = (await stats.json()) as { totals: { deliveredBytes: number; requests: number } };
      // The upload's own checks fetched nothing from the stream role: every byte counted is one received here.
      expect(body.totals.deliveredBytes).toBe(received);
      expect(body.totals.requests).toBe(segments.length + 5);
      const usage = await fetch(`${s.url}/v1/stats/usage?granularity=hour`, { headers: t.auth });
      const u = (await usage.json()) as { totals: { deliveredBytes: number; peakMbps: number } };
      expect(u.totals.deliveredBytes).toBeGreaterThanOrEqual(received);
      expect(u.totals.peakMbps).toBeGreaterThan(0);
    } finally {
      await b.close();
    }
  }, 150_000);
});
