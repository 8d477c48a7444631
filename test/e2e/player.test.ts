// <vod-player> in real headless Chromium: a ready video played by the web component from a page on another
// origin (the bundle is the server's /embed/vod-player.js, the prebuilt packages/player/dist/vod-player.min.js),
// its quality menu, storyboard previews, keyboard and ARIA, QoE beacons in the table, and the embed page
// in an <iframe>.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeaconsRepository } from '../../apps/server/src/modules/beacons/repository';
import { startTestServer, type TestServer } from '../support/app';
import { hasChromium, launchBrowser } from '../support/browser';
import { waitFor } from '../support/uploads';
import { createTemplate, makeClip, uploadUntilReady } from '../support/videos';

interface ReadyVideo {
  id: string;
  status: string;
  playback: { id: string; hlsUrl: string };
}

/** A static server on its own origin answering `pages[path]` as HTML. */
async function pageServer(pages: Record<string, string>) {
  const server = http.createServer((req, res) => {
    const body = pages[new URL(req.url ?? '/', 'http://x').pathname];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

type Player = HTMLElement & {
  video: HTMLVideoElement;
  hls?: { currentLevel: number; levels: Array<{ height: number }> };
  storyboard: unknown[];
  shadowRoot: ShadowRoot;
};

describe.skipIf(!hasChromium())('<vod-player> in headless Chromium', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodplayer-'));
  let s: TestServer;
  let browser: Browser;
  let video: ReadyVideo;
  let tenantId: string;
  let pages: Awaited<ReturnType<typeof pageServer>>;

  beforeAll(async () => {
    const clipFile = path.join(dir, 'clip.mp4');
    const [server, b] = await Promise.all([
      startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4' }),
      launchBrowser(),
      makeClip(clipFile, { size: '640x360', rate: 30, duration: 20, audio: true }),
    ]);
    s = server;
    browser = b;
    const t = await s.tenant('player');
    tenantId = t.id;
    const templateId = await createTemplate(s.url, t.auth, {
      name: 'two-rung',
      renditions: [
        { name: '360p', height: 360, videoBitrate: 600_000 },
        { name: '240p', height: 240, videoBitrate: 300_000 },
      ],
      audio: { bitrate: 96_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'none',
    });
    video = await uploadUntilReady(s.url, t.auth, clipFile, { templateId, title: 'player clip' }, 60_000);
    const pid = video.playback.id;
    pages = await pageServer({
      '/player.html': `<!doctype html><html><head><meta charset="utf-8">
<script type="module" src="${s.url}/embed/vod-player.js"></script>
<style>body{margin:0;background:#222}</style></head><body>
<vod-player id="p" playback-id="${pid}" api-base="${s.url}" muted heartbeat-interval="1" style="width:640px;height:360px"></vod-player>
</body></html>`,
      '/iframe.html': `<!doctype html><html><body style="margin:0">
<iframe id="f" src="${s.url}/embed/${pid}?autoplay=1" width="640" height="360" allow="autoplay; fullscreen" style="border:0"></iframe>
</body></html>`,
    });
  }, 100_000);

  afterAll(async () => {
    await browser?.close();
    await pages?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const time = (page: Page) =>
    page.evaluate(() => (document.getElementById('p') as unknown as Player).video.currentTime);

  it('plays, switches quality from the menu, shows storyboard previews, answers the keyboard, sends beacons', async () => {
    const page = await browser.newPage({ viewport: { width: 680, height: 400 } });
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    try {
      await page.goto(`${pages.url}/player.html`);
      await page.waitForFunction(() => customElements.get('vod-player') !== undefined, null, {
        timeout: 20_000,
      });
      const player = page.locator('vod-player');
      // Play from the control bar (a real click).
      await player.locator('button.play').click();
      await page.waitForFunction(
        () => (document.getElementById('p') as unknown as Player).video.currentTime > 2,
        null,
        { timeout: 15_000 },
      );

      // Quality menu: Auto + both levels; choosing the other level switches hls.currentLevel.
      await player.locator('button.quality-btn').click();
      const items = player.locator('.quality-menu [role=menuitemradio]');
      expect(await items.allTextContents()).toEqual(['Auto', '360p', '240p']);
      expect(await items.first().getAttribute('aria-checked')).toBe('true');
      await player.locator('.quality-menu [role=menuitemradio]', { hasText: '240p' }).click();
      const idx240 = await page.evaluate(() =>
        (document.getElementById('p') as unknown as Player).hls!.levels.findIndex((l) => l.height === 240),
      );
      await page.waitForFunction(
        (i) => (document.getElementById('p') as unknown as Player).hls!.currentLevel === i,
        idx240,
        { timeout: 10_000 },
      );
      expect(
        await player
          .locator('.quality-menu [role=menuitemradio]', { hasText: '240p' })
          .getAttribute('aria-checked'),
      ).toBe('true');

      // Seek slider ARIA.
      const seek = player.locator('[role=slider]');
      expect(await seek.getAttribute('aria-label')).toBe('Seek');
      expect(Number(await seek.getAttribute('aria-valuemax'))).toBeGreaterThanOrEqual(19);
      expect(await seek.getAttribute('aria-valuetext')).toMatch(/seconds? of /);
      expect(await player.locator('[role=menu]').count()).toBe(2);

      // Storyboard preview on hover.
      await page.waitForFunction(
        () => (document.getElementById('p') as unknown as Player).storyboard.length > 0,
        null,
        { timeout: 10_000 },
      );
      const box = (await seek.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      const preview = player.locator('.preview');
      await expect.poll(() => preview.isVisible()).toBe(true);
      const bg = await player
        .locator('.preview .tile')
        .evaluate((e) => (e as HTMLElement).style.backgroundImage);
      expect(bg).toMatch(/\/storyboard\/[^/]+\/[0-9A-HJKMNP-TV-Z]{26}\/storyboard-\d+\.jpg/); // sprites name their generation
      await page.screenshot({ path: path.join(process.env.VOD_SCREENSHOT_DIR ?? dir, 'vod-player.png') });
      await page.mouse.move(5, 5);

      // Keyboard: ArrowRight on the focused player seeks +5 s.
      await page.evaluate(() => (document.getElementById('p') as unknown as Player).video.pause());
      await player.focus();
      const before = await time(page);
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => time(page)).toBeGreaterThanOrEqual(before + 4.9);
      // ... and on the seek slider.
      await seek.focus();
      const before2 = await time(page);
      await page.keyboard.press('ArrowLeft');
      await expect.poll(() => time(page)).toBeLessThanOrEqual(before2 - 4.9);
      expect(await player.locator('button.mute').getAttribute('aria-pressed')).toBe('true'); // muted attribute
      await page.keyboard.press('m');
      await expect
        .poll(() => page.evaluate(() => (document.getElementById('p') as unknown as Player).video.muted))
        .toBe(false);
      await expect.poll(() => player.locator('button.mute').getAttribute('aria-pressed')).toBe('false');
      await page.evaluate(() => (document.getElementById('p') as unknown as Player).video.play());

      // Beacons: view_start, playing with startupMs > 0, heartbeats (interval 1 s here).
      const repo = new BeaconsRepository(s.ctx.db);
      const rows = await waitFor(
        async () => {
          const r = await repo.forVideo(tenantId, video.id);
          return r.some((b) => b.event === 'heartbeat') ? r : undefined;
        },
        10_000,
        'a heartbeat beacon',
      );
      const events = rows.map((r) => r.event);
      expect(events.filter((e) => e === 'view_start')).toHaveLength(1);
      const playing = rows.find((r) => r.event === 'playing');
      expect(playing?.startup_ms).toBeGreaterThan(0);
      expect(rows.every((r) => r.view_id === rows[0]!.view_id)).toBe(true);
      expect(rows.find((r) => r.event === 'heartbeat')!.watched_sec).toBeGreaterThanOrEqual(0);
      expect(rows.filter((r) => r.event === 'error')).toEqual([]);
      // Removing the element ends the view (sendBeacon).
      await page.evaluate(() => document.getElementById('p')!.remove());
      await waitFor(
        async () =>
          (await repo.forVideo(tenantId, video.id)).some((b) => b.event === 'view_end') ? true : undefined,
        5_000,
        'the view_end beacon',
      );
    } catch (err) {
      console.error(`browser console:\n${log.join('\n')}`);
      throw err;
    } finally {
      await page.close();
    }
  }, 60_000);

  it('the embed page plays in an iframe (CSP set, no X-Frame-Options)', async () => {
    const head = await fetch(`${s.url}/embed/${video.playback.id}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(head.headers.get('x-frame-options')).toBeNull();
    expect((await fetch(`${s.url}/embed/NoSuchVideo0000`)).status).toBe(404);

    const page = await browser.newPage({ viewport: { width: 680, height: 400 } });
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    try {
      await page.goto(`${pages.url}/iframe.html`);
      const frame = await waitFor(
        async () => page.frames().find((f) => f.url().includes('/embed/')),
        10_000,
        'the embed frame',
      );
      await frame.waitForFunction(
        () => {
          const p = document.querySelector('vod-player') as unknown as Player | null;
          return !!p?.video && p.video.currentTime > 1.5;
        },
        null,
        { timeout: 20_000 },
      );
      await page.screenshot({ path: path.join(process.env.VOD_SCREENSHOT_DIR ?? dir, 'embed.png') });
    } catch (err) {
      console.error(`browser console:\n${log.join('\n')}`);
      throw err;
    } finally {
      await page.close();
    }
  }, 40_000);
});
