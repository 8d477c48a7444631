// The library follows a video from upload to ready by itself: a real server with its worker, a clip
// uploaded with tus while the page is open (an owner signed in through the sign-in page).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import { type ConsoleServer, consoleAs, startConsoleServer } from '../support/console';
import { createUploadVia, tusUpload } from '../support/uploads';
import { makeClip } from '../support/videos';

describe.skipIf(!hasChromium())('the library, live', () => {
  let s: ConsoleServer;
  const dir = mkdtempSync(path.join(tmpdir(), 'console-live-'));
  beforeAll(async () => {
    s = await startConsoleServer({}, { worker: true });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the upload waiting, then ready, without a reload', async () => {
    const clip = await makeClip(path.join(dir, 'clip.mp4'), { duration: 4 });
    const created = await createUploadVia(s.base, s.tenant.auth, { title: 'Live clip' });
    const { page, context, errors } = await consoleAs(s, 'owner');
    await page.goto(`${s.base}/library`);
    const status = page.locator('table.videos tbody tr', { hasText: 'Live clip' }).locator('.status');
    await expect.poll(() => status.textContent()).toBe('Waiting for upload');
    await tusUpload(readFileSync(clip), { endpoint: created.url, headers: created.headers }).promise;
    await expect.poll(() => status.textContent(), { timeout: 90_000, interval: 250 }).toBe('Ready');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
