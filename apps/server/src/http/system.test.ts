import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, startTestServer, type TestApp } from '../../../../test/support/app';

describe('system endpoints and cross-cutting HTTP behaviour', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ VOD_RATE_LIMIT_PER_MINUTE: '5', VOD_CORS_ORIGINS: 'https://console.example' });
  });
  afterAll(async () => t?.close());

  it('serves /livez and /readyz with each port checked', async () => {
    expect((await t.app.inject({ url: '/livez' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.map((c: { name: string }) => c.name)).toContain('database');
  });

  it('publishes an OpenAPI 3.1 document generated from the schemas, and a docs page', async () => {
    const res = await t.app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    for (const p of [
      '/v1/tenants',
      '/v1/tenants/{id}/api-keys',
      '/v1/tenants/{id}/api-keys/{keyId}',
      '/v1/videos',
      '/v1/videos/{id}',
      '/v1/videos/batch-delete',
      '/v1/templates/{id}',
      '/v1/categories/{id}',
    ]) {
      expect(doc.paths, p).toHaveProperty([p]);
    }
    const create = doc.paths['/v1/videos'].post;
    expect(create.requestBody.content['application/json'].schema).toBeDefined();
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401']));
    // Errors are documented with the media type they are sent with; successes stay application/json.
    expect(Object.keys(create.responses['400'].content)).toEqual(['application/problem+json']);
    expect(Object.keys(create.responses['201'].content)).toEqual(['application/json']);
    // …every error as problem+json (tus protocol errors also as the text/plain tus clients read).
    const errorTypes = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths) as Array<
      [string, Record<string, { responses: Record<string, { content?: object }> }>]
    >)
      for (const op of Object.values(ops))
        for (const [status, r] of Object.entries(op.responses ?? {}))
          if (/^[45]/.test(status))
            for (const type of Object.keys(r.content ?? {}))
              errorTypes.add(p.startsWith('/tus') ? `tus ${type}` : type);
    expect([...errorTypes].sort()).toEqual([
      'application/problem+json',
      'tus application/problem+json',
      'tus text/plain',
    ]);
    const docs = await t.app.inject({ url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toMatch(/swagger/i);
  });

  it('exports Prometheus metrics with request counts and latency by route and status', async () => {
    await t.app.inject({ url: '/v1/videos' }); // a 401
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toMatch(/vod_http_requests_total\{method="GET",route="\/v1\/videos",status="401"\} \d+/);
    expect(res.body).toMatch(
      /vod_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/videos",status="401"\}/,
    );
    // prom-client's process metrics keep their standard names (no vod_ prefix).
    expect(res.body).toMatch(/^process_cpu_seconds_total \d/m);
    expect(res.body).not.toMatch(/^vod_process_/m);
  });

  it('echoes a safe request id or makes one, and puts it in problems', async () => {
    const given = await t.app.inject({ url: '/v1/nothing', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    expect(given.json().requestId).toBe('abc-123');
    const unsafe = await t.app.inject({ url: '/v1/nothing', headers: { 'x-request-id': 'a b\u0001' } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('allows configured CORS origins only', async () => {
    const ok = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/videos',
      headers: { origin: 'https://console.example', 'access-control-request-method': 'GET' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe('https://console.example');
    const other = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/videos',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('rate-limits per API key with 429 and Retry-After, without touching other keys', async () => {
    const a = await t.tenant('limited');
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof t.app.inject>> | undefined;
    for (let i = 0; i < 8; i++) {
      last = await t.app.inject({ url: '/v1/videos', headers: a.auth });
      statuses.push(last.statusCode);
    }
    expect(statuses.filter((s) => s === 200).length).toBe(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(last!.headers['content-type']).toMatch(/problem\+json/);
    expect(last!.json().code).toBe('rate_limited');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    // Health endpoints are never limited.
    for (let i = 0; i < 8; i++) expect((await t.app.inject({ url: '/livez' })).statusCode).toBe(200);
  });
});

describe('roles', () => {
  it('mounts the public API only on nodes with the api role; health and metrics everywhere', async () => {
    const t = await startTestApp({ VOD_ROLES: 'stream' });
    try {
      const res = await t.app.inject({
        url: '/v1/videos',
        headers: { authorization: `Bearer ${t.adminKey}` },
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('not_found');
      expect((await t.app.inject({ url: '/livez' })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('upload node selection', () => {
  it('hands clients the least-loaded registered upload node', async () => {
    const t = await startTestApp({ VOD_REGISTRY_URL: `local://lbs-${Date.now()}` });
    try {
      const a = await t.tenant('lbs');
      const registry = t.ctx.ports.registry;
      await registry.register('vod-upload', {
        id: 'busy',
        host: '10.0.0.5',
        port: 8080,
        load: 0.9,
        metadata: { url: 'http://busy.example:8080' },
      });
      await registry.register('vod-upload', {
        id: 'idle',
        host: '10.0.0.6',
        port: 8080,
        load: 0.1,
        metadata: { url: 'http://idle.example:8080' },
      });
      await new Promise((r) => setTimeout(r, 20));
      const first = await t.app.inject({ method: 'POST', url: '/v1/uploads', headers: a.auth, payload: {} });
      expect(first.statusCode).toBe(201);
      expect(first.json().url).toBe('http://idle.example:8080/tus');
      // Loads change: the choice follows.
      const handle = await registry.register('vod-upload', {
        id: 'idle',
        host: '10.0.0.6',
        port: 8080,
        load: 0.95,
        metadata: { url: 'http://idle.example:8080' },
      });
      await new Promise((r) => setTimeout(r, 20));
      const second = await t.app.inject({ method: 'POST', url: '/v1/uploads', headers: a.auth, payload: {} });
      expect(second.json().url).toBe('http://busy.example:8080/tus');
      await handle.unregister();
    } finally {
      await t.close();
    }
  });

  it('VOD_UPLOAD_URL: an upload node behind a load balancer hands out upload URLs on it, and is still reached on its advertise URL', async () => {
    const registryUrl = `local://lbs-upload-url-${Date.now()}`;
    const t = await startTestServer({
      VOD_REGISTRY_URL: registryUrl,
      VOD_ADVERTISE_URL: 'http://10.1.2.3:8080',
      VOD_UPLOAD_URL: 'https://vod.example.test/',
    });
    try {
      const a = await t.tenant('upload-url');
      const registry = t.ctx.ports.registry;
      // Another upload node registered by a node of this version, less loaded than any.
      await registry.register('vod-upload', {
        id: 'pod-b',
        host: '10.1.2.4',
        port: 8080,
        load: 0,
        metadata: { url: 'http://10.1.2.4:8080', uploadUrl: 'https://vod.example.test' },
      });
      await new Promise((r) => setTimeout(r, 20));
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: a.auth,
        payload: {},
      });
      expect(created.statusCode).toBe(201);
      expect(created.json().url).toBe('https://vod.example.test/tus');
      // This node's tus Location is on the upload URL too (not on its advertise URL).
      const tus = await t.app.inject({
        method: 'POST',
        url: '/tus',
        headers: { ...created.json().headers, 'tus-resumable': '1.0.0', 'upload-length': '10' },
      });
      expect(tus.statusCode).toBe(201);
      expect(tus.headers.location).toMatch(/^https:\/\/vod\.example\.test\/tus\/[^/]+$/);
      // Its own registration carries both: other nodes call it on the advertise URL.
      const self = registry.list('vod-upload').find((n) => n.id !== 'pod-b');
      expect(self?.metadata).toMatchObject({
        url: 'http://10.1.2.3:8080',
        uploadUrl: 'https://vod.example.test',
      });
    } finally {
      await t.close();
    }
  });
});
