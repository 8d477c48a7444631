import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3ObjectStore } from '@vodcloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { engineUrl } from '../../../../../test/support/engines';
import { waitFor } from '../../../../../test/support/uploads';
import { createTemplate, makeClip, uploadUntilReady } from '../../../../../test/support/videos';

const s3 = engineUrl('s3', 'stream redirects to presigned S3 URLs');

describe.skipIf(!s3)('stream role with VOD_STREAM_REDIRECT=presigned on S3', () => {
  let s: TestServer;
  let t: Awaited<ReturnType<TestServer['tenant']>>;
  const dir = mkdtempSync(path.join(tmpdir(), 'vodredir-'));
  beforeAll(async () => {
    s = await startTestServer({
      VOD_STORAGE_URL: `s3://vodredir-${Date.now().toString(36)}?endpoint=${s3}`,
      VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
      VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
      VOD_STREAM_REDIRECT: 'presigned',
      VOD_DELIVERY_FLUSH_MS: '200',
    });
    t = await s.tenant('redirect');
  });
  afterAll(async () => {
    const storage = s?.ctx.ports.storage;
    await s?.close();
    if (storage?.kind === 's3') await (storage as S3ObjectStore).removeBucket().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends players to short-lived presigned URLs for segments and MP4s; the bytes come from S3, CORS open', async () => {
    const templateId = await createTemplate(s.url, t.auth, {
      name: 'r',
      renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
      hls: { segmentDuration: 2 },
      mp4: 'highest',
    });
    const clip = await makeClip(path.join(dir, 'c.mp4'), { duration: 4 });
    const v = await uploadUntilReady(s.url, t.auth, clip, { templateId });
    const row = (await s.ctx.videos.repo.find(t.id, v.id))!;
    const key = `${t.id}/${v.id}/${row.published_generation}/hls/240p/seg-00000.ts`;
    const stored = await s.ctx.ports.storage.get(key);
    const parts: Buffer[] = [];
    for await (const c of stored.body) parts.push(c as Buffer);
    const original = Buffer.concat(parts);

    const seg = await fetch(`${s.url}/hls/${v.playback.id}/240p/seg-00000.ts`, { redirect: 'manual' });
    expect(seg.status).toBe(302);
    const location = seg.headers.get('location')!;
    expect(new URL(location).origin).toBe(new URL(s3!).origin);
    expect(location).toMatch(/X-Amz-Expires=300/);
    const fromS3 = await fetch(location, { headers: { origin: 'https://player.example' } });
    expect(fromS3.status).toBe(200);
    expect(fromS3.headers.get('access-control-allow-origin')).toBeTruthy();
    expect(Buffer.from(await fromS3.arrayBuffer()).equals(original)).toBe(true);

    const mp4 = await fetch(v.playback.mp4Urls['240p']!, { redirect: 'manual' });
    expect(mp4.status).toBe(302);
    const ranged = await fetch(mp4.headers.get('location')!, { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    await ranged.arrayBuffer();
    // Playlists still come from the stream role (they may be rewritten per viewer).
    expect((await fetch(v.playback.hlsUrl, { redirect: 'manual' })).status).toBe(200);
    // Redirected bytes are still accounted.
    const rows = await waitFor(
      async () => {
        const r = await s.ctx.db.primary
          .selectFrom('delivery_stats')
          .selectAll()
          .where('video_id', '=', v.id)
          .execute();
        return r.reduce((a, x) => a + Number(x.bytes), 0) >= original.length ? r : undefined;
      },
      5000,
      'accounting',
    );
    expect(rows.length).toBeGreaterThan(0);
  }, 150_000);
});
