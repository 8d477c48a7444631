// The upload and video pages in Debian's Chromium against a real server: a member uploads through the file
// input, the video becomes ready and plays, its title is edited; pause/resume; a reload mid-upload then
// resume; import from a URL; a viewer sees no write controls and the server refuses their DELETE.
import { copyFileSync, createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import { type ConsoleServer, checkPage, consoleAs, startConsoleServer, VIEWPORTS } from '../support/console';
import { makeClip } from '../support/videos';

const DIR = `/tmp/cvideo-${process.pid}`;

describe.skipIf(!hasChromium())('console: upload and video pages', () => {
  let s: ConsoleServer;
  let files: Server;
  let filesBase: string;
  const small = path.join(DIR, 'small-clip.mp4');
  const big = path.join(DIR, 'big-clip.mp4');
  const big2 = path.join(DIR, 'big-clip-2.mp4');
  let videoId = '';

  const api = async (p: string, init: RequestInit = {}) =>
    fetch(`${s.base}${p}`, { ...init, headers: { ...s.tenant.auth, ...(init.headers ?? {}) } });
  const getJson = async <T>(p: string) => (await (await api(p)).json()) as T;
  async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  /** Slows every tus PATCH down, so that there is time to pause or reload mid-upload. */
  async function throttle(page: Page, ms: number) {
    await page.route('**/tus/**', async (route) => {
      if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, ms));
      await route.continue().catch(() => {}); // aborted meanwhile (pause, reload)
    });
  }

  beforeAll(async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(DIR, { recursive: true });
    await Promise.all([
      makeClip(small, { duration: 3, size: '320x240', audio: true }),
      makeClip(big, { duration: 10, size: '1920x1080', rate: 30 }),
    ]);
    copyFileSync(big, big2);
    files = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': statSync(small).size });
      createReadStream(small).pipe(res);
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    filesBase = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    s = await startConsoleServer({
      VOD_FETCH_ALLOW_HOSTS: '127.0.0.1',
      VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4',
    });
  }, 90_000);
  afterAll(async () => {
    await s?.close();
    files?.close();
  });

  it('a member uploads a clip, it becomes ready and plays, and its title is edited', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/upload`);
    await page.getByRole('heading', { name: 'Upload', level: 1 }).waitFor();
    await page.getByLabel('Choose files').setInputFiles(small);
    const bar = page.getByRole('progressbar', { name: 'Upload progress of small-clip.mp4' });
    await bar.waitFor();
    await page.getByRole('link', { name: 'Open video: small-clip.mp4' }).waitFor({ timeout: 30_000 });
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    await checkPage(page, 'upload-desktop');
    const href = await page.getByRole('link', { name: 'Open video: small-clip.mp4' }).getAttribute('href');
    videoId = href?.split('/').pop() ?? '';
    expect(videoId).toBeTruthy();

    // The video page shows processing live, then ready.
    await page.getByRole('link', { name: 'Open video: small-clip.mp4' }).click();
    await page.getByRole('heading', { name: 'small-clip.mp4', level: 1 }).waitFor();
    await page.getByText('Ready', { exact: true }).first().waitFor({ timeout: 60_000 });
    const v = await getJson<{ status: string; title: string }>(`/v1/videos/${videoId}`);
    expect(v.status).toBe('ready');

    // The player plays.
    await page.waitForFunction(() => !!document.querySelector('vod-player')?.video);
    await page.evaluate(() => {
      const video = (document.querySelector('vod-player') as unknown as { video: HTMLVideoElement }).video;
      video.muted = true;
      void video.play();
    });
    await page.waitForFunction(
      () =>
        ((document.querySelector('vod-player') as unknown as { video: HTMLVideoElement }).video.currentTime ??
          0) > 0.5,
      undefined,
      { timeout: 20_000 },
    );

    // Edit the title.
    await page.getByLabel('Title', { exact: true }).fill('Harbour at dawn');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await getJson<{ title: string }>(`/v1/videos/${videoId}`)).title).toBe('Harbour at dawn');
    await page.getByRole('heading', { name: 'Harbour at dawn', level: 1 }).waitFor();
    await page.evaluate(() =>
      (document.querySelector('vod-player') as unknown as { video: HTMLVideoElement }).video.pause(),
    );
    await checkPage(page, 'video-desktop');

    await page.setViewportSize(VIEWPORTS.phone);
    await checkPage(page, 'video-phone');
    await page.goto(`${s.base}/upload`);
    await page.getByRole('heading', { name: 'Upload', level: 1 }).waitFor();
    await checkPage(page, 'upload-phone');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('pauses and resumes an upload', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await throttle(page, 1200);
    await page.goto(`${s.base}/upload`);
    await page.getByLabel('Choose files').setInputFiles(big);
    await page.getByRole('button', { name: 'Pause big-clip.mp4' }).click({ timeout: 20_000 });
    await page.getByText('Paused', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Resume big-clip.mp4' }).click();
    await page.getByRole('link', { name: 'Open video: big-clip.mp4' }).waitFor({ timeout: 40_000 });
    const id = (await page.getByRole('link', { name: 'Open video: big-clip.mp4' }).getAttribute('href'))
      ?.split('/')
      .pop();
    const v = await getJson<{ status: string; sizeBytes: number | null }>(`/v1/videos/${id}`);
    expect(v.status).not.toBe('waiting_upload');
    expect(errors).toEqual([]);
    await api(`/v1/videos/${id}`, { method: 'DELETE' }); // spare the CPU its 1080p ladder
    await context.close();
  }, 60_000);

  it('resumes an upload after a page reload, from where it stopped', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await throttle(page, 1500);
    await page.goto(`${s.base}/upload`);
    await page.getByLabel('Choose files').setInputFiles(big2);
    // The remembered upload (localStorage) and its server-side offset once a chunk is stored.
    const uploadId = await until('the remembered upload', async () =>
      page.evaluate(() => {
        for (let i = 0; i < localStorage.length; i++) {
          const k = localStorage.key(i) ?? '';
          if (k.startsWith('tus::vodcloud::') && k.includes('big-clip-2.mp4'))
            return (JSON.parse(localStorage.getItem(k) ?? '{}') as { vodcloud?: { uploadId: string } })
              .vodcloud?.uploadId;
        }
        return undefined;
      }),
    );
    await until('a stored chunk', async () => {
      const u = await getJson<{ offset: number }>(`/v1/uploads/${uploadId}`);
      return u.offset > 0 ? u : undefined;
    });
    await page.reload();
    await page.getByRole('heading', { name: 'Unfinished uploads' }).waitFor();
    const stopped = await getJson<{ offset: number; status: string; videoId: string }>(
      `/v1/uploads/${uploadId}`,
    );
    expect(stopped.status).toBe('uploading');
    await page.getByText('big-clip-2.mp4').first().waitFor();
    await checkPage(page, 'upload-unfinished');
    let creations = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/uploads') creations++;
    });
    await page.unroute('**/tus/**');
    await page.getByLabel('Choose big-clip-2.mp4 again').setInputFiles(big2);
    await page.getByRole('link', { name: 'Open video: big-clip-2.mp4' }).waitFor({ timeout: 40_000 });
    const resumed = await page.getByText(/Resumed at \d+ %/).textContent();
    expect(Number(/Resumed at (\d+) %/.exec(resumed ?? '')?.[1])).toBeGreaterThan(0);
    expect(creations).toBe(0);
    const done = await getJson<{ status: string; videoId: string; offset: number }>(
      `/v1/uploads/${uploadId}`,
    );
    expect(done.status).toBe('complete');
    expect(done.videoId).toBe(stopped.videoId);
    expect(await page.getByRole('link', { name: 'Open video: big-clip-2.mp4' }).getAttribute('href')).toBe(
      `/videos/${stopped.videoId}`,
    );
    expect(errors).toEqual([]);
    await api(`/v1/videos/${stopped.videoId}`, { method: 'DELETE' });
    await context.close();
  }, 60_000);

  it('imports a video from a URL', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/upload`);
    await page.getByLabel('Video URL').fill(`${filesBase}/imported-clip.mp4`);
    await page.getByRole('button', { name: 'Import' }).click();
    const link = page.getByRole('link', { name: 'Open video: imported-clip.mp4' });
    await link.or(page.getByRole('alert')).first().waitFor();
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    const id = (await link.getAttribute('href'))?.split('/').pop();
    // The video exists at once, named after the URL's file. (In this test server the fetch job does not get
    // past `uploading`: not asserted here, see the report.)
    const v = await getJson<{ status: string; title: string; error: unknown }>(`/v1/videos/${id}`);
    expect(['uploading', 'queued', 'processing', 'ready']).toContain(v.status);
    expect(v.title).toBe('imported-clip.mp4');
    expect(v.error).toBeNull();
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('a viewer sees the video without write controls, and the server refuses their DELETE', async () => {
    const { page, errors, context } = await consoleAs(s, 'viewer', { expectedStatuses: [401, 403] });
    await page.goto(`${s.base}/videos/${videoId}`);
    await page.getByRole('heading', { name: 'Harbour at dawn', level: 1 }).waitFor();
    await page.locator('vod-player').waitFor();
    for (const name of ['Delete', 'Block', 'Save', 'Retranscode', 'Set as cover', 'Take snapshot'])
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    expect(await page.getByLabel('Title', { exact: true }).count()).toBe(0);
    await checkPage(page, 'video-viewer-desktop');
    const status = await page.evaluate(async (id) => {
      const session = (await (await fetch('/v1/sessions/current')).json()) as { csrfToken: string };
      const res = await fetch(`/v1/videos/${id}`, {
        method: 'DELETE',
        headers: { 'x-csrf-token': session.csrfToken },
      });
      return res.status;
    }, videoId);
    expect(status).toBe(403);
    expect((await api(`/v1/videos/${videoId}`)).status).toBe(200);
    await page.setViewportSize(VIEWPORTS.phone);
    await checkPage(page, 'video-viewer-phone');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
