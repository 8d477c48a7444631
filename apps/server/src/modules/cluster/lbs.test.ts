import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../../../../../test/support/app';

const run = randomBytes(4).toString('hex');

describe('LBS: the api hands out a healthy upload node and stream URLs', async () => {
  const t = await startTestApp({ VOD_ROLES: 'api', VOD_REGISTRY_URL: `local://lbs-${run}` });
  const registry = t.ctx.ports.registry;
  const { auth } = await t.tenant('lbs');
  const reg = (service: string, id: string, url: string, load = 0) =>
    registry.register(service, { id, host: '127.0.0.1', port: 1, load, metadata: { url } });
  const upA = await reg('vod-upload', 'up-a', 'http://up-a.test:1', 0.1);
  const upB = await reg('vod-upload', 'up-b', 'http://up-b.test:1', 0.9);
  const stA = await reg('vod-stream', 'st-a', 'http://st-a.test:1');
  const stB = await reg('vod-stream', 'st-b', 'http://st-b.test:1');
  afterAll(async () => {
    for (const h of [upA, upB, stA, stB]) await h.unregister();
    await t.close();
  });
  const hlsUrls = async (n: number) => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: auth,
      payload: { title: 'lbs' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().videoId as string;
    const out = new Set<string>();
    for (let i = 0; i < n; i++) {
      const v = await t.app.inject({ method: 'GET', url: `/v1/videos/${id}`, headers: auth });
      out.add(new URL(v.json().playback.hlsUrl).host);
    }
    return { out, upload: new URL(created.json().url).host };
  };

  it('uploads go to the least-loaded upload node; playback URLs spread over the stream nodes', async () => {
    const { out, upload } = await hlsUrls(40);
    expect(upload).toBe('up-a.test:1');
    expect([...out].sort()).toEqual(['st-a.test:1', 'st-b.test:1']);
  });

  it('instances the sentinel marks unhealthy are not handed out', async () => {
    const s = await registry.register('vod-sentinel', {
      id: 'sentinel-1',
      host: '127.0.0.1',
      port: 1,
      metadata: { unhealthy: ['up-a', 'st-b'] },
    });
    try {
      const { out, upload } = await hlsUrls(20);
      expect(upload).toBe('up-b.test:1');
      expect([...out]).toEqual(['st-a.test:1']);
    } finally {
      await s.unregister();
    }
  });
});

describe('LBS with a CDN in front', async () => {
  const t = await startTestApp({ VOD_ROLES: 'api,upload', VOD_CDN_URL: 'https://cdn.example.test/' });
  afterAll(() => t.close());
  it('playback URLs use the CDN base', async () => {
    const { auth } = await t.tenant('cdn');
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: auth,
      payload: { title: 'lbs' },
    });
    const v = await t.app.inject({
      method: 'GET',
      url: `/v1/videos/${created.json().videoId}`,
      headers: auth,
    });
    expect(v.json().playback.hlsUrl).toMatch(
      /^https:\/\/cdn\.example\.test\/hls\/[A-Za-z0-9_-]+\/master\.m3u8$/,
    );
  });
});
