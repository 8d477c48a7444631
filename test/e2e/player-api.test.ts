// The element API of <vod-player> in real headless Chromium against a real server and real videos (a
// public and a signed 6 s clip; hls.js with its defaults): media events re-dispatched on the element,
// media properties and methods, start-time, loop, the error event of a signed video without a token and
// the playback/thumbnail/storyboard tokens that make it play, and theming with ::part() and custom
// properties (every part THEMING.md lists exists, and only those).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import { hasChromium, launchBrowser } from '../support/browser';
import { createTemplate, makeClip, uploadUntilReady } from '../support/videos';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SHOTS = process.env.VOD_SCREENSHOT_DIR ?? tmpdir();

interface Video {
  id: string;
  duration: number;
  playback: { id: string; policy: string; embedUrl: string };
}

/** What a page records: every event the element dispatched, and any that reached `document` bubbling. */
interface Logged {
  type: string;
  bubbles: boolean;
  composed: boolean;
  isCustom: boolean;
  detail: unknown;
  time: number;
}
type Player = HTMLElement & {
  video: HTMLVideoElement;
  error: { code: number; message: string; status?: number; details?: string } | null;
  currentTime: number;
  duration: number;
  paused: boolean;
  ended: boolean;
  muted: boolean;
  volume: number;
  playbackRate: number;
  readyState: number;
  buffered: TimeRanges;
  seekable: TimeRanges;
  loop: boolean;
  storyboard: unknown[];
  posterUrl: string;
  masterUrl: string;
  storyboardUrl: string;
  play(): Promise<void>;
  pause(): void;
};
type Win = Window & { log: Logged[]; bubbled: string[]; p: Player };

const EVENTS = [
  'loadstart',
  'emptied',
  'loadedmetadata',
  'loadeddata',
  'durationchange',
  'canplay',
  'canplaythrough',
  'play',
  'playing',
  'pause',
  'waiting',
  'seeking',
  'seeked',
  'timeupdate',
  'progress',
  'ratechange',
  'volumechange',
  'ended',
  'error',
];

/** The page: the server's player bundle, a theme for `.themed` players, and mount(attrs) in the page. */
const pageHtml = (server: string) => `<!doctype html><html><head><meta charset="utf-8">
<script type="module" src="${server}/embed/vod-player.js"></script>
<style>
body{margin:0;background:#222}
vod-player{width:640px;height:360px}
vod-player.themed{--vod-player-accent-color:rgb(0, 200, 0);--vod-player-font-family:monospace}
vod-player.themed::part(controls){background:rgb(1, 2, 3)}
vod-player.themed::part(play-button){color:rgb(250, 0, 0)}
vod-player.themed::part(time){font-weight:700}
</style></head><body>
<script>
window.log = []; window.bubbled = [];
const EVENTS = ${JSON.stringify(EVENTS)};
for (const t of EVENTS) document.addEventListener(t, (e) => { if (e.target.localName === 'vod-player') bubbled.push(t); });
window.mount = (attrs) => {
  const p = document.createElement('vod-player');
  for (const t of EVENTS) p.addEventListener(t, (e) => log.push({ type: e.type, bubbles: e.bubbles,
    composed: e.composed, isCustom: e instanceof CustomEvent, detail: e.detail ?? null, time: p.currentTime }));
  for (const [k, v] of Object.entries(attrs)) p.setAttribute(k, v);
  document.body.append(p);
  window.p = p;
};
</script></body></html>`;

async function pageServer(html: string) {
  const server = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe.skipIf(!hasChromium())('<vod-player> element API in headless Chromium', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodplayer-api-'));
  let s: TestServer;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof pageServer>>;
  let pub: Video;
  let signed: Video;
  let auth: Record<string, string>;

  beforeAll(async () => {
    const clip = path.join(dir, 'clip.mp4');
    const [server, b] = await Promise.all([
      startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4' }),
      launchBrowser(),
      makeClip(clip, { size: '640x360', rate: 25, duration: 6, audio: true }),
    ]);
    s = server;
    browser = b;
    const t = await s.tenant('player-api');
    auth = t.auth;
    const templateId = await createTemplate(s.url, auth, {
      name: 'two-rung',
      renditions: [
        { name: '360p', height: 360, videoBitrate: 500_000 },
        { name: '240p', height: 240, videoBitrate: 250_000 },
      ],
      audio: { bitrate: 64_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'none',
    });
    [pub, signed] = await Promise.all([
      uploadUntilReady<Video>(s.url, auth, clip, { templateId, title: 'public' }, 90_000),
      uploadUntilReady<Video>(s.url, auth, clip, { templateId, playbackPolicy: 'signed' }, 90_000),
    ]);
    expect(signed.playback.policy).toBe('signed');
    pages = await pageServer(pageHtml(s.url));
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await pages?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A page with the player bundle loaded; `requests` collects the URLs it asks the server for. */
  const open = async () => {
    const page = await browser.newPage({ viewport: { width: 680, height: 400 } });
    const logs: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (r.url().startsWith(s.url)) requests.push(r.url());
    });
    await page.goto(pages.url);
    await page.waitForFunction(() => customElements.get('vod-player') !== undefined, null, {
      timeout: 30_000,
    });
    return { page, logs, requests };
  };
  const mount = (page: Page, attrs: Record<string, string>) =>
    page.evaluate((a) => (window as unknown as { mount(a: object): void }).mount(a), {
      'stream-base': s.url,
      'api-base': s.url,
      ...attrs,
    });
  const logged = (page: Page) => page.evaluate(() => (window as unknown as Win).log);
  const types = async (page: Page) => (await logged(page)).map((e) => e.type);
  const waitEvent = (page: Page, type: string, after = 0, timeout = 20_000) =>
    page.waitForFunction(
      ([t, n]) => (window as unknown as Win).log.slice(n as number).some((e) => e.type === t),
      [type, after] as const,
      { timeout },
    );
  const count = async (page: Page) => (await logged(page)).length;
  const prop = <T>(page: Page, fn: (p: Player) => T) =>
    page.evaluate(`(${fn.toString()})(window.p)`) as Promise<T>;
  const mint = async (aud: 'v' | 't' | 's') => {
    const r = await fetch(`${s.url}/v1/videos/${signed.id}/playback-tokens`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ aud, expiresIn: 600 }),
    });
    expect(r.status).toBe(201);
    return ((await r.json()) as { token: string }).token;
  };
  const withLog = async (fn: (o: Awaited<ReturnType<typeof open>>) => Promise<void>) => {
    const o = await open();
    try {
      await fn(o);
    } catch (err) {
      process.stderr.write(`browser console:\n${o.logs.join('\n')}\nevents: ${await types(o.page)}\n`);
      throw err;
    } finally {
      await o.page.close();
    }
  };

  it(
    're-dispatches media events on the element and mirrors the media properties and methods',
    () =>
      withLog(async ({ page }) => {
        await mount(page, { 'playback-id': pub.playback.id, muted: '' });
        await waitEvent(page, 'loadedmetadata');
        expect(await prop(page, (p) => Math.abs(p.duration - 6) < 0.3)).toBe(true);
        expect(await prop(page, (p) => p.duration === p.video.duration)).toBe(true);
        expect(await prop(page, (p) => [p.paused, p.ended, p.readyState >= 1])).toEqual([true, false, true]);
        expect(await prop(page, (p) => p.seekable.length && p.seekable.end(0))).toBeCloseTo(
          await prop(page, (p) => p.duration),
          0,
        );

        // play() is the media's promise and resolves; play, playing, timeupdate follow on the element.
        const played = await page.evaluate(async () => {
          const r = (window as unknown as Win).p.play();
          const isPromise = r instanceof Promise;
          await r;
          return { isPromise, paused: (window as unknown as Win).p.paused };
        });
        expect(played).toEqual({ isPromise: true, paused: false });
        for (const t of ['play', 'playing', 'timeupdate']) await waitEvent(page, t);
        await page.waitForFunction(() => (window as unknown as Win).p.currentTime > 0.5);
        expect(await prop(page, (p) => p.buffered.length > 0 && p.buffered.end(0) > 1)).toBe(true);

        // Property sets reach the media and come back as events on the element.
        let n = await count(page);
        await prop(page, (p) => {
          p.playbackRate = 2;
        });
        await waitEvent(page, 'ratechange', n);
        expect(await prop(page, (p) => [p.video.playbackRate, p.playbackRate])).toEqual([2, 2]);
        expect(await prop(page, (p) => p.shadowRoot!.querySelector('[part~=rate-button]')!.textContent)).toBe(
          '2×',
        );
        n = await count(page);
        await prop(page, (p) => {
          p.volume = 0.5;
        });
        await waitEvent(page, 'volumechange', n);
        expect(await prop(page, (p) => p.video.volume)).toBe(0.5);
        // muted: property → attribute, attribute → property, the mute button → both.
        await prop(page, (p) => {
          p.muted = false;
        });
        expect(await prop(page, (p) => [p.hasAttribute('muted'), p.video.muted])).toEqual([false, false]);
        await prop(page, (p) => p.setAttribute('muted', ''));
        expect(await prop(page, (p) => [p.muted, p.video.muted])).toEqual([true, true]);
        await page.locator('vod-player').locator('[part~=mute-button]').click();
        await expect
          .poll(() => prop(page, (p) => [p.hasAttribute('muted'), p.muted]))
          .toEqual([false, false]);

        // currentTime set → seeking, seeked; then the end: ended, paused.
        n = await count(page);
        await prop(page, (p) => {
          p.currentTime = 4;
        });
        await waitEvent(page, 'seeked', n);
        const seeking = (await logged(page)).slice(n).map((e) => e.type);
        expect(seeking.indexOf('seeking')).toBeGreaterThanOrEqual(0);
        expect(seeking.indexOf('seeking')).toBeLessThan(seeking.indexOf('seeked'));
        expect(await prop(page, (p) => p.currentTime)).toBeGreaterThanOrEqual(3.9);
        await waitEvent(page, 'ended', n, 15_000);
        expect(await prop(page, (p) => [p.ended, p.paused])).toEqual([true, true]);

        // pause() on a playing video: pause event.
        n = await count(page);
        await page.evaluate(() => (window as unknown as Win).p.play()); // from the end: starts again at 0
        await waitEvent(page, 'playing', n);
        n = await count(page);
        await prop(page, (p) => p.pause());
        await waitEvent(page, 'pause', n);

        // Like a <video>'s: plain Events that neither bubble nor are composed; none reached document.
        const all = await logged(page);
        for (const t of ['loadstart', 'loadedmetadata', 'durationchange', 'canplay', 'progress', 'seeking'])
          expect(all.map((e) => e.type)).toContain(t);
        expect(all.filter((e) => e.bubbles || e.composed || e.isCustom)).toEqual([]);
        expect(all.filter((e) => e.type === 'error')).toEqual([]);
        expect(await page.evaluate(() => (window as unknown as Win).bubbled)).toEqual([]);
      }),
    90_000,
  );

  it(
    'start-time starts there without fetching the segments before it; loop restarts instead of ending',
    () =>
      withLog(async ({ page, requests }) => {
        await mount(page, { 'playback-id': pub.playback.id, muted: '', 'start-time': '3', autoplay: '' });
        await waitEvent(page, 'playing');
        const first = (await logged(page)).find((e) => e.type === 'playing')!;
        expect(first.time).toBeGreaterThanOrEqual(2.9);
        expect(first.time).toBeLessThan(4.5);
        const segments = requests.filter((u) => /\/seg-\d+\.ts/.test(u)).map((u) => /seg-\d+/.exec(u)![0]);
        expect(segments.length).toBeGreaterThan(0);
        expect(segments).not.toContain('seg-00000'); // 2 s segments: the first one holds 0–2 s

        await prop(page, (p) => {
          p.loop = true;
        });
        expect(await prop(page, (p) => [p.hasAttribute('loop'), p.video.loop])).toEqual([true, true]);
        const n = await count(page);
        await prop(page, (p) => {
          p.currentTime = 5;
        });
        // Past the end it starts again from 0: a seek back, still playing, no ended.
        await page.waitForFunction(
          (k) => {
            const w = window as unknown as Win;
            const after = w.log.slice(k);
            return after.some((e) => e.type === 'seeked' && e.time < 1) && w.p.currentTime > 0.3;
          },
          n,
          { timeout: 15_000 },
        );
        const after = (await logged(page)).slice(n);
        expect(after.some((e) => e.type === 'timeupdate' && e.time > 5.5)).toBe(true);
        expect(after.map((e) => e.type)).not.toContain('ended');
        expect(await prop(page, (p) => p.paused)).toBe(false);
      }),
    60_000,
  );

  it(
    'preload="none" fetches no segment until play()',
    () =>
      withLog(async ({ page, requests }) => {
        await mount(page, { 'playback-id': pub.playback.id, muted: '', preload: 'none' });
        await page.waitForFunction(() =>
          (window as unknown as Win).p.shadowRoot!.querySelector('[part~=menu-item][data-value="-1"]'),
        ); // the manifest is parsed (the quality menu is built)
        await page.waitForTimeout(1500); // time enough to have fetched segments, were it going to
        const segments = () => requests.filter((u) => /\/seg-\d+\.ts/.test(u));
        expect(requests.some((u) => u.includes('/master.m3u8'))).toBe(true);
        expect(segments()).toEqual([]);
        await page.evaluate(() => (window as unknown as Win).p.play());
        await page.waitForFunction(() => (window as unknown as Win).p.currentTime > 0.5, null, {
          timeout: 15_000,
        });
        expect(segments().length).toBeGreaterThan(0);
      }),
    40_000,
  );

  it(
    'a signed video without a token fires error (403) and shows it; playback-token makes it play',
    () =>
      withLog(async ({ page }) => {
        await mount(page, { 'playback-id': signed.playback.id, muted: '' });
        await waitEvent(page, 'error');
        const ev = (await logged(page)).find((e) => e.type === 'error')!;
        expect(ev).toMatchObject({ bubbles: false, composed: false, isCustom: true });
        expect(ev.detail).toMatchObject({ code: 2, status: 403, details: 'manifestLoadError' });
        expect(await prop(page, (p) => p.error)).toEqual(ev.detail);
        const overlay = page.locator('vod-player').locator('[part~=error]');
        await expect.poll(() => overlay.isVisible()).toBe(true);
        expect(await overlay.textContent()).toMatch(/HTTP 403.*playback token/);
        await page.screenshot({ path: path.join(SHOTS, 'vod-player-error.png') });

        // The three tokens, one audience each; `token` is the fallback of all.
        const [v, t, sb] = await Promise.all([mint('v'), mint('t'), mint('s')]);
        await prop(page, (p) => p.setAttribute('token', 'fallback'));
        const urls = () => prop(page, (p) => [p.masterUrl, p.posterUrl, p.storyboardUrl]);
        for (const u of await urls()) expect(new URL(u).searchParams.get('token')).toBe('fallback');
        await prop(page, (p) => p.removeAttribute('token'));
        const n = await count(page);
        await page.evaluate(
          ([a, b, c]) => {
            const p = (window as unknown as Win).p;
            p.setAttribute('thumbnail-token', b!);
            p.setAttribute('storyboard-token', c!);
            p.setAttribute('playback-token', a!); // a new master URL: the video is loaded again
          },
          [v, t, sb],
        );
        const [master, poster, story] = (await urls()).map((u) => new URL(u).searchParams.get('token'));
        expect([master, poster, story]).toEqual([v, t, sb]);
        await waitEvent(page, 'loadedmetadata', n);
        expect(await prop(page, (p) => p.error)).toBeNull();
        await expect.poll(() => overlay.isVisible()).toBe(false);
        await page.evaluate(() => (window as unknown as Win).p.play());
        await page.waitForFunction(() => (window as unknown as Win).p.currentTime > 1, null, {
          timeout: 20_000,
        });
        // The poster and storyboard load with their own tokens (and not with the playback one).
        const status = async (u: string) => (await fetch(u)).status;
        const posterUrl = await prop(page, (p) => p.posterUrl);
        expect(await status(posterUrl)).toBe(200);
        expect(await status(posterUrl.replace(t, v))).toBe(403);
        await expect
          .poll(() => prop(page, (p) => p.storyboard.length), { timeout: 10_000 })
          .toBeGreaterThan(0);
        // No error once the tokened load started playing. (Before it, the loads superseded by the attribute
        // changes above — `fallback`, then none — may still answer 403 and fire theirs, late on a busy machine.)
        const since = (await logged(page)).slice(n);
        const loaded = since.findIndex((e) => e.type === 'loadedmetadata');
        expect(loaded).toBeGreaterThanOrEqual(0);
        expect(since.slice(loaded).filter((e) => e.type === 'error')).toEqual([]);
      }),
    60_000,
  );

  it(
    'is themed by ::part() rules and --vod-player-* custom properties; THEMING.md lists every part',
    () =>
      withLog(async ({ page }) => {
        await mount(page, { 'playback-id': pub.playback.id, muted: '' });
        await waitEvent(page, 'loadedmetadata');
        const styleOf = (part: string, props: string[]) =>
          page.evaluate(
            ([sel, ps]) => {
              const el = (window as unknown as Win).p.shadowRoot!.querySelector(`[part~="${sel}"]`)!;
              const cs = getComputedStyle(el);
              return (ps as string[]).map((x) => cs.getPropertyValue(x));
            },
            [part, props] as const,
          );
        // Defaults first.
        expect(await styleOf('seek-progress', ['background-color'])).toEqual(['rgb(68, 170, 255)']);
        expect(await styleOf('controls', ['background-image'])).toEqual([
          expect.stringContaining('linear-gradient'),
        ]);
        await prop(page, (p) => p.classList.add('themed'));
        expect(await styleOf('controls', ['background-color', 'background-image'])).toEqual([
          'rgb(1, 2, 3)',
          'none',
        ]);
        expect(await styleOf('play-button', ['color'])).toEqual(['rgb(250, 0, 0)']);
        expect(await styleOf('time', ['font-weight', 'font-family'])).toEqual(['700', 'monospace']);
        expect(await styleOf('seek-progress', ['background-color'])).toEqual(['rgb(0, 200, 0)']);
        await prop(page, (p) => p.style.setProperty('--vod-player-accent-color', 'rgb(255, 0, 255)'));
        expect(await styleOf('seek-progress', ['background-color'])).toEqual(['rgb(255, 0, 255)']);

        // The parts in the shadow DOM are exactly those THEMING.md documents.
        const doc = readFileSync(path.join(ROOT, 'packages/player/THEMING.md'), 'utf8');
        const section = doc.slice(doc.indexOf('## Parts'), doc.indexOf('## Attributes'));
        const documented = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]).sort();
        await page.evaluate(() => (window as unknown as Win).p.play());
        await page.waitForFunction(() => (window as unknown as Win).p.currentTime > 1);
        const seek = page.locator('vod-player').locator('[part~=seek]');
        const box = (await seek.boundingBox())!;
        await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2); // storyboard preview
        await expect.poll(() => page.locator('vod-player').locator('[part~=preview]').isVisible()).toBe(true);
        await page.screenshot({ path: path.join(SHOTS, 'vod-player-themed-preview.png') });
        await page.locator('vod-player').locator('[part~=rate-button]').click(); // a menu with items
        const present = await prop(page, (p) =>
          [
            ...new Set(
              [...p.shadowRoot!.querySelectorAll('[part]')].flatMap((e) =>
                e.getAttribute('part')!.split(' '),
              ),
            ),
          ].sort(),
        );
        expect(present).toEqual(documented);
        await page.screenshot({ path: path.join(SHOTS, 'vod-player-themed.png') });
      }),
    60_000,
  );
});
