import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { waitFor } from '../../../../../test/support/uploads';
import { createTemplate, makeClip, uploadUntilReady } from '../../../../../test/support/videos';
import { newId } from '../../lib/ids';
import { sealKey, segmentKey } from '../videos/index';

/**
 * Playback URLs carry the output generation: a retranscode gives segments, key, MP4s and storyboard
 * sprites new URLs, so caching them immutable stays true, and an old generation's URL never answers with
 * the new generation's bytes.
 */
describe('generation in the playback URLs', () => {
  let s: TestServer;
  let t: Awaited<ReturnType<TestServer['tenant']>>;
  const dir = mkdtempSync(path.join(tmpdir(), 'vodgen-'));
  beforeAll(async () => {
    // With a master key: each generation's AES key is sealed bound to its video and generation, and still
    // opens after publishing moved it from hls_key to published_hls_key.
    s = await startTestServer({
      VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=2',
      VOD_MASTER_KEY: randomBytes(32).toString('base64url'),
    });
    t = await s.tenant('generations');
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, init: RequestInit = {}) =>
    fetch(url.startsWith('http') ? url : `${s.url}${url}`, init);
  const fetched = async (url: string) => {
    const res = await get(url);
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };
  const text = async (url: string) => {
    const res = await get(url);
    expect(res.status, url).toBe(200);
    return res.text();
  };
  const uris = (playlist: string) => [
    ...playlist
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
    ...[...playlist.matchAll(/URI="([^"]*)"/g)].map((m) => m[1]!),
  ];
  const template = (videoBitrate: number) =>
    createTemplate(s.url, t.auth, {
      name: `gen-${videoBitrate}`,
      renditions: [{ name: '240p', height: 240, videoBitrate }],
      hls: { segmentDuration: 2, encryption: 'aes-128' },
      mp4: 'highest',
    });
  const row = async (videoId: string) => (await s.ctx.videos.repo.find(t.id, videoId))!;

  /**
   * The URLs of generation `gen` a player fetches: segments as its media playlist names them (relative),
   * MP4 from the API's view, sprites from the storyboard VTT; `master` and `keyUri` as the playlists say.
   */
  const urlsOf = async (videoId: string, pid: string, gen: string) => {
    const master = await text(`/hls/${pid}/master.m3u8`);
    const media = `/hls/${pid}/${gen}/240p/index.m3u8`;
    const mediaText = await text(media);
    const segmentUri = uris(mediaText).find((u) => /seg-00000\.ts$/.test(u))!;
    const segment = new URL(segmentUri, `${s.url}${media}`).pathname;
    const keyUri = new URL(/#EXT-X-KEY:.*URI="([^"]+)"/.exec(mediaText)![1]!, `${s.url}${media}`).pathname;
    const view = (await (await get(`/v1/videos/${videoId}`, { headers: t.auth })).json()) as {
      playback: { mp4Urls: Record<string, string>; storyboardUrl: string };
    };
    const mp4 = new URL(view.playback.mp4Urls['240p']!).pathname;
    const vtt = await text(view.playback.storyboardUrl);
    const sprite = /^(\/storyboard\/[^#\s]+)#xywh=/m.exec(vtt)![1]!;
    return { master, keyUri, media, segment, key: `/hls/${pid}/${gen}/key`, mp4, sprite };
  };
  /**
   * What the playlist writer names (master: `{generation}/{rendition}/index.m3u8`; media playlists: the
   * key `/hls/{pid}/{generation}/key`). Soft: reported as failures, the rest of the test still runs.
   */
  const writerNames = (u: Awaited<ReturnType<typeof urlsOf>>, gen: string) => {
    expect.soft(u.master).toContain(`${gen}/240p/index.m3u8`);
    expect.soft(u.keyUri).toBe(u.key);
  };

  it('a retranscode gives every URL a new generation; old generations answer 404, old-style URLs keep working briefly cached', async () => {
    const clip = await makeClip(path.join(dir, 'c.mp4'), { duration: 4 });
    const [first, second] = [await template(300_000), await template(200_000)];
    const v = await uploadUntilReady(s.url, t.auth, clip, { templateId: first }, 120_000);
    const pid = v.playback.id;
    const gen1 = (await row(v.id)).published_generation!;
    expect(gen1).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

    const old = await urlsOf(v.id, pid, gen1);
    writerNames(old, gen1);
    expect(old.segment).toBe(`/hls/${pid}/${gen1}/240p/seg-00000.ts`);
    expect(old.mp4).toBe(`/mp4/${pid}/${gen1}/240p.mp4`);
    expect(old.sprite).toBe(`/storyboard/${pid}/${gen1}/storyboard-0.jpg`);
    const oldSegment = await fetched(old.segment);
    expect(oldSegment.res.status).toBe(200);
    for (const u of [old.segment, old.mp4, old.sprite]) {
      const r = await get(u);
      await r.arrayBuffer();
      expect(r.status, u).toBe(200);
      expect(r.headers.get('cache-control'), u).toBe('public, max-age=31536000, immutable');
    }
    const oldKey = await fetched(old.key);
    expect(oldKey.res.status).toBe(200);
    expect(oldKey.body.length).toBe(16);

    // Route precedence: `/hls/:pid/:gen/key` and `/hls/:pid/:rendition/:file` tell ULIDs from renditions.
    expect((await fetched(`/hls/${pid}/240p/key`)).res.status).toBe(404);
    expect((await fetched(`/hls/${pid}/${gen1}/index.m3u8`)).res.status).toBe(404);
    expect((await fetched(`/hls/${pid}/${gen1.toLowerCase()}/key`)).res.status).toBe(404);
    expect((await fetched(`/hls/${pid}/240p/index.m3u8`)).res.status).toBe(200);
    // A generation the video never had is not found, on every route that names one.
    const never = newId();
    for (const u of [
      `/hls/${pid}/${never}/240p/seg-00000.ts`,
      `/hls/${pid}/${never}/240p/index.m3u8`,
      `/hls/${pid}/${never}/key`,
      `/mp4/${pid}/${never}/240p.mp4`,
      `/storyboard/${pid}/${never}/storyboard-0.jpg`,
    ])
      expect((await fetched(u)).res.status, u).toBe(404);

    // Retranscode and wait until the new generation is published and served (lookups are cached 2 s).
    const re = await get(`/v1/videos/${v.id}/retranscode`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ templateId: second }),
    });
    expect(re.status).toBe(202);
    const gen2 = (
      await waitFor(
        async () => {
          const r = await row(v.id);
          return r.published_generation !== gen1 && r.status === 'ready' ? r : undefined;
        },
        150_000,
        'the retranscoded generation',
      )
    ).published_generation!;
    await waitFor(
      async () => ((await fetched(`/hls/${pid}/${gen2}/key`)).res.status === 200 ? true : undefined),
      5000,
      'the new generation to be served',
    );

    const fresh = await urlsOf(v.id, pid, gen2);
    writerNames(fresh, gen2);
    expect(fresh.master).not.toContain(gen1);
    expect(fresh.segment).toBe(`/hls/${pid}/${gen2}/240p/seg-00000.ts`);
    expect(fresh.mp4).toBe(`/mp4/${pid}/${gen2}/240p.mp4`);
    expect(fresh.sprite).toBe(`/storyboard/${pid}/${gen2}/storyboard-0.jpg`);
    for (const k of ['media', 'segment', 'key', 'mp4', 'sprite'] as const) expect(fresh[k]).not.toBe(old[k]);
    for (const u of [fresh.segment, fresh.mp4, fresh.sprite]) {
      const r = await get(u);
      await r.arrayBuffer();
      expect(r.status, u).toBe(200);
      expect(r.headers.get('cache-control'), u).toContain('immutable');
    }
    expect((await fetched(fresh.key)).body.length).toBe(16);

    // The old generation's URLs answer 404, never the new bytes: even when an object is back at the old
    // generation's key, the route does not serve a generation that is not the served one.
    await s.ctx.ports.storage.put(segmentKey(t.id, v.id, gen1, '240p', 0), oldSegment.body, {
      contentType: 'video/mp2t',
    });
    for (const u of [old.segment, old.media, old.key, old.mp4, old.sprite]) {
      const r = await fetched(u);
      expect(r.res.status, u).toBe(404);
      expect(r.body.equals(oldSegment.body), u).toBe(false);
    }

    // Old-style URLs (older playlists and clients) serve the current generation, briefly cached.
    for (const u of [
      `/hls/${pid}/240p/seg-00000.ts`,
      `/mp4/${pid}/240p.mp4`,
      `/storyboard/${pid}/storyboard-0.jpg`,
    ]) {
      const r = await get(u);
      await r.arrayBuffer();
      expect(r.status, u).toBe(200);
      expect(r.headers.get('cache-control'), u).toBe('public, max-age=60');
    }
    const plain = await get(`/hls/${pid}/240p/index.m3u8`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=2');
    await plain.arrayBuffer();
    const key = await fetched(`/hls/${pid}/key`);
    expect(key.res.status).toBe(200);
    expect(key.body.length).toBe(16);

    // The key belongs to a generation: a later retranscode records a new generation with a key of its own,
    // and until that one is published, players of the published generation still get its key (before
    // migration 013 the video had one key, replaced when the retranscode began: segments stopped decrypting).
    const publishedKey = (await fetched(fresh.key)).body;
    const r2 = await row(v.id);
    expect(r2.published_hls_key).toMatch(/^v1:[0-9a-f]{8}:/);
    const nextGeneration = newId();
    await s.ctx.videos.repo.recordPlan(t.id, v.id, {
      durationSec: r2.duration!,
      width: r2.width,
      height: r2.height,
      sourceInfo: JSON.parse(r2.source_info!),
      renditions: JSON.parse(r2.renditions),
      plan: { ...JSON.parse(r2.plan!), generation: nextGeneration },
      hlsKey: sealKey(randomBytes(16), s.ctx.box, v.id, nextGeneration),
    });
    await new Promise((r) => setTimeout(r, 2_100)); // the stream's lookup cache
    for (const u of [fresh.key, `/hls/${pid}/key`]) {
      const k = await fetched(u);
      expect(k.res.status, u).toBe(200);
      expect(k.body.equals(publishedKey), u).toBe(true);
    }
  }, 300_000);
});
