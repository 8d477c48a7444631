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

  it('shows the upload waiting, then processing with its progress, then ready, without a reload', async () => {
    // Long and large enough that the ladder takes several of the page's 2 s polls.
    const clip = await makeClip(path.join(dir, 'clip.mp4'), { duration: 12, size: '1280x720', audio: true });
    const created = await createUploadVia(s.base, s.tenant.auth, { title: 'Live clip' });
    const { page, context, errors } = await consoleAs(s, 'owner');
    await page.goto(`${s.base}/library`);
    const status = page.locator('table.videos tbody tr', { hasText: 'Live clip' }).locator('.status');
    await expect.poll(() => status.textContent()).toBe('Waiting for upload');
    await tusUpload(readFileSync(clip), { endpoint: created.url, headers: created.headers }).promise;
    // What the row shows while the video is processed: its status and, while not final, a progress bar.
    const row = page.locator('table.videos tbody tr', { hasText: 'Live clip' });
    const seen: string[] = [];
    await expect
      .poll(
        async () => {
          const text = await status.textContent();
          const bar = await row.locator('progress').count();
          seen.push(`${text}${bar ? ` ${await row.locator('progress').getAttribute('value')}` : ''}`);
          return text;
        },
        { timeout: 90_000, interval: 250 },
      )
      .toBe('Ready');
    expect(
      seen.some((x) => /^(Queued|Processing) [\d.]+$/.test(x)),
      `statuses seen: ${[...new Set(seen)].join(' | ')}`,
    ).toBe(true);
    expect(await row.locator('progress').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
