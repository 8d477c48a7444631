import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { objectSha, sha256, waitFor } from '../../../../../test/support/uploads';

describe('import from a URL (POST /v1/videos with input.url)', () => {
  const body = randomBytes(5 * 1024 * 1024 + 11);
  let origin: http.Server;
  let port = 0;
  let hits = 0;
  let s: TestServer;
  let t: Awaited<ReturnType<TestServer['tenant']>>;

  beforeAll(async () => {
    origin = http.createServer((req, res) => {
      hits++;
      if (req.url === '/video.mp4') {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(body.length) });
        res.end(body);
      } else if (req.url === '/redirect-private') {
        res.writeHead(302, { location: 'http://10.0.0.1/secret.mp4' });
        res.end();
      } else if (req.url === '/page') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html></html>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
    port = (origin.address() as AddressInfo).port;
    s = await startTestServer({ VOD_FETCH_ALLOW_HOSTS: `127.0.0.1:${port}` });
    t = await s.tenant('importer');
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => origin?.close(r));
  });

  const importUrl = async (url: string) => {
    const res = await fetch(`${s.url}/v1/videos`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { url }, title: 'imported' }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; status: string };
  };
  const settled = (id: string) =>
    waitFor(
      async () => {
        const v = await (await fetch(`${s.url}/v1/videos/${id}`, { headers: t.auth })).json();
        return v.status === 'errored' || v.status === 'ready' ? v : undefined;
      },
      30_000,
      `video ${id} to settle`,
    );

  it('streams an allow-listed URL into storage byte-exact and queues the video', async () => {
    const v = await importUrl(`http://127.0.0.1:${port}/video.mp4`);
    expect(v.status).toBe('uploading');
    const done = await settled(v.id);
    // The body is random bytes: imported, queued, then errored by the pipeline as non_video.
    expect(done.status).toBe('errored');
    expect(done.error.code).toBe('non_video');
    expect(done.sizeBytes).toBe(body.length);
    expect(await objectSha(s.ctx.ports.storage, `${t.id}/${v.id}/source`)).toBe(sha256(body));
    const events = await s.ctx.events.list(t.id, { videoId: v.id });
    expect(events.map((e) => e.type)).toContain('upload.completed');
  });

  it('refuses private, loopback, link-local and metadata addresses, also behind redirects and DNS names', async () => {
    const cases: Array<[string, RegExp]> = [
      ['http://127.0.0.1:1/x.mp4', /loopback/],
      ['http://10.0.0.1/x.mp4', /private/],
      ['http://169.254.169.254/latest/meta-data/', /metadata/],
      ['http://[::1]:8080/x.mp4', /loopback/],
      [`http://localhost:${port}/video.mp4`, /loopback/],
      [`http://127.0.0.1:${port}/redirect-private`, /10\.0\.0\.1.*private/],
      [`http://127.0.0.1:${port}/page`, /web page|not a media/i],
      [`http://127.0.0.1:${port}/missing.mp4`, /404/],
    ];
    const before = hits;
    for (const [url, why] of cases) {
      const v = await importUrl(url);
      const done = await settled(v.id);
      expect(done.status, url).toBe('errored');
      expect(done.error.code, url).toBe('fetch_failed');
      expect(done.error.message, url).toMatch(why);
      expect(await s.ctx.ports.storage.head(`${t.id}/${v.id}/source`)).toBeNull();
    }
    // Only the three allow-listed requests (redirect, page, missing) reached our origin; nothing else connected.
    expect(hits - before).toBe(3);
    const errored = (await s.ctx.events.list(t.id)).filter((e) => e.type === 'video.errored');
    expect(errored.length).toBeGreaterThanOrEqual(cases.length);
  });
});
