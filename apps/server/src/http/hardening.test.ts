import { createHmac } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../test/support/app';
import { type FakeVideo, fakePublishedVideo } from '../../../../test/support/fake-video';

// Issue 13: what a black-box probe of the HTTP layer found, each fixed and kept fixed here.

function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body as { detail: string; requestId: string };
}

describe('HTTP hardening (issue 13)', () => {
  let t: TestApp;
  let tenant: Awaited<ReturnType<TestApp['tenant']>>;
  let video: FakeVideo;

  beforeAll(async () => {
    t = await startTestApp({ VOD_METRICS_TOKEN: 'metrics-token-0123456789' });
    tenant = await t.tenant('hardening');
    video = await fakePublishedVideo(t, tenant);
  });
  afterAll(async () => t?.close());

  it('finding: lower-case bearer is accepted (RFC 7235: the scheme is case-insensitive)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr', 'Bearer']) {
      const res = await t.app.inject({
        url: '/v1/videos',
        headers: { authorization: `${scheme} ${tenant.key}` },
      });
      expect(res.statusCode, `${scheme}: ${res.body}`).toBe(200);
    }
    // The tus endpoint too, with an upload token.
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: tenant.auth,
      payload: {},
    });
    expect(created.statusCode, created.body).toBe(201);
    const { url, headers } = created.json() as { url: string; headers: { Authorization: string } };
    const tus = await t.app.inject({
      method: 'POST',
      url: new URL(url).pathname,
      headers: {
        authorization: headers.Authorization.replace(/^Bearer/, 'bearer'),
        'tus-resumable': '1.0.0',
        'upload-length': '10',
      },
    });
    expect(tus.statusCode, tus.body).toBe(201);
    // Still refused: another scheme, or a scheme with no credentials.
    for (const authorization of [`Basic ${tenant.key}`, 'bearer', `bearer${tenant.key}`])
      expectProblem(
        await t.app.inject({ url: '/v1/videos', headers: { authorization } }),
        401,
        'unauthorized',
      );
  });

  it('finding: X-Content-Type-Options: nosniff on API, problems, HLS, MP4 and thumbnails', async () => {
    const responses = {
      api: await t.app.inject({ url: '/v1/videos', headers: tenant.auth }),
      problem: await t.app.inject({ url: '/v1/videos' }),
      notFound: await t.app.inject({ url: '/nothing/here' }),
      hls: await t.app.inject({ url: `/hls/${video.pid}/master.m3u8` }),
      mp4: await t.app.inject({ url: `/mp4/${video.pid}/240p.mp4` }),
      mp4Range: await t.app.inject({ url: `/mp4/${video.pid}/240p.mp4`, headers: { range: 'bytes=0-3' } }),
      thumbnail: await t.app.inject({ url: `/thumb/${video.pid}.jpg` }),
      livez: await t.app.inject({ url: '/livez' }),
    };
    expect(responses.hls.statusCode, responses.hls.body).toBe(200);
    expect(responses.mp4.statusCode).toBe(200);
    expect(responses.mp4.rawPayload.equals(video.mp4)).toBe(true);
    expect(responses.mp4Range.statusCode).toBe(206);
    expect(responses.thumbnail.statusCode, responses.thumbnail.body).toBe(200);
    for (const [what, res] of Object.entries(responses))
      expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  });

  it('finding: /mp4/{pid}/constructor.mp4 is a 404 problem, not a 500 (prototype names)', async () => {
    // The probe's 500 came from using `outputs.mp4[name]` (Object.prototype's function) as the object key;
    // keys now come from layout.ts, but a name the outputs do not own must not reach storage at all.
    const storage = t.ctx.ports.storage;
    const touched: string[] = [];
    const { get, head } = storage;
    storage.get = (key, o) => {
      touched.push(key);
      return get.call(storage, key, o);
    };
    storage.head = (key) => {
      touched.push(key);
      return head.call(storage, key);
    };
    try {
      for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '720p']) {
        for (const url of [
          `/mp4/${video.pid}/${name}.mp4`,
          `/mp4/${video.pid}/${video.generation}/${name}.mp4`,
        ]) {
          for (const method of ['GET', 'HEAD'] as const) {
            const res = await t.app.inject({ method, url });
            expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
            if (method === 'GET')
              expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
          }
        }
      }
      expect(touched, 'storage reads for names the outputs do not have').toEqual([]);
    } finally {
      storage.get = get;
      storage.head = head;
    }
    expect((await t.app.inject({ url: `/mp4/${video.pid}/240p.mp4` })).statusCode).toBe(200);
  });

  it('an RPC method named like a prototype property is not_found, not a 500 (same class as constructor.mp4)', async () => {
    const key = createHmac('sha256', t.ctx.secret).update('vodcloud-rpc-v1').digest('base64url');
    const service = t.ctx.rpc.provided()[0]?.replace(/^rpc-/, '');
    expect(service, 'this node provides an RPC service').toBeDefined();
    for (const method of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/internal/rpc/${service}/${method}`,
        headers: { 'x-vod-rpc-key': key, 'content-type': 'application/json' },
        payload: {},
      });
      expectProblem(res, 404, 'not_found');
    }
  });

  it('finding: a path parameter over 100 characters is a problem+json with the request id, no echo', async () => {
    const long = 'a'.repeat(300);
    for (const url of [`/v1/videos/${long}`, `/mp4/${long}/240p.mp4`, `/hls/${long}/master.m3u8`]) {
      const res = await t.app.inject({ url, headers: { ...tenant.auth, 'x-request-id': 'long-param-1' } });
      const body = expectProblem(res, 404, 'not_found');
      expect(body.requestId).toBe('long-param-1');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.body).not.toContain(long);
    }
    // A URL that cannot be decoded: the same, as a 400.
    const bad = await t.app.inject({ url: '/v1/videos/%E0%A4%A' });
    expectProblem(bad, 400, 'bad_request');
    expect(bad.body).not.toContain('%E0');
  });

  it('finding: an unsupported method on a known path is 405 with Allow, an unknown path stays 404', async () => {
    const cases: Array<[string, string, string[]]> = [
      ['PUT', '/v1/videos', ['GET', 'HEAD', 'POST']],
      ['DELETE', '/v1/videos', ['GET', 'HEAD', 'POST']],
      ['PUT', `/v1/videos/${video.id}`, ['DELETE', 'GET', 'HEAD', 'PATCH']],
      ['POST', '/livez', ['GET', 'HEAD']],
      ['DELETE', `/mp4/${video.pid}/240p.mp4`, ['GET', 'HEAD']],
      ['GET', '/v1/videos/batch-delete/x', []],
    ];
    for (const [method, url, allowed] of cases) {
      const res = await t.app.inject({ method: method as 'PUT', url, headers: tenant.auth });
      if (allowed.length === 0) {
        expectProblem(res, 404, 'not_found');
        continue;
      }
      expectProblem(res, 405, 'method_not_allowed');
      const allow = String(res.headers.allow).split(/,\s*/);
      expect(allow, `${method} ${url}`).toEqual(expect.arrayContaining(allowed));
      expect(allow).not.toContain(method);
    }
    expectProblem(await t.app.inject({ method: 'PUT', url: '/no/such/path' }), 404, 'not_found');
  });

  it('finding: /metrics can be protected with a bearer token (VOD_METRICS_TOKEN); health checks stay public', async () => {
    const anonymous = await t.app.inject({ url: '/metrics' });
    expectProblem(anonymous, 401, 'unauthorized');
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    expectProblem(
      await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } }),
      401,
      'unauthorized',
    );
    const ok = await t.app.inject({
      url: '/metrics',
      headers: { authorization: 'bearer metrics-token-0123456789' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toMatch(/vod_http_requests_total/);
    expect((await t.app.inject({ url: '/livez' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('rate limiting of requests without a valid key (issue 13)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(); // the defaults: 1200 per key, 300 failed authentications per address
  });
  afterAll(async () => t?.close());

  it('finding: requests with no key or an unknown key are rate-limited per address (1,205 × 401 → 429s)', async () => {
    const tenant = await t.tenant('anon-limit');
    let lookups = 0;
    const authenticate = t.ctx.tenants.authenticate.bind(t.ctx.tenants);
    t.ctx.tenants.authenticate = async (key: string) => {
      lookups++;
      return authenticate(key);
    };
    const counts: Record<number, number> = {};
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 1205; i++) {
      const headers = i % 2 ? { authorization: `Bearer unknown-key-${i}-padding-padding` } : {};
      last = await t.app.inject({ url: '/v1/videos', headers });
      counts[last.statusCode] = (counts[last.statusCode] ?? 0) + 1;
    }
    expect(counts[401]).toBe(300);
    expect(counts[429]).toBe(905);
    expectProblem(last!, 429, 'rate_limited');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    // Once the address is blocked, bad keys cost no key lookup any more (150 unknown keys came before).
    expect(lookups).toBe(150);
    t.ctx.tenants.authenticate = authenticate;
    // A valid key never used from here waits too (it would cost a lookup); see the next test for one that was.
    expectProblem(await t.app.inject({ url: '/v1/videos', headers: tenant.auth }), 429, 'rate_limited');
  });

  it('a key that authenticated recently still passes while its address is blocked', async () => {
    const t2 = await startTestApp({ VOD_RATE_LIMIT_ANON_PER_MINUTE: '5' });
    try {
      const tenant = await t2.tenant('nat');
      expect((await t2.app.inject({ url: '/v1/videos', headers: tenant.auth })).statusCode).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await t2.app.inject({ url: '/v1/videos' })).statusCode);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
      expect((await t2.app.inject({ url: '/v1/videos', headers: tenant.auth })).statusCode).toBe(200);
      // Public routes are not affected.
      expect((await t2.app.inject({ url: '/livez' })).statusCode).toBe(200);
    } finally {
      await t2.close();
    }
  });

  it('VOD_TRUST_PROXY: behind a trusted proxy each client (X-Forwarded-For) has its own limit; a forwarded address from an untrusted peer is ignored', async () => {
    const fails = async (t: Awaited<ReturnType<typeof startTestApp>>, client: string, n: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++)
        statuses.push(
          (await t.app.inject({ url: '/v1/videos', headers: { 'x-forwarded-for': client } })).statusCode,
        );
      return statuses;
    };
    // inject() comes from 127.0.0.1: trusted here, so the forwarded address counts.
    const trusted = await startTestApp({ VOD_RATE_LIMIT_ANON_PER_MINUTE: '3', VOD_TRUST_PROXY: 'loopback' });
    try {
      expect(await fails(trusted, '203.0.113.7', 4)).toEqual([401, 401, 401, 429]);
      expect(await fails(trusted, '198.51.100.9', 1)).toEqual([401]);
    } finally {
      await trusted.close();
    }
    // The proxy named is not the peer: X-Forwarded-For is a client's claim, and the peer's address counts.
    const other = await startTestApp({ VOD_RATE_LIMIT_ANON_PER_MINUTE: '3', VOD_TRUST_PROXY: '10.0.0.0/8' });
    try {
      expect(await fails(other, '203.0.113.7', 3)).toEqual([401, 401, 401]);
      expect(await fails(other, '198.51.100.9', 1)).toEqual([429]);
    } finally {
      await other.close();
    }
  });
});
