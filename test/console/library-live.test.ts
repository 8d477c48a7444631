// The library follows a video from upload to ready by itself: a real server with its worker, a clip
// uploaded with tus while the page is open (signed in with the stand-in session of ./helpers.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import { hasChromium, launchBrowser } from '../support/browser';
import { createUploadVia, tusUpload } from '../support/uploads';
import { makeClip } from '../support/videos';
import { standInSession } from './helpers';

describe.skipIf(!hasChromium())('the library, live', () => {
  let s: TestServer;
  let browser: Browser;
  const dir = mkdtempSync(path.join(tmpdir(), 'console-live-'));
  beforeAll(async () => {
    s = await startTestServer();
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the upload waiting, then ready, without a reload', async () => {
    const tenant = await s.tenant('Live');
    const clip = await makeClip(path.join(dir, 'clip.mp4'), { duration: 4 });
    const created = await createUploadVia(s.url, tenant.auth, { title: 'Live clip' });
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await standInSession(page, s.url, tenant, 'owner');
    await page.goto(`${s.url}/library`);
    const status = page.locator('table.videos tbody tr', { hasText: 'Live clip' }).locator('.status');
    await expect.poll(() => status.textContent()).toBe('Waiting for upload');
    await tusUpload(readFileSync(clip), { endpoint: created.url, headers: created.headers }).promise;
    await expect.poll(() => status.textContent(), { timeout: 90_000, interval: 250 }).toBe('Ready');
    await page.close();
  }, 120_000);
});
