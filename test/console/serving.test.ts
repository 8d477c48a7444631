// The web console as the api role serves it: the built files at `/` (apps/console/dist, built by the global
// setup when stale), the SPA fallback for client routes, its Content-Security-Policy, and the API's own
// answers left as they were (404 problem+json, the OpenAPI document, the docs).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleFallback } from '../../apps/server/src/modules/console/routes';
import { CONSOLE_DIST, CONSOLE_INITIAL_JS_BUDGET, consoleInitialJs } from '../../scripts/build';
import { startTestApp, type TestApp } from '../support/app';

describe('the web console served by the api role', () => {
  let t: TestApp;
  const index = readFileSync(path.join(CONSOLE_DIST, 'index.html'), 'utf8');
  const entry = /<script type="module"[^>]*src="([^"]+)"/.exec(index)?.[1];
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());
  /** What a browser's navigation sends. */
  const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

  it('answers index.html at / and at every client route, never cached, with a CSP that allows no inline script', async () => {
    for (const url of [
      '/',
      '/sign-in',
      '/library?status=ready',
      '/videos/abc',
      '/invite/tok_123',
      '/settings/x/y',
    ]) {
      const r = await t.app.inject({ url, headers: html });
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.body).toBe(index);
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
    // Every script of the document is a file (the CSP would block an inline one).
    expect([...index.matchAll(/<script\b([^>]*)>/g)].every((m) => /\bsrc="/.test(m[1]!))).toBe(true);
    const head = await t.app.inject({ method: 'HEAD', url: '/library', headers: html });
    expect(head.statusCode).toBe(200);
    // Not a browser's navigation: an unknown path stays the API's 404 (only `/` answers anyone).
    const api = await t.app.inject({ url: '/library', headers: { accept: 'application/json' } });
    expect(api.statusCode).toBe(404);
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await t.app.inject({ url: '/' })).body).toBe(index);
  });

  it('serves the hashed assets for a year, with an ETag', async () => {
    expect(entry).toMatch(/^\/assets\/index-[\w-]+\.js$/);
    const r = await t.app.inject({ url: entry! });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/javascript/);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const again = await t.app.inject({ url: entry!, headers: { 'if-none-match': String(r.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const icon = await t.app.inject({ url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('leaves the API, playback, docs and probes as they were', async () => {
    for (const url of [
      '/v1/nope',
      '/v1',
      '/hls/x/master.m3u8',
      '/embed/zz/nope',
      '/assets/missing.js',
      '/favicon.ico',
    ]) {
      const r = await t.app.inject({ url, headers: html });
      expect(r.statusCode, url).toBe(404);
      expect(r.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
    expect((await t.app.inject({ url: '/openapi.json' })).json()).toHaveProperty('openapi');
    expect((await t.app.inject({ url: '/livez' })).statusCode).toBe(200);
    const docs = await t.app.inject({ url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).not.toBe(index);
    // Another method on a client route: still the API's 404.
    const post = await t.app.inject({ method: 'POST', url: '/library', headers: html, payload: {} });
    expect(post.statusCode).toBe(404);
    expect(post.headers['content-type']).toMatch(/^application\/problem\+json/);
    // A known API path with another method keeps its 405.
    expect((await t.app.inject({ method: 'PUT', url: '/v1/videos' })).statusCode).toBe(405);
  });

  it('keeps the initial JavaScript within the budget', () => {
    const initial = consoleInitialJs();
    expect(initial.files.length).toBeGreaterThan(0);
    expect(initial.gzip).toBeLessThanOrEqual(CONSOLE_INITIAL_JS_BUDGET);
  });
});

describe('a server whose console was not built', () => {
  it('answers / with a page saying how to build it, and the API as before', async () => {
    const app = Fastify();
    const spa = consoleFallback(app, async () => undefined);
    app.get('/v1/ping', async () => ({ ok: true }));
    app.setNotFoundHandler(async (req, reply) => {
      if (await spa(req, reply)) return reply;
      return reply.code(404).send({ code: 'not_found' });
    });
    const r = await app.inject({ url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build:console');
    expect((await app.inject({ url: '/v1/nope' })).statusCode).toBe(404);
    await app.close();
  });
});
