// docs/api.md matches the code: every `METHOD /path` it names (outside its Planned part) is routed by a
// server with every role, asked as written with sample parameters: the answer is the route's own (401,
// 404 of a missing resource, 400 …), never the "no route" 404 or a 405 of another method.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { contractPaths, samplePath } from './contract-paths';

describe('docs/api.md names only routes the server has', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ VOD_ROLES: 'api,upload,stream,worker,monitor', VOD_RATE_LIMIT_PER_MINUTE: '0' });
  });
  afterAll(async () => t?.close());

  it('routes every path of docs/api.md outside "Planned"', async () => {
    const paths = contractPaths();
    const served = paths.filter((p) => !p.planned);
    expect(served.length).toBeGreaterThan(40);
    const missing: string[] = [];
    for (const p of served) {
      const res = await t.app.inject({
        method: p.method as 'GET',
        url: samplePath(p.path),
        headers: { 'tus-resumable': '1.0.0' },
      });
      const body = res.headers['content-type']?.toString().includes('json') ? res.json() : {};
      const unrouted =
        res.statusCode === 405 ||
        (res.statusCode === 404 && String(body.detail ?? '').startsWith('No route'));
      if (unrouted) missing.push(`${p.method} ${p.path} → ${res.statusCode} ${body.detail ?? ''}`);
    }
    expect(missing).toEqual([]);
  });

  it('has no planned paths left: every path it names is served (a new one goes under "Planned" until routed)', () => {
    expect(
      contractPaths()
        .filter((p) => p.planned)
        .map((p) => `${p.method} ${p.path}`),
    ).toEqual([]);
  });
});
