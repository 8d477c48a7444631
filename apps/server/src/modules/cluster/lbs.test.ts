import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../../../../../test/support/app';
import type { ServiceInstance } from '../../ports/registry';
import { LOAD_TIE, leastLoaded } from './node';

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

/** mulberry32: a small seeded PRNG, so the spread below is the same on every run and cannot flake. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const node = (id: string, load: number, weight = 1): ServiceInstance => ({
  service: 'vod-upload',
  id,
  host: '127.0.0.1',
  port: 1,
  roles: ['upload'],
  weight,
  metadata: { url: `http://${id}.test:1` },
  load,
  startedAt: new Date().toISOString(),
});

describe('finding: upload node choice sends every upload to the same node when loads are equal', () => {
  const share = (nodes: ServiceInstance[], n: number, random: () => number) => {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const id = leastLoaded(nodes, random)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };

  it('spreads 200 choices over 2 equally loaded nodes (each 35-65 %), in either listing order', () => {
    for (const seed of [1, 2, 3, 42, 2026]) {
      for (const nodes of [
        [node('up-a', 0.2), node('up-b', 0.2)],
        [node('up-b', 0.2), node('up-a', 0.2)],
      ]) {
        const counts = share(nodes, 200, seeded(seed));
        for (const id of ['up-a', 'up-b']) {
          expect(counts.get(id) ?? 0).toBeGreaterThanOrEqual(70);
          expect(counts.get(id) ?? 0).toBeLessThanOrEqual(130);
        }
      }
    }
  });

  it('treats loads within LOAD_TIE as equal, prefers a clearly less-loaded node, and follows weights', () => {
    const near = share([node('up-a', 0.1), node('up-b', 0.1 + LOAD_TIE / 2)], 200, seeded(7));
    expect(near.get('up-a')).toBeGreaterThanOrEqual(70);
    expect(near.get('up-b')).toBeGreaterThanOrEqual(70);
    const clear = share([node('up-a', 0.9), node('up-b', 0.1)], 200, seeded(7));
    expect(clear.get('up-b')).toBe(200);
    const weighted = share([node('up-a', 0, 3), node('up-b', 0, 1)], 400, seeded(9));
    expect(weighted.get('up-a')).toBeGreaterThanOrEqual(260); // 75 % expected
    expect(weighted.get('up-a')).toBeLessThanOrEqual(340);
    expect(leastLoaded([])).toBeUndefined();
  });

  it('POST /v1/uploads on an idle 2-upload-node cluster hands out both nodes', async () => {
    const t = await startTestApp({ VOD_ROLES: 'api', VOD_REGISTRY_URL: `local://lbs-tie-${run}` });
    const registry = t.ctx.ports.registry;
    const handles = [
      await registry.register('vod-upload', {
        id: 'tie-a',
        host: '127.0.0.1',
        port: 1,
        load: 0.3,
        metadata: { url: 'http://tie-a.test:1' },
      }),
      await registry.register('vod-upload', {
        id: 'tie-b',
        host: '127.0.0.1',
        port: 1,
        load: 0.3,
        metadata: { url: 'http://tie-b.test:1' },
      }),
    ];
    try {
      const { auth } = await t.tenant('lbs-tie');
      const hosts = new Map<string, number>();
      // 40 uploads: all on one node would have a chance of 2^-39 with a fair choice.
      for (let i = 0; i < 40; i++) {
        const created = await t.app.inject({
          method: 'POST',
          url: '/v1/uploads',
          headers: auth,
          payload: {},
        });
        expect(created.statusCode).toBe(201);
        const host = new URL(created.json().url).host;
        hosts.set(host, (hosts.get(host) ?? 0) + 1);
      }
      expect([...hosts.keys()].sort()).toEqual(['tie-a.test:1', 'tie-b.test:1']);
    } finally {
      for (const h of handles) await h.unregister();
      await t.close();
    }
  });
});
