// Memory per role (issue 21, goal 5): a node loads what its roles serve. A stream-only node makes no tus
// server (its libraries stay unloaded) and no API document; it still makes one when a job of its asks for it.
// An upload-only node has its tus server from the start, and no API document either.
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../test/support/app';

describe('what a node loads follows its roles', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const t of apps) await t.close();
  });

  it('stream only: no tus server until asked for, no /docs, no /tus', async () => {
    const t = await startTestApp({ VOD_ROLES: 'stream' });
    apps.push(t);
    expect(t.ctx.tus).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(404);
    const tus = await t.app.inject({ method: 'POST', url: '/tus', headers: { 'tus-resumable': '1.0.0' } });
    expect(tus.statusCode).toBe(404);
    // Made on first use (a video's lifecycle job removing a partial upload, say), once.
    const first = await t.ctx.loadTus();
    expect(first.datastore).toBeDefined();
    expect(await t.ctx.loadTus()).toBe(first);
    await expect(
      first.remove('01ARZ3NDEKTSV4RRFFQ69G5FAV/01ARZ3NDEKTSV4RRFFQ69G5FAW/source'),
    ).resolves.toBeUndefined();
  });

  it('upload only: the tus server from the start, no /docs', async () => {
    const t = await startTestApp({ VOD_ROLES: 'upload' });
    apps.push(t);
    expect(t.ctx.tus).toBeDefined();
    expect(await t.ctx.loadTus()).toBe(t.ctx.tus);
    expect((await t.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(404);
    const tus = await t.app.inject({ method: 'OPTIONS', url: '/tus', headers: { 'tus-resumable': '1.0.0' } });
    expect(tus.statusCode).toBe(204);
  });

  it('api: the API document at /docs', async () => {
    const t = await startTestApp({ VOD_ROLES: 'api' });
    apps.push(t);
    for (const url of ['/docs/json', '/openapi.json']) {
      const doc = await t.app.inject({ method: 'GET', url });
      expect(doc.statusCode, url).toBe(200);
      expect(doc.json().openapi).toBe('3.1.0');
    }
  });
});
