/**
 * Detection end to end (issue 18), on real servers: a generated clip with known defects is uploaded; the
 * worker's `detection` provider runs ffmpeg's quality checks and the nsfwjs model (in its worker thread);
 * the tenant's policy acts on the scores; the webhook is delivered. Run on the embedded defaults and on
 * MariaDB and PostgreSQL with BullMQ on Redis (the `detect` queue class on both queue adapters).
 *
 * The policy path is driven by thresholds set low enough that a test-pattern frame crosses them (the
 * pattern is `neutral`/`drawing` to the model, so a threshold of 0.01 on those classes always flags).
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { VodCloud } from '@vodcloud/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import { databaseEngines } from '../support/databases';
import { deleteRedisKeys, engineUrl } from '../support/engines';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { makeClip } from '../support/videos';

const run = promisify(execFile);
const FPS = 25;
const FRAME = 1 / FPS;

/**
 * 12 s at 25 fps with a 1 kHz tone (stereo): black picture 2–4 s, silence 5–7 s, a frozen picture 8–10 s
 * (one frame repeated), moving test pattern elsewhere.
 */
async function defectClip(file: string): Promise<string> {
  const graph = [
    `[0:v]split=3[a][b][c]`,
    `[a]trim=start=0:end=8,setpts=PTS-STARTPTS[a1]`,
    `[b]trim=start_frame=200:end_frame=201,setpts=PTS-STARTPTS,loop=loop=${2 * FPS - 1}:size=1:start=0,setpts=N/${FPS}/TB[b1]`,
    `[c]trim=start=10:end=12,setpts=PTS-STARTPTS[c1]`,
    `[a1][b1][c1]concat=n=3:v=1:a=0,drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='gte(t,2)*lt(t,4)'[v]`,
    `[1:a]anull[au]`,
  ].join(';');
  await run(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${FPS}:duration=12`],
      // Silence made sample-exact (the volume filter's timeline works per audio frame, ~21 ms).
      ...['-f', 'lavfi', '-i', "aevalsrc='0.5*sin(2*PI*1000*t)*(lt(t,5)+gte(t,7))':s=48000:d=12"],
      ...['-filter_complex', graph, '-map', '[v]', '-map', '[au]', '-ac', '2'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50'],
      ...['-c:a', 'aac', '-b:a', '128k', '-t', '12'],
      file,
    ],
    { timeout: 60_000 },
  );
  return file;
}

interface Span {
  start: number;
  end: number;
}
interface VideoJson {
  id: string;
  status: string;
  playable: boolean;
  playback: { hlsUrl: string };
  detection: null | {
    status: string;
    completedAt: string | null;
    action: string;
    review: null | { status: string; decidedBy: string | null };
    error: null | { code: string };
    qc: null | {
      black: Span[];
      freeze: Span[];
      silence: Span[];
      loudness: null | { integratedLufs: number; lra: number; truePeakDbtp: number };
      interlaced: boolean;
      crop: unknown;
      sceneChanges: number;
    };
    moderation: null | {
      model: string;
      framesAnalyzed: number;
      flagged: boolean;
      flaggedClasses: string[];
      max: Record<string, number>;
      frames: Array<{ time: number; scores: Record<string, number> }>;
    };
  };
}

/** A webhook receiver on 127.0.0.1 (allow-listed through VOD_FETCH_ALLOW_HOSTS). */
async function receiver() {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { got, host: `127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

function api(s: TestServer, auth: Record<string, string>) {
  return async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${s.url}${url}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
}

async function upload(s: TestServer, auth: Record<string, string>, file: string, title: string) {
  const created = await createUploadVia(s.url, auth, { title });
  await tusUpload(readFileSync(file), { endpoint: created.url, headers: created.headers }).promise;
  return created.videoId;
}

async function detected(call: ReturnType<typeof api>, id: string, timeoutMs = 120_000): Promise<VideoJson> {
  return waitFor(
    async () => {
      const v = (await call('GET', `/v1/videos/${id}`)).json as VideoJson;
      if (v.status === 'errored') throw new Error(`video errored: ${JSON.stringify(v)}`);
      return v.detection && ['completed', 'failed'].includes(v.detection.status) ? v : undefined;
    },
    timeoutMs,
    `detection of ${id}`,
  );
}

const within = (value: number, expected: number, tolerance: number) =>
  expect(Math.abs(value - expected), `${value} vs ${expected}`).toBeLessThanOrEqual(tolerance + 1e-9);

let dir: string;
let clip: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vod-detect-'));
  clip = await defectClip(path.join(dir, 'defects.mp4'));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const redisUrl = engineUrl('redis', 'detection on BullMQ');
const engines = databaseEngines('detection').filter(
  (e) => e.engine === 'sqlite' || (e.available && redisUrl),
);

for (const engine of engines) {
  describe(`detection (${engine.engine}${engine.engine === 'sqlite' ? ', embedded queue' : ', BullMQ'})`, () => {
    let s: TestServer;
    let hook: Awaited<ReturnType<typeof receiver>>;
    let drop: (() => Promise<void>) | undefined;
    const prefix = `vod-detect-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

    beforeAll(async () => {
      hook = await receiver();
      const db = await engine.create();
      drop = db.drop;
      const queue: Record<string, string> =
        engine.engine === 'sqlite' ? {} : { VOD_QUEUE_URL: redisUrl!, VOD_QUEUE_PREFIX: prefix };
      s = await startTestServer({ VOD_DB_URL: db.url, VOD_FETCH_ALLOW_HOSTS: hook.host, ...queue });
    }, 60_000);
    afterAll(async () => {
      await s?.close();
      await hook?.close();
      await drop?.();
      if (engine.engine !== 'sqlite') await deleteRedisKeys(`${prefix}:*`, { url: redisUrl! });
    });

    it('finds the known defects, holds a flagged video for review until approved, and sends the webhook', async () => {
      const t = await s.tenant('detect-a');
      const call = api(s, t.auth);
      const wh = await call('POST', '/v1/webhooks', {
        url: `http://${hook.host}/hook`,
        events: ['video.detection_completed'],
      });
      expect(wh.status).toBe(201);
      const policy = await call('PATCH', '/v1/detection/policy', {
        moderation: { action: 'review', thresholds: { neutral: 0.01, drawing: 0.01 }, intervalSec: 2 },
      });
      expect(policy.status).toBe(200);
      expect(policy.json.moderation).toMatchObject({ action: 'review', intervalSec: 2, maxFrames: 60 });
      expect(policy.json.moderation.thresholds).toMatchObject({ porn: 0.7, neutral: 0.01, drawing: 0.01 });

      const id = await upload(s, t.auth, clip, 'defects');
      const v = await detected(call, id);
      const d = v.detection!;
      expect(d.status, JSON.stringify(d.error)).toBe('completed');

      // Quality checks: each span within one frame (picture) or 10 ms (sound) of where it was made.
      const qc = d.qc!;
      expect(qc.black).toHaveLength(1);
      within(qc.black[0]!.start, 2, FRAME);
      within(qc.black[0]!.end, 4, FRAME);
      expect(qc.freeze).toHaveLength(1);
      within(qc.freeze[0]!.start, 8, FRAME);
      within(qc.freeze[0]!.end, 10, FRAME);
      expect(qc.silence).toHaveLength(1);
      within(qc.silence[0]!.start, 5, 0.01);
      within(qc.silence[0]!.end, 7, 0.01);
      expect(qc.loudness).not.toBeNull();
      expect(qc.interlaced).toBe(false);
      expect(qc.crop).toBeNull();

      // The model scored real frames: every vector sums to ~1, the test pattern is neutral or a drawing.
      const m = d.moderation!;
      expect(m.model).toBe('nsfwjs-mobilenet_v2');
      expect(m.framesAnalyzed).toBeGreaterThanOrEqual(6); // one every 2 s of 12 s, plus scene changes
      const full = (await call('GET', `/v1/videos/${id}/detection`)).json as NonNullable<
        VideoJson['detection']
      >;
      expect(full.moderation!.frames).toHaveLength(m.framesAnalyzed);
      for (const f of full.moderation!.frames) {
        const sum = Object.values(f.scores).reduce((a, b) => a + b, 0);
        within(sum, 1, 0.01);
      }
      const moving = full.moderation!.frames.filter((f) => f.time < 2 || f.time >= 4);
      for (const f of moving) {
        const top = Object.entries(f.scores).sort((a, b) => b[1] - a[1])[0]![0];
        expect(['neutral', 'drawing'], `frame at ${f.time}`).toContain(top);
      }

      // The policy: flagged → held for review: not playable, not served, in the queue.
      expect(m.flagged).toBe(true);
      expect(m.flaggedClasses.length).toBeGreaterThan(0);
      expect(d.action).toBe('review');
      expect(d.review).toMatchObject({ status: 'pending', decidedBy: null });
      expect(v.playable).toBe(false);
      expect((await fetch(v.playback.hlsUrl)).status).toBe(404);
      const queue = await call('GET', '/v1/moderation/queue');
      expect(queue.json.data.map((q: { videoId: string }) => q.videoId)).toEqual([id]);
      expect(queue.json.data[0].flaggedClasses).toEqual(m.flaggedClasses);
      // Another tenant sees neither the queue entry nor the video's detection.
      const other = api(s, (await s.tenant('detect-other')).auth);
      expect((await other('GET', '/v1/moderation/queue')).json.data).toEqual([]);
      expect((await other('GET', `/v1/videos/${id}/detection`)).status).toBe(404);
      expect((await other('POST', `/v1/videos/${id}/moderation/approve`)).status).toBe(404);

      // Approved: playable and served once the video is (its ladder may still be running).
      const approved = await call('POST', `/v1/videos/${id}/moderation/approve`);
      expect(approved.status).toBe(200);
      expect(approved.json.detection.review).toMatchObject({
        status: 'approved',
        decidedBy: expect.stringMatching(/^api_key:/),
      });
      expect(approved.json.playable).toBe(true);
      await waitFor(async () => ((await fetch(v.playback.hlsUrl)).status === 200 ? true : undefined), 10_000);
      expect((await call('GET', '/v1/moderation/queue')).json.data).toEqual([]);

      // Prometheus: the run and its action, the frames the model scored.
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/^vod_detections_total\{outcome="completed",action="review"\} 1$/m);
      expect(metrics).toMatch(new RegExp(`^vod_moderation_frames_total ${m.framesAnalyzed}$`, 'm'));
      expect(metrics).toMatch(/^vod_detection_seconds_count\{part="qc"\} 1$/m);

      // The webhook: signed, with the result.
      const delivered = await waitFor(async () => hook.got.find((g) => g.body.includes(id)), 30_000);
      const body = JSON.parse(delivered.body);
      expect(body).toMatchObject({
        type: 'video.detection_completed',
        data: { id, detection: { status: 'completed', action: 'review' } },
      });
      const secret = Buffer.from((wh.json.secret as string).slice('whsec_'.length), 'base64');
      const signed = `${delivered.headers['webhook-id']}.${delivered.headers['webhook-timestamp']}.${delivered.body}`;
      expect(delivered.headers['webhook-signature']).toBe(
        `v1,${createHmac('sha256', secret).update(signed).digest('base64')}`,
      );
    }, 180_000);
  });
}

describe('detection policies, re-runs and the worker under moderation (embedded)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=1,io=2,fast=4,detect=1' });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('blocks with the block action, and a re-run on demand keeps the video blocked', async () => {
    const t = await s.tenant('detect-block');
    const call = api(s, t.auth);
    await call('PATCH', '/v1/detection/policy', {
      qc: false,
      moderation: { action: 'block', thresholds: { neutral: 0.01, drawing: 0.01 }, intervalSec: 4 },
    });
    const id = await upload(s, t.auth, clip, 'block me');
    const v = await detected(call, id);
    expect(v.detection).toMatchObject({ status: 'completed', action: 'blocked', qc: null });
    expect(v.status).toBe('blocked');
    expect((await fetch(v.playback.hlsUrl)).status).toBe(404);

    const again = await call('POST', `/v1/videos/${id}/detect`);
    expect(again.status).toBe(202);
    expect(again.json.detection.status).toBe('pending');
    // The previous result stays visible until the new one is complete.
    expect(again.json.detection.moderation.framesAnalyzed).toBe(v.detection!.moderation!.framesAnalyzed);
    const rerun = await detected(call, id);
    expect(rerun.detection!.completedAt).not.toBe(v.detection!.completedAt);
    expect(rerun.status).toBe('blocked');
  }, 180_000);

  it('rejects a video held for review (blocked), and approving it afterwards unblocks it (through the SDK)', async () => {
    const t = await s.tenant('detect-reject');
    const call = api(s, t.auth);
    const vc = new VodCloud({ baseUrl: s.url, apiKey: t.key });
    const policy = await vc.detection.updatePolicy({
      qc: false,
      moderation: { action: 'review', thresholds: { neutral: 0.01, drawing: 0.01 }, intervalSec: 4 },
    });
    expect(policy).toMatchObject({ qc: false, moderation: { action: 'review' } });
    expect(await vc.detection.policy()).toEqual(policy);
    const id = await upload(s, t.auth, clip, 'reject me');
    await detected(call, id);
    expect((await vc.detection.queue()).data.map((q) => q.videoId)).toEqual([id]);
    const result = await vc.detection.result(id);
    expect(result.moderation!.frames.length).toBe(result.moderation!.framesAnalyzed);
    const rejected = await vc.detection.decide(id, 'reject');
    expect(rejected).toMatchObject({ status: 'blocked', detection: { review: { status: 'rejected' } } });
    expect((await vc.detection.queue()).data).toEqual([]);
    const approved = await vc.detection.decide(id, 'approve');
    expect(approved.status).not.toBe('blocked');
    expect(approved).toMatchObject({ playable: true, detection: { review: { status: 'approved' } } });
    // A re-run does not undo the moderator's decision.
    expect((await vc.detection.run(id)).detection?.status).toBe('pending');
    const rerun = await detected(call, id);
    expect(rerun.detection).toMatchObject({
      status: 'completed',
      action: 'review',
      review: { status: 'approved' },
    });
    expect(rerun.playable).toBe(true);
  }, 180_000);

  it('holds every new video until its moderation completed when the policy says hold', async () => {
    const t = await s.tenant('detect-hold');
    const call = api(s, t.auth);
    await call('PATCH', '/v1/detection/policy', { qc: false, moderation: { hold: true, intervalSec: 1 } });
    const id = await upload(s, t.auth, clip, 'held until checked');
    // Poll: the outputs are servable (playableAt) before detection completes, yet the video is not played.
    const seen: Array<{ playable: boolean; servable: boolean; detection: string; master?: number }> = [];
    const v = await waitFor(
      async () => {
        const x = (await call('GET', `/v1/videos/${id}`)).json as VideoJson & {
          timings: { playableAt: string | null };
        };
        const detection = x.detection?.status ?? 'none';
        const servable = x.timings.playableAt !== null;
        const master =
          servable && detection !== 'completed' ? (await fetch(x.playback.hlsUrl)).status : undefined;
        seen.push({ playable: x.playable, servable, detection, master });
        return detection === 'completed' ? x : undefined;
      },
      120_000,
      'detection of the held video',
    );
    const before = seen.filter((x) => x.detection !== 'completed');
    expect(
      before.filter((x) => x.playable),
      JSON.stringify(seen),
    ).toEqual([]);
    const heldSeen = before.some((x) => x.servable);
    expect(before.filter((x) => x.master !== undefined && x.master !== 404)).toEqual([]);
    expect(heldSeen).toBe(true);
    // Not flagged (default thresholds): released.
    expect(v.detection).toMatchObject({ action: 'none', review: null });
    expect(v.playable).toBe(true);
    await waitFor(async () => ((await fetch(v.playback.hlsUrl)).status === 200 ? true : undefined), 10_000);
    expect((await call('GET', '/v1/moderation/queue')).json.data).toEqual([]);
  }, 180_000);

  it('leaves unflagged videos alone, skips detection when the tenant turns it off, and refuses bad input', async () => {
    const t = await s.tenant('detect-off');
    const call = api(s, t.auth);
    // Defaults: flag only, thresholds the test pattern never reaches.
    const policy = await call('GET', '/v1/detection/policy');
    expect(policy.json).toMatchObject({ enabled: true, moderation: { action: 'flag' }, updatedAt: null });
    const id = await upload(s, t.auth, clip, 'clean');
    const v = await detected(call, id);
    expect(v.detection).toMatchObject({ status: 'completed', action: 'none', review: null });
    expect(v.detection!.moderation!.flagged).toBe(false);
    expect(v.playable).toBe(true);
    expect((await call('POST', `/v1/videos/${id}/moderation/approve`)).status).toBe(409);

    expect((await call('PATCH', '/v1/detection/policy', { moderation: { action: 'delete' } })).status).toBe(
      400,
    );
    expect((await call('PATCH', '/v1/detection/policy', { moderation: { maxFrames: 0 } })).status).toBe(400);
    expect((await call('PATCH', '/v1/detection/policy', { enabled: false })).json.enabled).toBe(false);
    const skipped = await upload(s, t.auth, clip, 'not checked');
    await waitFor(async () => {
      const x = (await call('GET', `/v1/videos/${skipped}`)).json as VideoJson;
      return x.status === 'ready' ? x : undefined;
    }, 90_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(((await call('GET', `/v1/videos/${skipped}`)).json as VideoJson).detection).toBeNull();
    expect((await call('GET', `/v1/videos/${skipped}/detection`)).status).toBe(404);
    // A video without a processed source cannot be analysed.
    const waiting = await createUploadVia(s.url, t.auth, { title: 'no bytes yet' });
    expect((await call('POST', `/v1/videos/${waiting.videoId}/detect`)).status).toBe(409);
  }, 180_000);
});

describe('the worker while moderation runs', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=1,io=2,fast=4,detect=1' });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('keeps serving just-in-time segments (detection yields to them), its event loop free (the model is in its own thread)', async () => {
    const t = await s.tenant('detect-jit');
    const call = api(s, t.auth);
    await call('PATCH', '/v1/detection/policy', { moderation: { intervalSec: 1, maxFrames: 60 } });
    const file = path.join(dir, 'long.mp4');
    await makeClip(file, { size: '640x360', duration: 60, audio: true });
    const id = await upload(s, t.auth, file, 'jit under moderation');
    const running = await waitFor(
      async () => {
        const v = (await call('GET', `/v1/videos/${id}`)).json as VideoJson;
        return v.playable && v.detection?.status === 'running' ? v : undefined;
      },
      60_000,
      'detection to run',
    );
    const classifier = s.ctx.detection.classifier!;
    const framesBefore = classifier.stats().framesClassified;
    const pausesBefore = s.ctx.foreground.pauses;
    // The smallest rendition's segments from the end: not encoded yet, each made just in time.
    const master = await (await fetch(running.playback.hlsUrl)).text();
    const lines = master.split('\n').filter((l) => l && !l.startsWith('#'));
    const playlist = new URL(lines.at(-1)!, running.playback.hlsUrl).toString();
    const segments = (await (await fetch(playlist)).text())
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => new URL(l, playlist).toString())
      .reverse();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const served: Array<{ status: number; ms: number }> = [];
    let detection = 'running';
    for (const url of segments) {
      const t0 = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      served.push({ status: res.status, ms: Math.round(performance.now() - t0) });
      detection = ((await call('GET', `/v1/videos/${id}`)).json as VideoJson).detection!.status;
      if (detection !== 'running') break;
    }
    lag.disable();
    const framesDuring = classifier.stats().framesClassified - framesBefore;
    const pauses = s.ctx.foreground.pauses - pausesBefore;
    const ms = (ns: number) => Math.round(ns / 1e6);
    console.log(
      `event loop while moderating: p50 ${ms(lag.percentile(50))} ms, p99 ${ms(lag.percentile(99))} ms, max ${ms(lag.max)} ms; ` +
        `${served.length} segments (${served.map((x) => x.ms).join(', ')} ms), ${framesDuring} frames classified meanwhile, ` +
        `detection's ffmpeg paused ${pauses} times for just-in-time encodes`,
    );
    expect(served.length).toBeGreaterThanOrEqual(2);
    expect(served.every((x) => x.status === 200)).toBe(true);
    // The detection was running throughout, its ffmpeg stopped while just-in-time encodes ran (lib/foreground.ts).
    expect(pauses).toBeGreaterThan(0);
    // The model classifies in its worker thread: inline it would hold the loop ~80 ms a frame, ~650 ms a batch.
    expect(ms(lag.percentile(99))).toBeLessThan(300);
    const done = await detected(call, id);
    expect(done.detection!.status).toBe('completed');
    expect(done.detection!.moderation!.framesAnalyzed).toBeGreaterThanOrEqual(25); // ≤ 60 over 60 s: one every 2 s
  }, 240_000);
});
