// Real-browser playback: headless Chromium plays a vodcloud video with hls.js (MSE, demuxed audio group,
// MPEG-TS segments, a manual level switch, a seek) and as a progressive MP4 (Range requests → 206),
// from a page on another origin, so the stream role's CORS is exercised too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import {
  hasChromium,
  launchBrowser,
  type PageServer,
  type PlayerState,
  startPageServer,
} from '../support/browser';
import { createTemplate, makeClip, uploadUntilReady } from '../support/videos';

interface ReadyVideo {
  id: string;
  status: string;
  playback: { hlsUrl: string; mp4Urls: Record<string, string>; thumbnailUrl: string };
}

describe.skipIf(!hasChromium())('playback in a real browser (headless Chromium)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodplay-'));
  let s: TestServer;
  let pages: PageServer;
  let browser: Browser;
  let video: ReadyVideo;

  beforeAll(async () => {
    const clipFile = path.join(dir, 'clip.mp4');
    // Start everything that does not depend on the server in parallel with it.
    const [server, pageServer, b] = await Promise.all([
      startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4' }),
      startPageServer(),
      launchBrowser(),
      makeClip(clipFile, { size: '640x360', rate: 30, duration: 12, audio: true }),
    ]);
    s = server;
    pages = pageServer;
    browser = b;
    const t = await s.tenant('playback');
    const templateId = await createTemplate(s.url, t.auth, {
      name: 'two-rung',
      renditions: [
        { name: '360p', height: 360, videoBitrate: 600_000 },
        { name: '240p', height: 240, videoBitrate: 300_000 },
      ],
      audio: { bitrate: 96_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'highest',
    });
    video = await uploadUntilReady(s.url, t.auth, clipFile, { templateId, title: 'playback clip' }, 60_000);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await pages?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const state = (page: Page) => page.evaluate(() => (window as unknown as { vod: PlayerState }).vod);
  const currentTime = (page: Page) => page.evaluate(() => document.querySelector('video')!.currentTime);
  /** Waits until the video has played past `t` seconds (and reports the player's state if it never does). */
  const playsPast = async (page: Page, t: number, timeout = 15_000) => {
    try {
      await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t, t, { timeout });
    } catch (err) {
      const st = await state(page);
      throw new Error(
        `playback did not pass ${t}s (at ${await currentTime(page)}s): ${JSON.stringify(st)}; ${String(err)}`,
      );
    }
  };

  it('plays HLS with hls.js: both levels, a manual level switch, a seek, no fatal errors', async () => {
    const page = await browser.newPage({ viewport: { width: 660, height: 400 } });
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    try {
      await page.goto(pages.url);
      expect(new URL(pages.url).origin).not.toBe(new URL(video.playback.hlsUrl).origin); // cross-origin
      await page.evaluate(
        (u) => (window as unknown as { playHls(u: string): void }).playHls(u),
        video.playback.hlsUrl,
      );

      await playsPast(page, 3);
      let st = await state(page);
      expect(st.errors.filter((e) => e.fatal)).toEqual([]);
      expect(st.mediaErrors).toEqual([]);

      const levels = await page.evaluate(() => {
        const hls = (window as unknown as { hls: { levels: Array<{ height: number; width: number }> } }).hls;
        return hls.levels.map((l) => ({ width: l.width, height: l.height }));
      });
      expect(levels.map((l) => l.height).sort((a, b) => a - b)).toEqual([240, 360]);
      expect(levels).toContainEqual({ width: 640, height: 360 });
      // The demuxed audio group is one alternate track.
      expect(
        await page.evaluate(
          () => (window as unknown as { hls: { audioTracks: unknown[] } }).hls.audioTracks.length,
        ),
      ).toBe(1);

      // Switch by hand to the level that is not playing now; playback must carry on on it.
      const { from, to } = await page.evaluate(() => {
        const hls = (window as unknown as { hls: { currentLevel: number; levels: unknown[] } }).hls;
        const from = hls.currentLevel;
        const to = from === 0 ? 1 : 0;
        hls.currentLevel = to;
        return { from, to };
      });
      expect(from).toBeGreaterThanOrEqual(0);
      await page.waitForFunction(
        (to) => (window as unknown as { vod: PlayerState }).vod.levelSwitched.at(-1) === to,
        to,
        { timeout: 10_000 },
      );
      const afterSwitch = await currentTime(page);
      await playsPast(page, afterSwitch + 1);
      expect(
        await page.evaluate(() => (window as unknown as { hls: { currentLevel: number } }).hls.currentLevel),
      ).toBe(to);

      // Seek near the end; it plays from there.
      await page.evaluate(() => {
        document.querySelector('video')!.currentTime = 9;
      });
      await page.waitForFunction(
        () => (window as unknown as { vod: PlayerState }).vod.events.includes('seeked'),
        null,
        {
          timeout: 10_000,
        },
      );
      await playsPast(page, 9.5);
      expect(await currentTime(page)).toBeGreaterThanOrEqual(9);

      st = await state(page);
      expect(st.errors.filter((e) => e.fatal)).toEqual([]);
      // Not even a retried request failed (a CORS or content problem shows up as a network error first).
      expect(st.errors.filter((e) => e.type === 'networkError')).toEqual([]);
      expect(st.mediaErrors).toEqual([]);
      const frames = await page.evaluate(
        () => document.querySelector('video')!.getVideoPlaybackQuality().totalVideoFrames,
      );
      expect(frames).toBeGreaterThan(60);
      // The screenshot stays with the temp dir unless VOD_SCREENSHOT_DIR keeps it for a look.
      const shot = path.join(process.env.VOD_SCREENSHOT_DIR ?? dir, 'hls.png');
      await page.screenshot({ path: shot });
      // hls.js 1.7 reports one non-fatal bufferAppendNoProgress for the first main fragment, and a
      // bufferSeekOverHole over the B-frame composition delay at 0, on ffmpeg's own HLS output too.
    } catch (err) {
      console.error('browser console:\n' + log.join('\n'));
      throw err;
    } finally {
      await page.close();
    }
  }, 45_000);

  it('plays the progressive MP4 and seeks into its second half, with 206 range responses', async () => {
    const mp4Url = Object.values(video.playback.mp4Urls)[0];
    expect(mp4Url).toBeDefined();
    const page = await browser.newPage({ viewport: { width: 660, height: 400 } });
    const mp4Responses: Array<{ status: number; range?: string; contentRange?: string }> = [];
    page.on('response', async (r) => {
      if (!r.url().startsWith(mp4Url!)) return;
      mp4Responses.push({
        status: r.status(),
        range: (await r.request().headerValue('range')) ?? undefined,
        contentRange: (await r.headerValue('content-range')) ?? undefined,
      });
    });
    try {
      await page.goto(pages.url);
      await page.evaluate((u) => (window as unknown as { playMp4(u: string): void }).playMp4(u), mp4Url!);
      await playsPast(page, 1);
      const duration = await page.evaluate(() => document.querySelector('video')!.duration);
      expect(duration).toBeCloseTo(12, 0);

      await page.evaluate((d) => {
        document.querySelector('video')!.currentTime = d * 0.6;
      }, duration);
      await page.waitForFunction(
        () => (window as unknown as { vod: PlayerState }).vod.events.includes('seeked'),
        null,
        {
          timeout: 10_000,
        },
      );
      await playsPast(page, duration * 0.6 + 0.5);

      const st = await state(page);
      expect(st.mediaErrors).toEqual([]);
      expect(st.errors).toEqual([]);
      expect(mp4Responses.length).toBeGreaterThan(0);
      expect(
        mp4Responses.filter((r) => r.status === 206).length,
        JSON.stringify(mp4Responses),
      ).toBeGreaterThan(0);
      expect(mp4Responses.every((r) => r.status === 200 || r.status === 206)).toBe(true);
      await page.screenshot({ path: path.join(process.env.VOD_SCREENSHOT_DIR ?? dir, 'mp4.png') });
    } finally {
      await page.close();
    }
  }, 30_000);
});
