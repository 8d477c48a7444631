// <vod-player> in real headless Chromium: a ready video played by the web component from a page on another
// origin (the bundle is the server's /embed/vod-player.js, the prebuilt packages/player/dist/vod-player.min.js),
// its quality menu, storyboard previews, keyboard and ARIA, QoE beacon batches (ordered events, startup,
// renditions, a rebuffer caused by a held segment, view_end by sendBeacon on page hide), and the embed page
// in an <iframe>.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VodCloud } from '@vodcloud/sdk';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  setQuality(level: number): void;
};

interface QoeEvent {
  event: string;
  at: number;
  seq: number;
  position: number;
  startupMs?: number;
  watchedSec?: number;
  rebufferMs?: number;
  rendition?: string;
  error?: string;
}
/** A beacon batch (wire format v2). */
interface Batch {
  playbackId: string;
  viewId: string;
  token?: string;
  sentAt: number;
  events: QoeEvent[];
}

/**
 * Records the beacon batches a page sends to POST /v1/beacons on their way to the server, and the server's
 * answers (`statuses`). (Chromium's keepalive requests from a page being left, sendBeacon on pagehide, are
 * not routed: `beaconSink` receives those.)
 */
async function captureBatches(page: Page) {
  const batches: Batch[] = [];
  const statuses: number[] = [];
  await page.route('**/v1/beacons', async (route) => {
    batches.push(JSON.parse(route.request().postData() ?? 'null') as Batch);
    const res = await route.fetch();
    statuses.push(res.status());
    await route.fulfill({ response: res });
  });
  return { batches, statuses };
}
/** An HTTP server on its own origin recording the beacon batches POSTed to it (202, CORS open). */
async function beaconSink() {
  const batches: Batch[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/beacons')
        batches.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Batch);
      res.writeHead(req.method === 'POST' ? 202 : 204, { 'access-control-allow-origin': '*' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    batches,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
const eventsOf = (batches: Batch[]) => batches.flatMap((b) => b.events);

/**
 * Holds the requests matching `pattern` until the player reported the stall they cause, and 3 s more (one
 * shared release, so an ABR switch to another rendition's same segment waits too).
 */
function holdUntilStalled(page: Page, pattern: string) {
  let release: Promise<void> | undefined;
  return page.route(pattern, async (route) => {
    release ??= page
      .waitForFunction(
        () => (window as unknown as { qoe: QoeEvent[] }).qoe.some((e) => e.event === 'rebuffer_start'),
        null,
        { timeout: 20_000 },
      )
      .then(() => new Promise((r) => setTimeout(r, 3000)));
    await release.catch(() => {});
    await route.continue().catch(() => {}); // the page may be gone
  });
}

/** One view's batches: one playback and view id, seq 0, 1, 2… in order, every event's `at` ≤ its `sentAt`. */
function expectWellFormed(batches: Batch[], playbackId: string) {
  expect(batches.length).toBeGreaterThan(0);
  for (const b of batches) {
    expect(b.playbackId).toBe(playbackId);
    expect(b.viewId).toBe(batches[0]!.viewId);
    expect(b.viewId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(Number.isInteger(b.sentAt)).toBe(true);
    expect(b.events.length).toBeGreaterThanOrEqual(1);
    expect(b.events.length).toBeLessThanOrEqual(20);
    for (const e of b.events) {
      expect(Number.isInteger(e.at)).toBe(true);
      expect(e.at).toBeLessThanOrEqual(b.sentAt);
      expect(e.position).toBeGreaterThanOrEqual(0);
    }
  }
  expect(eventsOf(batches).map((e) => e.seq)).toEqual(eventsOf(batches).map((_, i) => i));
}

describe.skipIf(!hasChromium())('<vod-player> in headless Chromium', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodplayer-'));
  let s: TestServer;
  let browser: Browser;
  let video: ReadyVideo;
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
      // The beacon events the element dispatches, one per QoE event, as they are queued.
      '/qoe.html': `<!doctype html><html><head><meta charset="utf-8">
<script type="module" src="${s.url}/embed/vod-player.js"></script></head><body>
<vod-player id="p" playback-id="${pid}" api-base="${s.url}" muted heartbeat-interval="1" style="width:640px;height:360px"></vod-player>
<script>
window.qoe = [];
document.getElementById('p').addEventListener('beacon', (e) => qoe.push(e.detail));
// navigator.sendBeacon's calls, kept across a navigation to /blank.html (same origin).
const send = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, body) => {
  sessionStorage.setItem('sent', JSON.stringify([...JSON.parse(sessionStorage.getItem('sent') ?? '[]'), body]));
  return send(url, body);
};
</script></body></html>`,
      '/blank.html': '<!doctype html><html><body>gone</body></html>',
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
    const { batches, statuses } = await captureBatches(page);
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

      // Beacons: one view; the first batch is sent at startup (view_start, playing with startupMs > 0
      // and the rendition), then one batch per heartbeat (interval 1 s here) with watched seconds.
      await waitFor(
        async () =>
          eventsOf(batches).some((e) => e.event === 'heartbeat' && e.rendition === '240p') ? true : undefined,
        10_000,
        'a heartbeat batch at 240p',
      );
      expectWellFormed(batches, video.playback.id);
      expect(batches[0]!.events.map((e) => e.event)).toEqual(['view_start', 'playing']);
      const events = eventsOf(batches);
      const playing = events.find((e) => e.event === 'playing')!;
      expect(playing.startupMs).toBeGreaterThan(0);
      expect(playing.rendition).toMatch(/^(360|240)p$/);
      for (const b of batches.slice(1)) expect(b.events.at(-1)!.event).toBe('heartbeat');
      const heartbeat = events.find((e) => e.event === 'heartbeat')!;
      expect(heartbeat.watchedSec).toBeGreaterThanOrEqual(0);
      expect(heartbeat.rendition).toMatch(/^(360|240)p$/);
      expect(events.filter((e) => e.event === 'view_start')).toHaveLength(1);
      expect(events.filter((e) => e.event === 'error')).toEqual([]);
      // Renditions: 240p chosen above was reported on playing or as a rendition_change before the heartbeat
      // that carries it, and choosing 360p now is a rendition_change to 360p.
      const upTo = events.findIndex((e) => e.event === 'heartbeat' && e.rendition === '240p');
      const reported = events
        .slice(0, upTo)
        .filter((e) => e.event === 'playing' || e.event === 'rendition_change');
      expect(reported.at(-1)!.rendition).toBe('240p');
      await page.evaluate(
        (i) => (document.getElementById('p') as unknown as Player).setQuality(i),
        1 - idx240,
      );
      await waitFor(
        async () =>
          eventsOf(batches).some((e) => e.event === 'rendition_change' && e.rendition === '360p')
            ? true
            : undefined,
        10_000,
        'a rendition_change to 360p',
      );
      // Removing the element ends the view (sendBeacon).
      const sent = batches.length;
      await page.evaluate(() => document.getElementById('p')!.remove());
      await waitFor(
        async () => (eventsOf(batches).some((e) => e.event === 'view_end') ? true : undefined),
        5_000,
        'the view_end batch',
      );
      expectWellFormed(batches, video.playback.id);
      // The server takes every batch (the view_end one may still be on its way).
      await expect.poll(() => statuses.length).toBe(batches.length);
      expect(new Set(statuses)).toEqual(new Set([202]));
      const end = batches
        .slice(sent)
        .flatMap((b) => b.events)
        .find((e) => e.event === 'view_end')!;
      expect(end.watchedSec).toBeGreaterThanOrEqual(0);
    } catch (err) {
      console.error(`browser console:\n${log.join('\n')}`);
      throw err;
    } finally {
      await page.close();
    }
  }, 60_000);

  /**
   * /qoe.html in a new page, its player's beacons going to a sink (`batches`, `close`); `qoe` reads the
   * element's beacon events. `routes` are set before the page loads (the player loads segments at once).
   */
  const openQoe = async (routes?: (page: Page) => Promise<unknown>) => {
    const sink = await beaconSink();
    const page = await browser.newPage({ viewport: { width: 680, height: 400 } });
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    await routes?.(page);
    await page.goto(`${pages.url}/qoe.html`);
    await page.waitForFunction(() => customElements.get('vod-player') !== undefined, null, {
      timeout: 20_000,
    });
    await page.evaluate((u) => document.getElementById('p')!.setAttribute('api-base', u), sink.url);
    const qoe = () =>
      page.evaluate(
        () => (window as unknown as { qoe: Array<QoeEvent & { viewId: string; playbackId: string }> }).qoe,
      );
    const close = async () => {
      await page.close();
      await sink.close();
    };
    return { page, log, batches: sink.batches, qoe, close };
  };

  it('a segment held back after startup is one rebuffer: rebuffer_start, then rebuffer_end with its duration', async () => {
    // The second segment of every rendition is held until the player reported the rebuffer it causes, and
    // 3 s more (one shared release, so an ABR switch to the other rendition's second segment waits too).
    const { page, log, batches, qoe, close } = await openQoe((page) =>
      holdUntilStalled(page, '**/seg-00001.ts'),
    );
    try {
      await page.evaluate(() => (document.getElementById('p') as unknown as Player).video.play());
      await page.waitForFunction(
        () => (document.getElementById('p') as unknown as Player).video.currentTime > 3,
        null,
        { timeout: 30_000 },
      );
      const events = await qoe();
      const kinds = events.map((e) => e.event);
      expect(kinds.slice(0, 2)).toEqual(['view_start', 'playing']);
      expect(kinds.filter((k) => k === 'rebuffer_start')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'rebuffer_end')).toHaveLength(1);
      const start = kinds.indexOf('rebuffer_start');
      const end = events[kinds.indexOf('rebuffer_end')]!;
      expect(start).toBeGreaterThan(kinds.indexOf('playing'));
      expect(end.seq).toBeGreaterThan(events[start]!.seq);
      expect(end.rebufferMs).toBeGreaterThanOrEqual(2000);
      expect(events[start]!.position).toBeGreaterThan(1); // at the end of the first segment (2 s)
      // The same events go out in the batches (a heartbeat a second here).
      await waitFor(
        async () => (eventsOf(batches).some((e) => e.event === 'rebuffer_end') ? true : undefined),
        5_000,
        'the batch with rebuffer_end',
      );
      expectWellFormed(batches, video.playback.id);
      const sent = eventsOf(batches);
      const sentEnd = sent.find((e) => e.event === 'rebuffer_end');
      expect({ ...sentEnd, viewId: batches[0]!.viewId, playbackId: video.playback.id }).toEqual(end);
      expect(sent.find((e) => e.event === 'playing')!.startupMs).toBeGreaterThan(0);
    } catch (err) {
      console.error(`browser console:\n${log.join('\n')}`);
      throw err;
    } finally {
      await close();
    }
  }, 60_000);

  it('page hide: visibilitychange to hidden flushes the queue, pagehide sends view_end with sendBeacon', async () => {
    const { page, log, batches, qoe, close } = await openQoe();
    try {
      // No heartbeat during the test: what is queued stays queued until the page hides.
      await page.evaluate(() => {
        const p = document.getElementById('p') as unknown as Player;
        p.setAttribute('heartbeat-interval', '600');
        return p.video.play();
      });
      await page.waitForFunction(
        () => (document.getElementById('p') as unknown as Player).video.currentTime > 1.5,
        null,
        { timeout: 20_000 },
      );
      expect(batches.map((b) => b.events.map((e) => e.event))).toEqual([['view_start', 'playing']]);
      // Queue a rendition_change: the rendition not playing.
      await page.evaluate(() => {
        const p = document.getElementById('p') as unknown as Player;
        p.setQuality(p.hls!.currentLevel === 0 ? 1 : 0);
      });
      await page.waitForFunction(
        () => (window as unknown as { qoe: QoeEvent[] }).qoe.some((e) => e.event === 'rendition_change'),
        null,
        { timeout: 10_000 },
      );
      expect(batches).toHaveLength(1);
      // The page goes to the background: what is queued leaves at once, by sendBeacon, and the view goes on.
      await page.evaluate(() => {
        Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      const viaBeacon = () =>
        page.evaluate(() => JSON.parse(sessionStorage.getItem('sent') ?? '[]') as string[]);
      const hidden = (await viaBeacon()).map((b) => JSON.parse(b) as Batch);
      expect(hidden.map((b) => b.events.map((e) => e.event))).toEqual([['rendition_change']]);
      // Leaving the page (a navigation fires pagehide): view_end with the watched seconds, by sendBeacon.
      const before = (await qoe()).length;
      await page.goto(`${pages.url}/blank.html`);
      const last = (await viaBeacon()).map((b) => JSON.parse(b) as Batch).at(-1)!;
      expect(last.events.map((e) => e.event)).toEqual(['view_end']);
      expect(last.events[0]!.seq).toBe(before);
      expect(last.events[0]!.watchedSec).toBeGreaterThan(0);
      await waitFor(
        async () => (eventsOf(batches).some((e) => e.event === 'view_end') ? true : undefined),
        5_000,
        'the view_end batch on the wire',
      );
      expectWellFormed(batches, video.playback.id);
      expect(batches.at(-1)).toEqual(last);
    } catch (err) {
      console.error(`browser console:\n${log.join('\n')}`);
      throw err;
    } finally {
      await close();
    }
  }, 60_000);

  it('the statistics API counts what the real player did: 1 view, its watch time, one rebuffer, startup', async () => {
    // A video of its own (the other tests' views are on the first one), played through /qoe.html with its
    // beacons going to the server; the second segment is held 3 s after the stall it causes.
    const t = await s.tenant('player-stats');
    const clipFile = path.join(dir, 'stats.mp4');
    await makeClip(clipFile, { size: '640x360', rate: 30, duration: 12, audio: true });
    const templateId = await createTemplate(s.url, t.auth, {
      name: 'one-rung',
      renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'none',
    });
    const v = await uploadUntilReady(s.url, t.auth, clipFile, { templateId, title: 'stats clip' }, 60_000);
    const page = await browser.newPage({ viewport: { width: 680, height: 400 } });
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    await holdUntilStalled(page, `**/${v.playback.id}/**/seg-00001.ts`);
    try {
      await page.goto(`${pages.url}/qoe.html`);
      await page.waitForFunction(() => customElements.get('vod-player') !== undefined, null, {
        timeout: 20_000,
      });
      await page.evaluate(
        (pid) => document.getElementById('p')!.setAttribute('playback-id', pid),
        v.playback.id,
      );
      await page.evaluate(() => (document.getElementById('p') as unknown as Player).video.play());
      await page.waitForFunction(
        () => (document.getElementById('p') as unknown as Player).video.currentTime > 7,
        null,
        { timeout: 40_000 },
      );
      // What the media element itself says was played.
      const played = await page.evaluate(() => {
        const el = (document.getElementById('p') as unknown as Player).video;
        el.pause();
        let sum = 0;
        for (let i = 0; i < el.played.length; i++) sum += el.played.end(i) - el.played.start(i);
        return sum;
      });
      const viewId = await page.evaluate(
        () => (window as unknown as { qoe: Array<{ viewId: string }> }).qoe[0]!.viewId,
      );
      await page.goto(`${pages.url}/blank.html`); // pagehide: view_end by sendBeacon
      await waitFor(
        async () => {
          await s.ctx.stats.ingest.flush();
          const end = await s.ctx.db.primary
            .selectFrom('beacons')
            .select('id')
            .where('view_id', '=', viewId)
            .where('event', '=', 'view_end')
            .executeTakeFirst();
          return end ? true : undefined;
        },
        10_000,
        'view_end stored',
      );
      await s.ctx.stats.runRollup();
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const res = await fetch(`${s.url}/v1/stats/videos/${v.id}?granularity=minute&from=${from}`, {
        headers: t.auth,
      });
      expect(res.status).toBe(200);
      const { totals } = (await res.json()) as {
        totals: {
          views: number;
          uniqueViewers: number;
          watchSeconds: number;
          rebufferCount: number;
          rebufferSeconds: number;
          startupMsP50: number;
          errors: number;
        };
      };
      expect(totals.views).toBe(1);
      expect(totals.uniqueViewers).toBe(1);
      expect(played).toBeGreaterThan(6);
      expect(Math.abs(totals.watchSeconds - played) / played).toBeLessThanOrEqual(0.1);
      expect(totals.rebufferCount).toBe(1);
      expect(totals.rebufferSeconds).toBeGreaterThanOrEqual(2);
      expect(totals.rebufferSeconds).toBeLessThan(15);
      expect(totals.startupMsP50).toBeGreaterThan(0);
      expect(totals.errors).toBe(0);
      // The same through the SDK.
      const vc = new VodCloud({ baseUrl: s.url, apiKey: t.key });
      const viaSdk = await vc.stats.video(v.id, { granularity: 'minute', from });
      expect(viaSdk.totals).toEqual(totals);
      expect((await vc.stats.breakdown({ by: 'browser', videoId: v.id })).data[0]).toMatchObject({
        value: 'Chrome',
        views: 1,
      });
    } catch (err) {
      console.error(`browser console:\n${log.join('\n')}`);
      throw err;
    } finally {
      await page.close();
    }
  }, 120_000);

  it('another video in the same element is another view: the first ends under its own playback id', async () => {
    const { page, log, batches, qoe, close } = await openQoe();
    try {
      await page.evaluate(() => (document.getElementById('p') as unknown as Player).video.play());
      await page.waitForFunction(
        () => (document.getElementById('p') as unknown as Player).video.currentTime > 1,
        null,
        { timeout: 20_000 },
      );
      const first = (await qoe())[0]!;
      const other = 'OtherVideo0123456789';
      await page.evaluate((pid) => document.getElementById('p')!.setAttribute('playback-id', pid), other);
      await waitFor(
        async () => (eventsOf(batches).some((e) => e.event === 'view_end') ? true : undefined),
        5_000,
        'the first view ended',
      );
      const ended = batches.find((b) => b.events.some((e) => e.event === 'view_end'))!;
      expect(ended).toMatchObject({ viewId: first.viewId, playbackId: video.playback.id });
      // The new source plays (or fails) in a new view: a new id, seq from 0, the new playback id.
      await page.evaluate(() => {
        void (document.getElementById('p') as unknown as Player).video.play().catch(() => {});
      });
      await page.waitForFunction(
        (id) => (window as unknown as { qoe: Array<{ viewId: string }> }).qoe.some((e) => e.viewId !== id),
        first.viewId,
        { timeout: 10_000 },
      );
      const next = (await qoe()).filter((e) => e.viewId !== first.viewId);
      // It was playing: the switch is the new view's play intent, so view_start comes first.
      expect(next[0]).toMatchObject({ event: 'view_start', seq: 0, playbackId: other });
    } catch (err) {
      console.error(`browser console:\n${log.join('\n')}`);
      throw err;
    } finally {
      await close();
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
