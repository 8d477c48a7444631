// The upload and video pages in Debian's Chromium against a real server with its worker (uploads are
// transcoded): a member uploads through the file input, the video becomes ready and plays, its title is
// edited and a snapshot taken; a file dropped on the drop zone uploads; pause/resume; a reload mid-upload
// then resume; import from a URL until ready; a signed video's URL generator, block/unblock, retranscode and
// delete; a viewer sees no write controls and the server refuses their DELETE.
import { execFile } from 'node:child_process';
import { copyFileSync, createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import { type ConsoleServer, checkPage, consoleAs, startConsoleServer, VIEWPORTS } from '../support/console';
import { makeClip, type ReadyVideo, uploadUntilReady } from '../support/videos';

const run = promisify(execFile);

/**
 * A 4 s 320x240 clip of noise encoded losslessly: about 16 MB (three of the page's 8 MB chunks), cheap to
 * transcode, so that an upload has chunks to pause between or to stop after.
 */
async function makeBulkyClip(file: string): Promise<string> {
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4,noise=alls=100:allf=t'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', file],
  ]);
  return file;
}

describe.skipIf(!hasChromium())('console: upload and video pages', () => {
  let s: ConsoleServer;
  let files: Server;
  let filesBase: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'console-upload-'));
  const small = path.join(dir, 'small-clip.mp4');
  const dropped = path.join(dir, 'dropped-clip.mp4');
  const bulky = path.join(dir, 'bulky-clip.mp4');
  const bulky2 = path.join(dir, 'bulky-clip-2.mp4');
  let videoId = '';
  /** A signed video uploaded through the API while the first tests run. */
  let signed: Promise<ReadyVideo>;

  const api = async (p: string, init: RequestInit = {}) =>
    fetch(`${s.base}${p}`, { ...init, headers: { ...s.tenant.auth, ...(init.headers ?? {}) } });
  const getJson = async <T>(p: string) => (await (await api(p)).json()) as T;
  async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const statusOf = async (id: string) => (await getJson<{ status: string }>(`/v1/videos/${id}`)).status;
  /** Holds every tus PATCH back for `ms`, so that there is time to pause or reload mid-upload. */
  async function throttle(page: Page, ms: number) {
    await page.route('**/tus/**', async (route) => {
      if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, ms));
      await route.continue().catch(() => {}); // aborted meanwhile (pause, reload)
    });
  }
  const linkId = async (page: Page, name: string) =>
    (await page.getByRole('link', { name: `Open video: ${name}` }).getAttribute('href'))?.split('/').pop() ??
    '';

  beforeAll(async () => {
    await Promise.all([
      makeClip(small, { duration: 3, size: '320x240', audio: true }),
      makeClip(dropped, { duration: 2, size: '320x240' }),
      makeBulkyClip(bulky),
    ]);
    copyFileSync(bulky, bulky2);
    files = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': statSync(small).size });
      createReadStream(small).pipe(res);
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    filesBase = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    s = await startConsoleServer({ VOD_FETCH_ALLOW_HOSTS: '127.0.0.1' }, { worker: true });
    signed = uploadUntilReady(s.base, s.tenant.auth, small, {
      title: 'Signed clip',
      playbackPolicy: 'signed',
    });
    signed.catch(() => {}); // awaited in its test
  }, 90_000);
  afterAll(async () => {
    await s?.close();
    files?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a member uploads a clip, it becomes ready and plays, its title is edited, a snapshot taken', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/upload`);
    await page.getByRole('heading', { name: 'Upload', level: 1 }).waitFor();
    await page.getByLabel('Choose files').setInputFiles(small);
    const bar = page.getByRole('progressbar', { name: 'Upload progress of small-clip.mp4' });
    await bar.waitFor();
    await page.getByRole('link', { name: 'Open video: small-clip.mp4' }).waitFor({ timeout: 30_000 });
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    await checkPage(page, 'upload-desktop');
    videoId = await linkId(page, 'small-clip.mp4');
    expect(videoId).toBeTruthy();

    // The video page follows processing by itself, until ready.
    await page.getByRole('link', { name: 'Open video: small-clip.mp4' }).click();
    await page.getByRole('heading', { name: 'small-clip.mp4', level: 1 }).waitFor();
    await page.locator('.video-status .status-ready').waitFor({ timeout: 60_000 });
    expect(await statusOf(videoId)).toBe('ready');

    // The player plays: its Play button, and the media element's clock advances.
    const play = page.locator('vod-player').getByRole('button', { name: 'Play', exact: true });
    await play.click();
    await page.waitForFunction(
      () =>
        (document.querySelector('vod-player') as unknown as { video: HTMLVideoElement }).video.currentTime >
        0.5,
      undefined,
      { timeout: 20_000 },
    );
    await page.evaluate(() =>
      (document.querySelector('vod-player') as unknown as { video: HTMLVideoElement }).video.pause(),
    );

    // Edit the title: saved on the server.
    await page.getByLabel('Title', { exact: true }).fill('Harbour at dawn');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await getJson<{ title: string }>(`/v1/videos/${videoId}`)).title).toBe('Harbour at dawn');
    await page.getByRole('heading', { name: 'Harbour at dawn', level: 1 }).waitFor();

    // A snapshot at 1 s, 160 px wide: the image loads.
    await page.getByLabel('Time (seconds)', { exact: true }).last().fill('1');
    await page.getByLabel('Width (pixels)').fill('160');
    await page.getByRole('button', { name: 'Take snapshot' }).click();
    const shot = page.getByRole('img', { name: /^Snapshot at 1 s \(160×120\)/ });
    await shot.waitFor();
    await expect.poll(() => shot.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(160);
    await checkPage(page, 'video-desktop');

    await page.setViewportSize(VIEWPORTS.phone);
    await checkPage(page, 'video-phone');
    await page.goto(`${s.base}/upload`);
    await page.getByRole('heading', { name: 'Upload', level: 1 }).waitFor();
    await checkPage(page, 'upload-phone');
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('uploads a file dropped on the drop zone', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/upload`);
    const zone = page.locator('.drop-zone');
    await zone.waitFor();
    const bytes = readFileSync(dropped).toString('base64');
    const dataTransfer = await page.evaluateHandle((b64) => {
      const raw = atob(b64);
      const data = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([data], 'dropped-clip.mp4', { type: 'video/mp4' }));
      return dt;
    }, bytes);
    await zone.dispatchEvent('dragenter', { dataTransfer });
    await zone.dispatchEvent('dragover', { dataTransfer });
    await expect.poll(() => zone.getAttribute('class')).toContain('dragging');
    await zone.dispatchEvent('drop', { dataTransfer });
    await page.getByRole('link', { name: 'Open video: dropped-clip.mp4' }).waitFor({ timeout: 30_000 });
    expect(await zone.getAttribute('class')).not.toContain('dragging');
    const id = await linkId(page, 'dropped-clip.mp4');
    const v = await getJson<{ title: string; sizeBytes: number | null; status: string }>(`/v1/videos/${id}`);
    expect(v.title).toBe('dropped-clip.mp4');
    expect(v.status).not.toBe('waiting_upload');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('pauses and resumes an upload', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await throttle(page, 1000);
    await page.goto(`${s.base}/upload`);
    await page.getByLabel('Choose files').setInputFiles(bulky);
    await page.getByRole('button', { name: 'Pause bulky-clip.mp4' }).click({ timeout: 20_000 });
    await page.getByText('Paused', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Resume bulky-clip.mp4' }).click();
    await page.getByRole('link', { name: 'Open video: bulky-clip.mp4' }).waitFor({ timeout: 40_000 });
    const id = await linkId(page, 'bulky-clip.mp4');
    const v = await getJson<{ status: string; sizeBytes: number | null }>(`/v1/videos/${id}`);
    expect(v.status).not.toBe('waiting_upload');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('resumes an upload after a page reload, from where it stopped', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await throttle(page, 1000);
    await page.goto(`${s.base}/upload`);
    await page.getByLabel('Choose files').setInputFiles(bulky2);
    // The remembered upload (localStorage) and its server-side offset once a chunk is stored.
    const uploadId = await until('the remembered upload', async () =>
      page.evaluate(() => {
        for (let i = 0; i < localStorage.length; i++) {
          const k = localStorage.key(i) ?? '';
          if (k.startsWith('tus::vodcloud::') && k.includes('bulky-clip-2.mp4'))
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
    expect(stopped.offset).toBeLessThan(statSync(bulky2).size);
    await page.getByText('bulky-clip-2.mp4').first().waitFor();
    await checkPage(page, 'upload-unfinished');
    let creations = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/uploads') creations++;
    });
    await page.unroute('**/tus/**');
    await page.getByLabel('Choose bulky-clip-2.mp4 again').setInputFiles(bulky2);
    await page.getByRole('link', { name: 'Open video: bulky-clip-2.mp4' }).waitFor({ timeout: 40_000 });
    const resumed = await page.getByText(/Resumed at \d+ %/).textContent();
    expect(Number(/Resumed at (\d+) %/.exec(resumed ?? '')?.[1])).toBeGreaterThan(0);
    expect(creations).toBe(0);
    const done = await getJson<{ status: string; videoId: string }>(`/v1/uploads/${uploadId}`);
    expect(done.status).toBe('complete');
    expect(done.videoId).toBe(stopped.videoId);
    expect(await linkId(page, 'bulky-clip-2.mp4')).toBe(stopped.videoId);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('imports a video from a URL, and it becomes ready', async () => {
    const { page, errors, context } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/upload`);
    await page.getByLabel('Video URL').fill(`${filesBase}/imported-clip.mp4`);
    await page.getByRole('button', { name: 'Import' }).click();
    const link = page.getByRole('link', { name: 'Open video: imported-clip.mp4' });
    await link.or(page.getByRole('alert')).first().waitFor();
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    const id = await linkId(page, 'imported-clip.mp4');
    const v = await getJson<{ title: string; error: unknown }>(`/v1/videos/${id}`);
    expect(v.title).toBe('imported-clip.mp4');
    expect(v.error).toBeNull();
    // The server fetched it from the local HTTP server and transcoded it; the page shows it ready.
    await link.click();
    await page.getByRole('heading', { name: 'imported-clip.mp4', level: 1 }).waitFor();
    await page.locator('.video-status .status-ready').waitFor({ timeout: 60_000 });
    const ready = await getJson<{ status: string; source: { width: number } | null }>(`/v1/videos/${id}`);
    expect(ready.status).toBe('ready');
    expect(ready.source?.width).toBe(320);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('a signed video: signed URL, block and unblock, retranscode, delete', async () => {
    const v = await signed;
    const { page, errors, context } = await consoleAs(s, 'admin', { locale: 'zh-CN' });
    await page.goto(`${s.base}/videos/${v.id}`);
    await page.getByRole('heading', { name: 'Signed clip', level: 1 }).waitFor();
    // The player gets its tokens and loads.
    await page.locator('vod-player').waitFor();
    // The cover candidates (signed thumbnails) have loaded before the screenshot.
    // (Made on demand by ffmpeg: on a loaded machine that takes seconds, not expect.poll's default 1 s.)
    await expect
      .poll(
        () =>
          page.$$eval('.cover-option img', (imgs) =>
            (imgs as HTMLImageElement[]).every((i) => i.complete && i.naturalWidth > 0),
          ),
        { timeout: 20_000 },
      )
      .toBe(true);
    await checkPage(page, 'video-zh-desktop');
    await page.setViewportSize(VIEWPORTS.phone);
    await checkPage(page, 'video-zh-phone');
    await context.close();

    const admin = await consoleAs(s, 'admin');
    const p = admin.page;
    await p.goto(`${s.base}/videos/${v.id}`);
    await p.getByRole('heading', { name: 'Signed clip', level: 1 }).waitFor();

    // The signed URL it shows plays: the HLS playlist answers 200 to a plain fetch, and 401/403 without.
    await p.getByLabel('Valid for').selectOption('86400');
    await p.getByRole('button', { name: 'Create signed URL' }).click();
    const url = await p.getByLabel('HLS URL', { exact: true }).inputValue();
    expect(url).toContain('?token=');
    const withToken = await fetch(new URL(url, s.base));
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toContain('#EXTM3U');
    expect((await fetch(new URL(url.split('?')[0] ?? '', s.base))).status).toBeGreaterThanOrEqual(400);
    await checkPage(p, 'video-signed-url');

    // Block, then unblock.
    await p.getByRole('button', { name: 'Block', exact: true }).click();
    await p.locator('.video-status .status-blocked').waitFor();
    expect(await statusOf(v.id)).toBe('blocked');
    await p.getByText('A blocked video is not played anywhere.').waitFor();
    await p.getByRole('button', { name: 'Unblock' }).click();
    await p.locator('.video-status .status-ready').waitFor();
    expect(await statusOf(v.id)).toBe('ready');

    // Retranscode, confirmed: the video goes processing.
    await p.getByRole('button', { name: 'Retranscode', exact: true }).click();
    const dialog = p.getByRole('dialog', { name: 'Retranscode this video?' });
    await dialog.waitFor();
    await checkPage(p, 'video-retranscode-confirm');
    await dialog.getByRole('button', { name: 'Retranscode' }).click();
    await p.getByText('Retranscoding started.').waitFor();
    const after = await getJson<{ status: string }>(`/v1/videos/${v.id}`);
    expect(['queued', 'processing']).toContain(after.status);

    // Delete, confirmed: back to the library, and the API no longer has it.
    await p.getByRole('button', { name: 'Delete', exact: true }).click();
    const del = p.getByRole('dialog', { name: 'Delete this video?' });
    await del.getByRole('button', { name: 'Delete' }).click();
    await p.waitForURL((u) => u.pathname === '/library');
    expect((await api(`/v1/videos/${v.id}`)).status).toBe(404);
    expect(admin.errors).toEqual([]);
    expect(errors).toEqual([]);
    await admin.context.close();
  }, 90_000);

  it('a viewer sees the video without write controls, and the server refuses their DELETE', async () => {
    const { page, errors, context } = await consoleAs(s, 'viewer', { expectedStatuses: [401, 403] });
    await page.goto(`${s.base}/videos/${videoId}`);
    await page.getByRole('heading', { name: 'Harbour at dawn', level: 1 }).waitFor();
    await page.locator('vod-player').waitFor();
    for (const name of ['Delete', 'Block', 'Save', 'Retranscode', 'Set as cover', 'Take snapshot'])
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
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
