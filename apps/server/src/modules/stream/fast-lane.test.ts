import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { waitFor } from '../../../../../test/support/uploads';
import {
  createTemplate,
  makeClip,
  type ReadyVideo,
  uploadUntilReady,
} from '../../../../../test/support/videos';

/**
 * The fast lane (fast-lane.ts) answers HLS requests whose inputs are all cached, before Fastify: the same
 * answer as the route's, byte for byte and header for header, counted the same; anything it may not decide
 * alone (a refusal, a conditional or Range request, a miss) is the route's.
 */
describe('the stream fast lane', () => {
  let s: TestServer;
  let t: Awaited<ReturnType<TestServer['tenant']>>;
  let signed: ReadyVideo;
  let pub: ReadyVideo;
  let token: string;
  const generations: Record<string, string> = {};
  const dir = mkdtempSync(path.join(tmpdir(), 'vodlane-'));

  beforeAll(async () => {
    s = await startTestServer({ VOD_DELIVERY_FLUSH_MS: '200', VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4' });
    t = await s.tenant('lane');
    const templateId = await createTemplate(s.url, t.auth, {
      name: 'lane',
      renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
      hls: { segmentDuration: 2 },
    });
    const clip = await makeClip(path.join(dir, 'clip.mp4'), { duration: 4 });
    [signed, pub] = await Promise.all([
      uploadUntilReady(s.url, t.auth, clip, { templateId, playbackPolicy: 'signed' }),
      uploadUntilReady(s.url, t.auth, clip, { templateId }),
    ]);
    const minted = await fetch(`${s.url}/v1/videos/${signed.id}/playback-tokens`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ aud: 'v', expiresIn: 600 }),
    });
    token = ((await minted.json()) as { token: string }).token;
    for (const v of [signed, pub])
      generations[v.id] = (await s.ctx.videos.repo.find(t.id, v.id))!.published_generation!;
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const laneCount = async () => (await s.ctx.metrics.fastLane.get()).values[0]?.value ?? 0;
  /** Status, headers (but the request id and date) and body of an answer, and whether the lane gave it. */
  const answer = async (url: string, headers: Record<string, string> = {}, method = 'GET') => {
    const before = await laneCount();
    const res = await fetch(url.startsWith('http') ? url : `${s.url}${url}`, { headers, method });
    const body = Buffer.from(await res.arrayBuffer()).toString('utf8');
    const h = Object.fromEntries([...res.headers].filter(([k]) => k !== 'x-request-id' && k !== 'date'));
    return { status: res.status, headers: h, body, lane: (await laneCount()) - before };
  };
  /** The route's answer: the lane leaves a request whose X-Forwarded-Host is not its Host to the route. */
  const viaRoute = { 'x-forwarded-host': 'elsewhere.example' };
  const playlists = () => {
    const master = (v: ReadyVideo, q = '') => `/hls/${v.playback.id}/master.m3u8${q}`;
    const q = `?token=${token}`;
    return [
      master(signed, q),
      `/hls/${signed.playback.id}/240p/index.m3u8${q}`,
      master(pub),
      `/hls/${pub.playback.id}/240p/index.m3u8`,
      `/hls/${signed.playback.id}/${generations[signed.id]}/240p/index.m3u8${q}`,
      `/hls/${pub.playback.id}/${generations[pub.id]}/240p/index.m3u8`,
    ];
  };

  it('answers a cached playlist exactly as the route does', async () => {
    for (const full of playlists()) {
      const route = await answer(full, viaRoute);
      expect([route.status, route.lane], full).toEqual([200, 0]);
      const lane = await answer(full);
      expect(lane.lane, full).toBe(1);
      expect(lane, full).toEqual({ ...route, lane: 1 });
      // HEAD: the same headers, no body.
      const head = await answer(full, {}, 'HEAD');
      const routeHead = await answer(full, viaRoute, 'HEAD');
      expect([head.lane, routeHead.lane, head.body]).toEqual([1, 0, '']);
      expect({ ...head, lane: 0 }).toEqual(routeHead);
    }
    // A signed playlist carries the request's token into every URI.
    const media = await answer(playlists()[1]!);
    expect(media.body).toContain(`seg-00000.ts?token=${token}`);
  });

  it('leaves refusals, conditional and Range requests to the route', async () => {
    const [signedMaster, , , pubMedia] = playlists();
    const etag = (await answer(pubMedia!)).headers.etag!;
    const notModified = await answer(pubMedia!, { 'if-none-match': etag });
    expect([notModified.status, notModified.lane]).toEqual([304, 0]);
    const range = await answer(pubMedia!, { range: 'bytes=0-9' });
    expect([range.status, range.lane, range.body]).toEqual([206, 0, '#EXTM3U\n#E']);
    const refused = [
      signedMaster!.replace(/\?token=.*/, ''),
      signedMaster!.replace(/token=.*/, 'token=eyJ.bad.token'),
      `${signedMaster}&token=${token}`,
      `/hls/${pub.playback.id}/master.m3u8?token=${token}`.replace(
        pub.playback.id,
        signed.playback.id.slice(1),
      ),
    ];
    for (const url of refused) {
      const r = await answer(url);
      expect([r.lane, r.status >= 400], url).toEqual([0, true]);
    }
    // A public video's playlist with some token: the token does not matter (the lane answers, caches filled).
    const other = `/hls/${pub.playback.id}/master.m3u8?token=${token}`;
    expect((await answer(other, viaRoute)).status).toBe(200);
    expect(await answer(other)).toMatchObject({ status: 200, lane: 1 });
    // Blocked: within the 2 s lookup cache, neither lane nor route plays it.
    const act = (what: string) =>
      fetch(`${s.url}/v1/videos/${pub.id}/${what}`, { method: 'POST', headers: t.auth });
    expect((await act('block')).status).toBe(200);
    await waitFor(async () => ((await answer(pubMedia!)).status === 404 ? true : undefined), 5000, 'block');
    expect((await answer(pubMedia!)).lane).toBe(0);
    expect((await act('unblock')).status).toBe(200);
    await waitFor(async () => ((await answer(pubMedia!)).status === 200 ? true : undefined), 5000, 'unblock');
  });

  it('counts its answers as the route counts its own', async () => {
    const total = async () => {
      await s.ctx.delivery.flush();
      const rows = await s.ctx.db.primary
        .selectFrom('delivery_stats')
        .selectAll()
        .where('video_id', 'in', [signed.id, pub.id])
        .execute();
      return {
        bytes: rows.reduce((a, r) => a + Number(r.bytes), 0),
        requests: rows.reduce((a, r) => a + Number(r.requests), 0),
      };
    };
    const base = await total();
    let bytes = 0;
    let lanes = 0;
    for (const url of playlists()) {
      for (const headers of [viaRoute, {}]) {
        const r = await answer(url, headers);
        bytes += Buffer.byteLength(r.body);
        lanes += r.lane;
      }
      lanes += (await answer(url, {}, 'HEAD')).lane;
    }
    expect(lanes).toBe(playlists().length * 2);
    const after = await total();
    expect(after.requests - base.requests).toBe(playlists().length * 3);
    expect(after.bytes - base.bytes).toBe(bytes);
  });
});
