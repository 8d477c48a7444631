import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { BeaconsRepository } from './repository';

describe('POST /v1/beacons', () => {
  let t: TestApp;
  let tenantId: string;
  let pub: { id: string; pid: string };
  let signed: { id: string; pid: string };
  let auth: { authorization: string };

  const create = async (policy: 'public' | 'signed') => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/videos',
      headers: auth,
      payload: { input: { url: 'http://127.0.0.1:9/clip.mp4' }, playbackPolicy: policy },
    });
    expect(r.statusCode, r.body).toBe(201);
    return { id: r.json().id as string, pid: r.json().playback.id as string };
  };

  beforeAll(async () => {
    t = await startTestApp();
    const ten = await t.tenant('beacons');
    tenantId = ten.id;
    auth = ten.auth;
    pub = await create('public');
    signed = await create('signed');
  });
  afterAll(() => t?.close());

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/beacons',
      headers: { 'content-type': 'application/json', 'user-agent': 'vitest-ua', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  const base = (pid: string) => ({ viewId: 'view-0123456789', playbackId: pid, position: 1.5 });

  it('stores a beacon of a public video (JSON and text/plain bodies), tenant from the video', async () => {
    const a = await post({ ...base(pub.pid), event: 'view_start' }, { referer: 'https://site.example/p' });
    expect(a.statusCode, a.body).toBe(202);
    const b = await post(JSON.stringify({ ...base(pub.pid), event: 'playing', startupMs: 420 }), {
      'content-type': 'text/plain;charset=UTF-8',
    });
    expect(b.statusCode, b.body).toBe(202);
    await t.ctx.stats.ingest.flush(); // buffered, written in batches
    const rows = await new BeaconsRepository(t.ctx.db).forVideo(tenantId, pub.id);
    expect(rows.map((r) => r.event)).toEqual(['view_start', 'playing']);
    expect(rows[0]).toMatchObject({
      tenant_id: tenantId,
      playback_id: pub.pid,
      view_id: 'view-0123456789',
      position: 1.5,
      user_agent: 'vitest-ua',
      referrer: 'https://site.example/p',
      startup_ms: null,
    });
    expect(rows[1]!.startup_ms).toBe(420);
  });

  it('400 on a bad body, 404 on an unknown playback id, 413 on a huge body', async () => {
    expect((await post({ ...base(pub.pid), event: 'nope' })).statusCode).toBe(400);
    expect((await post({ ...base(pub.pid), event: 'heartbeat', position: -1 })).statusCode).toBe(400);
    expect((await post({ ...base(pub.pid), event: 'heartbeat', extra: 1 })).statusCode).toBe(400);
    expect((await post('not json', { 'content-type': 'text/plain' })).statusCode).toBe(400);
    expect((await post({ ...base('Unknown0123456789'), event: 'view_start' })).statusCode).toBe(404);
    expect((await post({ ...base(pub.pid), event: 'error', error: 'x'.repeat(70_000) })).statusCode).toBe(
      413,
    );
    // a batch: at most 100 events, one view's
    const events = (n: number) => Array.from({ length: n }, (_, i) => ({ event: 'heartbeat', position: i }));
    const batch = { viewId: 'view-0123456789', playbackId: pub.pid };
    expect((await post({ ...batch, events: events(101) })).statusCode).toBe(400);
    expect((await post({ ...batch, events: [] })).statusCode).toBe(400);
    expect(
      (await post({ ...batch, events: [{ event: 'heartbeat', position: 1, bogus: 1 }] })).statusCode,
    ).toBe(400);
  });

  it('a signed video needs a valid token for aud v in the body', async () => {
    expect((await post({ ...base(signed.pid), event: 'view_start' })).statusCode).toBe(403);
    const mint = async (aud: string) =>
      (
        await t.app.inject({
          method: 'POST',
          url: `/v1/videos/${signed.id}/playback-tokens`,
          headers: auth,
          payload: { aud },
        })
      ).json().token as string;
    const thumb = await mint('t');
    expect((await post({ ...base(signed.pid), event: 'view_start', token: thumb })).statusCode).toBe(403);
    const token = await mint('v');
    const ok = await post({ ...base(signed.pid), event: 'view_start', token });
    expect(ok.statusCode, ok.body).toBe(202);
    await t.ctx.stats.ingest.flush();
    const rows = await new BeaconsRepository(t.ctx.db).forVideo(tenantId, signed.id);
    expect(rows).toHaveLength(1);
  });

  it('has its own per-address limit (VOD_BEACON_RATE_PER_MINUTE), not the API one', async () => {
    const small = await startTestApp({ VOD_BEACON_RATE_PER_MINUTE: '3', VOD_RATE_LIMIT_PER_MINUTE: '2' });
    try {
      const ten = await small.tenant('limits');
      const r = await small.app.inject({
        method: 'POST',
        url: '/v1/videos',
        headers: ten.auth,
        payload: { input: { url: 'http://127.0.0.1:9/clip.mp4' } },
      });
      const pid = r.json().playback.id as string;
      const send = (address: string) =>
        small.app.inject({
          method: 'POST',
          url: '/v1/beacons',
          remoteAddress: address,
          headers: { 'content-type': 'application/json' },
          payload: {
            viewId: 'view-limits-1',
            playbackId: pid,
            events: [{ event: 'heartbeat', position: 1 }],
          },
        });
      // The API's limit (2 a minute per key or address) does not apply to beacons: 3 from one address pass, the
      // fourth is refused by the beacon limit; another address has its own 3.
      for (let i = 0; i < 3; i++) expect((await send('203.0.113.7')).statusCode).toBe(202);
      const refused = await send('203.0.113.7');
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) expect((await send('203.0.113.8')).statusCode).toBe(202);
      expect((await send('203.0.113.8')).statusCode).toBe(429);
    } finally {
      await small.close();
    }
  });
});
