// Real-browser signed playback: headless Chromium with hls.js plays a `signed`, AES-128-encrypted
// vodcloud video from a page on another origin. Without a token the master playlist is refused (403,
// fatal for hls.js, nothing else fetched); with an RS256 token on the master URL the token is carried
// into every child request (media playlists, segments, the AES key) and it plays; an expired token is
// refused like a missing one.
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { makeClip } from '../support/videos';

interface ReadyVideo {
  id: string;
  status: string;
  error?: unknown;
  playback: { id: string; policy: string; hlsUrl: string };
}

interface Exchange {
  url: string;
  method: string;
  status?: number;
  failure?: string;
}

const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** RS256 by hand: RSA-SHA256 over `base64url(header).base64url(payload)`, header carrying the `kid`. */
function signRs256(claims: object, kid: string, privateKeyPem: string): string {
  const input = `${b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64(JSON.stringify(claims))}`;
  const sig = sign('RSA-SHA256', Buffer.from(input), createPrivateKey(privateKeyPem));
  return `${input}.${b64(sig)}`;
}

describe.skipIf(!hasChromium())('signed playback in a real browser (headless Chromium)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodsigned-'));
  let s: TestServer;
  let pages: PageServer;
  let browser: Browser;
  let video: ReadyVideo;
  let key: { id: string; privateKey: string };

  beforeAll(async () => {
    const clipFile = path.join(dir, 'clip.mp4');
    const [server, pageServer, b] = await Promise.all([
      startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4' }),
      startPageServer(),
      launchBrowser(),
      makeClip(clipFile, { size: '320x240', rate: 25, duration: 6, audio: true }),
    ]);
    s = server;
    pages = pageServer;
    browser = b;
    const t = await s.tenant('signed-playback');
    const api = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${s.url}${url}`, {
        method,
        headers: { ...t.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const tpl = await api('POST', '/v1/templates', {
      name: 'tiny-aes',
      renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
      audio: { bitrate: 64_000 },
      hls: { segmentDuration: 2, encryption: 'aes-128' },
      mp4: 'none',
    });
    expect(tpl.status, JSON.stringify(tpl.body)).toBe(201);
    const created = await createUploadVia(s.url, t.auth, {
      templateId: tpl.body.id,
      title: 'signed clip',
      playbackPolicy: 'signed',
    });
    const [, k] = await Promise.all([
      tusUpload(readFileSync(clipFile), { endpoint: created.url, headers: created.headers }).promise,
      api('POST', '/v1/signing-keys'),
    ]);
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    key = k.body;
    video = await waitFor(
      async () => {
        const v = (await api('GET', `/v1/videos/${created.videoId}`)).body as ReadyVideo;
        if (v.status === 'errored') throw new Error(`video errored: ${JSON.stringify(v.error)}`);
        return v.status === 'ready' ? v : undefined;
      },
      60_000,
      'the video to be ready',
    );
    expect(video.playback.policy).toBe('signed');
    expect(video.playback.hlsUrl).not.toContain('token=');
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await pages?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const state = (page: Page) => page.evaluate(() => (window as unknown as { vod: PlayerState }).vod);
  const currentTime = (page: Page) => page.evaluate(() => document.querySelector('video')!.currentTime);
  const token = (claims: Record<string, unknown> = {}) =>
    signRs256({ sub: video.playback.id, aud: 'v', exp: now() + 600, ...claims }, key.id, key.privateKey);

  /** A fresh page on the page server's origin, recording every request it makes to the vodcloud server. */
  const openPlayer = async () => {
    const page = await browser.newPage({ viewport: { width: 340, height: 280 } });
    const origin = new URL(video.playback.hlsUrl).origin;
    expect(new URL(pages.url).origin).not.toBe(origin); // cross-origin, so CORS is exercised
    const exchanges: Exchange[] = [];
    const byRequest = new Map<unknown, Exchange>();
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) || r.method() === 'OPTIONS') return;
      const x: Exchange = { url: r.url(), method: r.method() };
      exchanges.push(x);
      byRequest.set(r, x);
    });
    page.on('response', (r) => {
      const x = byRequest.get(r.request());
      if (x) x.status = r.status();
    });
    page.on('requestfailed', (r) => {
      const x = byRequest.get(r);
      if (x) x.failure = r.failure()?.errorText ?? 'failed';
    });
    await page.goto(pages.url);
    const play = (url: string) =>
      page.evaluate((u) => (window as unknown as { playHls(u: string): void }).playHls(u), url);
    const report = async () =>
      `player: ${JSON.stringify(await state(page))}\nrequests: ${JSON.stringify(exchanges, null, 1)}\nconsole:\n${log.join('\n')}`;
    return { page, exchanges, play, report };
  };

  /** Waits for hls.js to report a fatal error; returns it. */
  const fatalError = async (page: Page, report: () => Promise<string>) => {
    try {
      await page.waitForFunction(
        () => (window as unknown as { vod: PlayerState }).vod.errors.some((e) => e.fatal),
        null,
        { timeout: 10_000 },
      );
    } catch (err) {
      throw new Error(`no fatal hls.js error: ${await report()}\n${String(err)}`);
    }
    return (await state(page)).errors.find((e) => e.fatal)!;
  };

  const pathOf = (u: string) => new URL(u).pathname;
  const isSegment = (u: string) => /\.(ts|m4s|mp4|aac)$/.test(pathOf(u));

  /** The master is refused with 403 (readable by the cross-origin player), and nothing past it is asked for. */
  const expectRefusedAtMaster = async (p: Awaited<ReturnType<typeof openPlayer>>) => {
    const fatal = await fatalError(p.page, p.report);
    const ctx = await p.report();
    expect(fatal.type, ctx).toBe('networkError');
    expect(fatal.details, ctx).toBe('manifestLoadError');
    // hls.js only sees the 403 when the refusal carries CORS headers; otherwise it reports status 0.
    expect(fatal.status, ctx).toBe(403);
    const master = p.exchanges.filter((x) => pathOf(x.url) === pathOf(video.playback.hlsUrl));
    expect(master.length, ctx).toBeGreaterThan(0);
    expect(
      master.every((x) => x.status === 403),
      ctx,
    ).toBe(true);
    // Nothing beyond the master: no child playlist, no segment, no key.
    expect(
      p.exchanges.filter((x) => pathOf(x.url) !== pathOf(video.playback.hlsUrl)),
      ctx,
    ).toEqual([]);
    expect(
      p.exchanges.filter((x) => isSegment(x.url)),
      ctx,
    ).toEqual([]);
    expect(await currentTime(p.page)).toBe(0);
  };

  it('without a token: the master answers 403, hls.js fails fatally, no segment is fetched', async () => {
    const p = await openPlayer();
    try {
      await p.play(video.playback.hlsUrl);
      await expectRefusedAtMaster(p);
    } finally {
      await p.page.close();
    }
  }, 20_000);

  it('with a valid token on the master: plays, and every child request carries the token and succeeds', async () => {
    const p = await openPlayer();
    const t = token();
    try {
      const url = new URL(video.playback.hlsUrl);
      url.searchParams.set('token', t);
      await p.play(url.toString());
      try {
        await p.page.waitForFunction(() => document.querySelector('video')!.currentTime > 2, null, {
          timeout: 20_000,
        });
      } catch (err) {
        throw new Error(
          `playback did not pass 2s (at ${await currentTime(p.page)}s): ${await p.report()}\n${String(err)}`,
        );
      }
      const st = await state(p.page);
      const ctx = await p.report();
      expect(
        st.errors.filter((e) => e.fatal),
        ctx,
      ).toEqual([]);
      expect(
        st.errors.filter((e) => e.type === 'networkError'),
        ctx,
      ).toEqual([]);
      expect(st.mediaErrors, ctx).toEqual([]);

      // Requests still in flight when we look have no status yet; only judge the finished ones.
      const done = p.exchanges.filter((x) => x.status !== undefined || x.failure !== undefined);
      const paths = done.map((x) => pathOf(x.url));
      expect(paths, ctx).toContain(pathOf(video.playback.hlsUrl));
      expect(
        paths.filter((u) => u.endsWith('.m3u8') && u !== pathOf(video.playback.hlsUrl)).length,
        ctx,
      ).toBeGreaterThan(0); // child playlists
      expect(done.filter((x) => isSegment(x.url)).length, ctx).toBeGreaterThanOrEqual(2); // segments
      expect(
        done.filter((x) => /\/key(\/|$|\.)/.test(pathOf(x.url)) || pathOf(x.url).endsWith('.key')).length,
        ctx,
      ).toBeGreaterThan(0); // the AES-128 key

      for (const x of done) {
        expect(new URL(x.url).searchParams.get('token'), `${x.url}\n${ctx}`).toBe(t);
        expect(x.failure, `${x.url}\n${ctx}`).toBeUndefined();
        expect([200, 206], `${x.url}\n${ctx}`).toContain(x.status);
      }
      expect(
        done.filter((x) => x.status === 403),
        ctx,
      ).toEqual([]);
    } finally {
      await p.page.close();
    }
  }, 30_000);

  it('with an expired token: the master answers 403 and hls.js fails fatally', async () => {
    const p = await openPlayer();
    try {
      const url = new URL(video.playback.hlsUrl);
      url.searchParams.set('token', token({ exp: now() - 120, iat: now() - 720 }));
      await p.play(url.toString());
      await expectRefusedAtMaster(p);
    } finally {
      await p.page.close();
    }
  }, 20_000);
});
