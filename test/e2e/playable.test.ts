// Playable in a second, end to end on one real server (embedded defaults, one CPU job at a time so the
// background encode is slow enough to watch): a web-ready upload is playable (passthrough top rendition,
// copied audio) while it is still processing; segments nobody encoded yet are made just in time, once for
// concurrent requests; once ready, every rendition is gapless and the just-in-time segments were kept; a VFR
// source re-encoded with just-in-time segments is gapless too; and hls.js in headless Chromium plays and
// seeks a video still processing, then again once it is ready.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fpsValue } from '@vodcloud/media';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoPlan } from '../../apps/server/src/modules/pipeline/plan-state';
import { segmentName } from '../../apps/server/src/modules/videos';
import { startTestServer, type TestServer } from '../support/app';
import {
  hasChromium,
  launchBrowser,
  type PageServer,
  type PlayerState,
  startPageServer,
} from '../support/browser';
import { audioTrack, fetchSegments, jitEncodes, masterVariants, videoTrack } from '../support/gapless';
import { makeMpeg2, makeVfr, makeWebReady } from '../support/sources';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { createTemplate } from '../support/videos';

const run = promisify(execFile);

interface Video {
  id: string;
  status: string;
  playable: boolean;
  timings: { uploadCompletedAt: string | null; playableAt: string | null; toPlayableSec: number | null };
  playback: { id: string; hlsUrl: string };
}

describe('playable in a second (one server, cpu=1)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodplayable-'));
  const files = {
    web: path.join(dir, 'web-720p30.mp4'),
    vfr: path.join(dir, 'vfr.mp4'),
    mpeg2: path.join(dir, 'mpeg2-480p.mp4'),
  };
  let s: TestServer;
  let auth: Record<string, string>;
  let tenantId: string;
  const tpl: Record<'web' | 'small' | 'browser', string> = { web: '', small: '', browser: '' };

  beforeAll(async () => {
    const [server] = await Promise.all([
      startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=1,io=2,fast=4', VOD_JIT_WAIT_MS: '60000' }),
      makeWebReady(files.web, { duration: 30 }),
      makeVfr(files.vfr, { half: 12 }),
      makeMpeg2(files.mpeg2, { duration: 90 }),
    ]);
    s = server;
    const t = await s.tenant('playable');
    auth = t.auth;
    tenantId = t.id;
    const common = {
      audio: { bitrate: 128_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'none',
    };
    tpl.web = await createTemplate(s.url, auth, {
      name: '720-480-360',
      renditions: [
        { name: '720p', height: 720, videoBitrate: 2_800_000 },
        { name: '480p', height: 480, videoBitrate: 1_200_000 },
        { name: '360p', height: 360, videoBitrate: 700_000 },
      ],
      ...common,
    });
    tpl.small = await createTemplate(s.url, auth, {
      name: '360-240',
      renditions: [
        { name: '360p', height: 360, videoBitrate: 700_000 },
        { name: '240p', height: 240, videoBitrate: 300_000 },
      ],
      ...common,
    });
    tpl.browser = await createTemplate(s.url, auth, {
      name: '480-360',
      renditions: [
        { name: '480p', height: 480, videoBitrate: 1_000_000 },
        { name: '360p', height: 360, videoBitrate: 600_000 },
      ],
      ...common,
    });
  }, 600_000);

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const getVideo = async (id: string) =>
    (await (await fetch(`${s.url}/v1/videos/${id}`, { headers: auth })).json()) as Video;
  const planOf = async (id: string) =>
    JSON.parse((await s.ctx.videos.repo.find(tenantId, id))!.plan!) as VideoPlan;
  const stored = async (id: string, plan: VideoPlan, name: string, i: number) =>
    !!(await s.ctx.ports.storage.head(`${tenantId}/${id}/${plan.generation}/hls/${name}/${segmentName(i)}`));
  /** Uploads with tus; resolves once the upload completed, with the moment it did. */
  const upload = async (file: string, templateId: string) => {
    const created = await createUploadVia(s.url, auth, { templateId, title: path.basename(file) });
    await tusUpload(await readFile(file), { endpoint: created.url, headers: created.headers }).promise;
    return { id: created.videoId, uploadedAt: performance.now() };
  };
  const untilPlayable = (id: string) =>
    waitFor(
      async () => {
        const v = await getVideo(id);
        if (v.status === 'errored') throw new Error(`video errored: ${JSON.stringify(v)}`);
        return v.playable ? v : undefined;
      },
      180_000,
      `video ${id} to be playable`,
    );
  const untilReady = (id: string) =>
    waitFor(
      async () => {
        const v = await getVideo(id);
        return v.status === 'ready' || v.status === 'errored' ? v : undefined;
      },
      900_000,
      `video ${id} to be ready`,
    );
  const base = (v: Video) => v.playback.hlsUrl.replace(/master\.m3u8$/, '');
  const segUrl = (v: Video, name: string, i: number) => `${base(v)}${name}/${segmentName(i)}`;
  const getSegment = async (url: string) => {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body };
  };

  /**
   * The gapless checks of a ready video, on what the stream role serves: per rendition, frame count as
   * planned, every PTS step one frame, audio end within one frame of the video end. Returns the segments.
   */
  const checkGapless = async (v: Video, plan: VideoPlan, label: string) => {
    const masterUrl = v.playback.hlsUrl;
    const master = await (await fetch(masterUrl)).text();
    const variants = masterVariants(master, masterUrl);
    expect(variants.map((x) => x.name).sort()).toEqual(plan.ladder.renditions.map((r) => r.name).sort());
    const audio = await audioTrack(dir, await fetchSegments(`${base(v)}audio/index.m3u8`));
    const aacFrame = 1024 / plan.ladder.audio!.sampleRate;
    expect(audio.worstStepError, `${label} audio PTS steps`).toBeLessThan(0.0002);
    const served: Record<string, Buffer[]> = {};
    const report: string[] = [];
    for (const r of plan.ladder.renditions) {
      const fps = fpsValue(r.fps);
      const segs = await fetchSegments(`${base(v)}${r.name}/index.m3u8`);
      served[r.name] = segs;
      expect(segs).toHaveLength(plan.segments.length);
      const track = await videoTrack(dir, r.name, segs, fps);
      const expected = Math.round(plan.durationSec * fps);
      expect(track.frames, `${label} ${r.name} frames`).toBe(expected);
      expect(track.worstStepError, `${label} ${r.name} PTS steps`).toBeLessThan(0.0002);
      const drift = Math.abs(audio.endPts - track.endPts);
      expect(drift, `${label} ${r.name} audio/video end drift`).toBeLessThan(1 / fps);
      report.push(
        `${r.name}: ${track.frames}/${expected} frames @${fps.toFixed(3)}, worst PTS step error ${(track.worstStepError * 1e6).toFixed(1)} µs, A/V end drift ${(drift * 1000).toFixed(1)} ms`,
      );
    }
    report.push(
      `audio: ${audio.packets} AAC frames (${(aacFrame * 1000).toFixed(2)} ms), worst step error ${(audio.worstStepError * 1e6).toFixed(1)} µs`,
    );
    console.log(`${label} gapless:\n  ${report.join('\n  ')}`);
    return served;
  };

  // State shared by a → b → c (one video).
  let web: Video;
  let webPlan: VideoPlan;
  let servedWhilePlayable: Buffer[] = [];
  const jitBodies = new Map<string, Buffer>();

  it('a. a web-ready upload is playable while still processing: master (720p passthrough first, source CODECS) and every 720p segment served', async () => {
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=level', '-of', 'csv=p=0'],
      files.web,
    ]);
    const sourceCodec = `avc1.6400${Number(stdout.trim()).toString(16).padStart(2, '0')}`;
    const { id, uploadedAt } = await upload(files.web, tpl.web);
    web = await untilPlayable(id);
    const measured = (performance.now() - uploadedAt) / 1000;
    expect(web.status).toBe('processing');
    expect(web.timings.toPlayableSec).toEqual(expect.any(Number));
    expect(web.timings.toPlayableSec).toBeGreaterThanOrEqual(0);
    webPlan = await planOf(id);
    expect(webPlan.passthrough?.rendition).toBe('720p');
    expect(webPlan.audioCopy).toBe(true);

    const masterRes = await fetch(web.playback.hlsUrl);
    expect(masterRes.status).toBe(200);
    const variants = masterVariants(await masterRes.text(), web.playback.hlsUrl);
    expect(variants.map((x) => x.name)).toEqual(['720p', '480p', '360p']);
    expect(variants[0]!.resolution).toBe('1280x720');
    expect(variants[0]!.codecs).toBe(`${sourceCodec},mp4a.40.2`);
    servedWhilePlayable = await fetchSegments(variants[0]!.url);
    expect(servedWhilePlayable).toHaveLength(webPlan.segments.length);
    expect(webPlan.segments).toHaveLength(15);
    const audio = await fetchSegments(`${base(web)}audio/index.m3u8`);
    expect(audio).toHaveLength(15);
    // All of that was served while the video was still being processed.
    expect((await getVideo(id)).status).toBe('processing');
    console.log(
      `time to playable (web-ready 30 s 720p30, ladder 720/480/360, cpu=1): upload complete → playable seen by polling ${measured.toFixed(2)} s; timings.toPlayableSec ${web.timings.toPlayableSec} s`,
    );
  }, 600_000);

  it('b. a segment nobody encoded yet is made just in time (one encode), also for 6 concurrent requests', async () => {
    expect(web, 'test a made the video').toBeDefined();
    const n = webPlan.segments.length;
    // The last segment of 360p: not encoded by the background yet.
    expect(await stored(web.id, webPlan, '360p', n - 1)).toBe(false);
    const before = await jitEncodes(s.url);
    let t0 = performance.now();
    const last = await getSegment(segUrl(web, '360p', n - 1));
    const oneMs = performance.now() - t0;
    expect(last.status).toBe(200);
    expect(await jitEncodes(s.url)).toBe(before + 1);
    jitBodies.set(`360p/${n - 1}`, last.body);

    // Six players ask at once for the second-to-last segment of 480p: one encode, six identical answers.
    expect(await stored(web.id, webPlan, '480p', n - 2)).toBe(false);
    const mid = await jitEncodes(s.url);
    t0 = performance.now();
    const six = await Promise.all(Array.from({ length: 6 }, () => getSegment(segUrl(web, '480p', n - 2))));
    const sixMs = performance.now() - t0;
    expect(six.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const r of six) expect(r.body.equals(six[0]!.body)).toBe(true);
    expect(six[0]!.body.length).toBeGreaterThan(1000);
    expect(await jitEncodes(s.url)).toBe(mid + 1);
    jitBodies.set(`480p/${n - 2}`, six[0]!.body);
    expect((await getVideo(web.id)).status).toBe('processing');
    console.log(
      `just in time while processing: 360p seg ${n - 1} in ${oneMs.toFixed(0)} ms; 6 concurrent requests for 480p seg ${n - 2} in ${sixMs.toFixed(0)} ms (one encode)`,
    );
  }, 300_000);

  it('c. once ready, every rendition (passthrough and just-in-time segments too) is gapless, and the just-in-time segments were kept', async () => {
    expect(jitBodies.size, 'test b made just-in-time segments').toBe(2);
    const v = await untilReady(web.id);
    expect(v.status).toBe('ready');
    const n = webPlan.segments.length;
    const served = await checkGapless(v, webPlan, 'web-ready');
    expect(served['360p']![n - 1]!.equals(jitBodies.get(`360p/${n - 1}`)!)).toBe(true);
    expect(served['480p']![n - 2]!.equals(jitBodies.get(`480p/${n - 2}`)!)).toBe(true);
    // The passthrough rendition served at playable is what is published.
    expect(served['720p']!.every((b, i) => b.equals(servedWhilePlayable[i]!))).toBe(true);
  }, 900_000);

  it('d. a VFR source (re-encoded, constant output rate) with just-in-time segments during processing is gapless', async () => {
    const { id } = await upload(files.vfr, tpl.small);
    const v = await untilPlayable(id);
    expect(v.status).toBe('processing');
    const plan = await planOf(id);
    expect(plan.passthrough ?? null).toBeNull();
    expect(plan.ladder.fps).toEqual({ num: 24000, den: 1001 });
    const n = plan.segments.length;
    expect(n).toBe(12);
    // (240p first: a request for 360p segment i whose i-1 is not there makes 240p's first, see jit.ts.)
    const asked = [
      ['240p', n - 1],
      ['360p', n - 1],
      ['360p', n - 2],
    ] as const;
    const jit = new Map<string, Buffer>();
    for (const [name, i] of asked) {
      expect(await stored(id, plan, name, i), `${name} ${i} not encoded yet`).toBe(false);
      const before = await jitEncodes(s.url);
      const r = await getSegment(segUrl(v, name, i));
      expect(r.status).toBe(200);
      expect(await jitEncodes(s.url)).toBe(before + 1);
      jit.set(`${name}/${i}`, r.body);
    }
    expect((await getVideo(id)).status).toBe('processing');
    const ready = await untilReady(id);
    expect(ready.status).toBe('ready');
    const served = await checkGapless(ready, plan, 'VFR');
    for (const [name, i] of asked) expect(served[name]![i]!.equals(jit.get(`${name}/${i}`)!)).toBe(true);
  }, 900_000);

  describe.skipIf(!hasChromium())('e. hls.js in headless Chromium', () => {
    // Started by the test itself (biome allows one hook of a kind per file).
    let pages: PageServer;
    let browser: Browser;

    const state = (page: Page) => page.evaluate(() => (window as unknown as { vod: PlayerState }).vod);
    const currentTime = (page: Page) => page.evaluate(() => document.querySelector('video')!.currentTime);
    const playsPast = async (page: Page, t: number, timeout = 120_000) => {
      try {
        await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t, t, {
          timeout,
          polling: 100,
        });
      } catch (err) {
        throw new Error(
          `playback did not pass ${t}s (at ${await currentTime(page)}s): ${JSON.stringify(await state(page))}; ${String(err)}`,
        );
      }
    };
    const seek = async (page: Page, t: number) => {
      await page.evaluate((t) => {
        (window as unknown as { vod: PlayerState }).vod.events.length = 0;
        document.querySelector('video')!.currentTime = t;
      }, t);
      await page.waitForFunction(
        () => (window as unknown as { vod: PlayerState }).vod.events.includes('seeked'),
        null,
        { timeout: 120_000, polling: 100 },
      );
    };
    const noErrors = async (page: Page) => {
      const st = await state(page);
      expect(st.errors.filter((e) => e.fatal)).toEqual([]);
      expect(st.errors.filter((e) => e.details === 'bufferStalledError')).toEqual([]);
      expect(st.mediaErrors).toEqual([]);
      return st;
    };
    /** Plays from the start, then seeks to `to` and plays `span` seconds past it; returns when it seeked. */
    const playAndSeek = async (
      page: Page,
      url: string,
      phase: string,
      to: number,
      span: number,
      beforeSeek?: () => Promise<void>,
    ) => {
      await page.goto(pages.url);
      await page.evaluate((u) => (window as unknown as { playHls(u: string): void }).playHls(u), url);
      await playsPast(page, 1.5);
      await noErrors(page);
      await page.screenshot({ path: path.join(process.env.VOD_SCREENSHOT_DIR ?? dir, `${phase}-start.png`) });
      await beforeSeek?.();
      const seekedAt = performance.now();
      await seek(page, to);
      await playsPast(page, to + span);
      const after = await currentTime(page);
      expect(after).toBeGreaterThan(to + span);
      await new Promise((r) => setTimeout(r, 500));
      expect(await currentTime(page)).toBeGreaterThan(after); // still advancing
      const st = await noErrors(page);
      const shot = path.join(process.env.VOD_SCREENSHOT_DIR ?? dir, `${phase}-seeked.png`);
      await page.screenshot({ path: shot });
      const frames = await page.evaluate(
        () => document.querySelector('video')!.getVideoPlaybackQuality().totalVideoFrames,
      );
      return { st, shot, frames, seekToPlayedMs: performance.now() - seekedAt };
    };

    it('plays and seeks into the second half of a video still processing (just-in-time segments across a chunk boundary), then again once ready', async () => {
      [pages, browser] = await Promise.all([startPageServer(), launchBrowser()]);
      try {
        await playsWhileProcessingThenReady();
      } finally {
        await browser.close();
        await pages.close();
      }
    }, 900_000);

    const playsWhileProcessingThenReady = async () => {
      const { id } = await upload(files.mpeg2, tpl.browser);
      const v = await untilPlayable(id);
      expect(v.status).toBe('processing');
      const plan = await planOf(id);
      expect(plan.passthrough ?? null).toBeNull();
      expect(plan.chunks.length).toBeGreaterThanOrEqual(4); // ~20 s chunks: boundaries at 20, 40, 60, 80 s
      const chunkBoundary = plan.segments[plan.chunks[3]![0]!]!.start; // 60 s
      const page = await browser.newPage({ viewport: { width: 660, height: 400 } });
      const log: string[] = [];
      page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
      try {
        const jitBefore = await jitEncodes(s.url);
        let statusAtSeek = '';
        let storedAtSeek: boolean[] = [];
        const target = chunkBoundary - 4;
        const processing = await playAndSeek(page, v.playback.hlsUrl, 'processing', target, 7, async () => {
          // hls.js at its defaults (adaptive bitrate free, nothing pinned), as real players run it: it may
          // ask the top level after the seek, abandon it and fall back to the lowest (jit.ts makes that first).
          statusAtSeek = (await getVideo(id)).status;
          const around = plan.segments.filter((x) => x.end > target && x.start < target + 8);
          storedAtSeek = (
            await Promise.all(
              ['480p', '360p'].flatMap((r) => around.map((x) => stored(id, plan, r, x.index))),
            )
          ).flat();
        });
        expect(statusAtSeek).toBe('processing');
        // What the player needed after the seek was (at least partly) not encoded yet: made just in time.
        expect(storedAtSeek.includes(false)).toBe(true);
        const jitMade = (await jitEncodes(s.url)) - jitBefore;
        expect(jitMade).toBeGreaterThan(0);
        expect(processing.frames).toBeGreaterThan(100);
        console.log(
          `browser while processing: seek to ${target} s → played past ${target + 7} s in ${(processing.seekToPlayedMs / 1000).toFixed(1)} s, ${jitMade} just-in-time encodes (runs of up to 3 segments), ${processing.st.errors.length} non-fatal hls.js errors ${JSON.stringify(processing.st.errors.map((e) => e.details))}`,
        );
        await page.close();

        const ready = await untilReady(id);
        expect(ready.status).toBe('ready');
        const page2 = await browser.newPage({ viewport: { width: 660, height: 400 } });
        page2.on('console', (m) => log.push(`ready ${m.type()}: ${m.text()}`));
        try {
          const after = await playAndSeek(page2, ready.playback.hlsUrl, 'ready', 70, 3);
          expect(after.frames).toBeGreaterThan(60);
          console.log(
            `browser once ready: seek to 70 s → played past 73 s in ${(after.seekToPlayedMs / 1000).toFixed(1)} s; screenshots in ${dir}`,
          );
        } finally {
          await page2.close();
        }
      } catch (err) {
        console.error(`browser console:\n${log.join('\n')}`);
        throw err;
      } finally {
        if (!page.isClosed()) await page.close();
      }
    };
  });
});
