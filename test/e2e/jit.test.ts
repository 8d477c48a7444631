// Just-in-time segments under pressure (issue 21), on one real server (embedded defaults, one CPU job at a
// time, so a background chunk encode holds the only CPU slot while the test asks): a run a caller gave up
// on still completes and stores its segments (hls.js abandons slow fragments; the retry must find them);
// each segment of a run is answered as soon as it is encoded, not when its read-ahead is done; and a
// just-in-time request is served while the background encode is stopped for it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoPlan } from '../../apps/server/src/modules/pipeline/plan-state';
import { segmentName } from '../../apps/server/src/modules/videos';
import { startTestServer, type TestServer } from '../support/app';
import { jitEncodes } from '../support/gapless';
import { makeMpeg2 } from '../support/sources';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { createTemplate } from '../support/videos';

describe('just-in-time segments (one server, cpu=1)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodjit-'));
  const file = path.join(dir, 'mpeg2-480p.mp4');
  let s: TestServer;
  let auth: Record<string, string>;
  let tenantId: string;
  let templateId: string;

  beforeAll(async () => {
    const [server] = await Promise.all([
      // One just-in-time encode at a time: a stopped prefetch must not hold it (see the prefetch test).
      startTestServer({
        VOD_WORKER_CONCURRENCY: 'cpu=1,io=2,fast=4',
        VOD_JIT_WAIT_MS: '60000',
        VOD_JIT_MAX_CONCURRENT: '1',
      }),
      makeMpeg2(file, { duration: 120 }),
    ]);
    s = server;
    const t = await s.tenant('jit');
    auth = t.auth;
    tenantId = t.id;
    templateId = await createTemplate(s.url, auth, {
      name: '480-360',
      renditions: [
        { name: '480p', height: 480, videoBitrate: 1_000_000 },
        { name: '360p', height: 360, videoBitrate: 600_000 },
      ],
      audio: { bitrate: 128_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'none',
    });
  }, 600_000);

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (id: string) =>
    (await (await fetch(`${s.url}/v1/videos/${id}`, { headers: auth })).json()) as {
      status: string;
      playable: boolean;
      playback: { hlsUrl: string };
    };
  const planOf = async (id: string) =>
    JSON.parse((await s.ctx.videos.repo.find(tenantId, id))!.plan!) as VideoPlan;
  const stored = async (id: string, plan: VideoPlan, name: string, i: number) =>
    !!(await s.ctx.ports.storage.head(`${tenantId}/${id}/${plan.generation}/hls/${name}/${segmentName(i)}`));
  /** A video still processing: uploaded, playable, its chunks encoding in the background. */
  const processing = async () => {
    const created = await createUploadVia(s.url, auth, { templateId, title: 'jit' });
    await tusUpload(await readFile(file), { endpoint: created.url, headers: created.headers }).promise;
    const id = created.videoId;
    await waitFor(async () => ((await status(id)).playable ? true : undefined), 180_000, 'playable');
    expect((await status(id)).status).toBe('processing');
    return { id, plan: await planOf(id) };
  };
  const request = (id: string, plan: VideoPlan, rendition: string, index: number) => ({
    tenantId,
    videoId: id,
    generation: plan.generation,
    rendition,
    index,
  });

  /** This video's just-in-time ffmpeg runs as `ps` sees them: their work folder's part and process state. */
  const jitProcesses = async (videoId: string) => {
    const { stdout } = await promisify(execFile)('ps', ['-eo', 'stat=,args=']);
    return stdout.split('\n').flatMap((line) => {
      const m = new RegExp(`^\\s*(\\S+)\\s+ffmpeg .*${videoId}-[^/]*-(jit-[^/]+?)-\\w+/`).exec(line);
      return m ? [{ stat: m[1]!, part: m[2]! }] : [];
    });
  };

  it('prefetches the segments after the first in a run that yields to foreground work until a player joins it', async () => {
    const fg = s.ctx.foreground;
    const created = await createUploadVia(s.url, auth, { templateId, title: 'prefetch' });
    const id = created.videoId;
    // Foreground work on the node throughout (as the next upload's process step would be).
    const hold = fg.enter();
    try {
      await tusUpload(await readFile(file), { endpoint: created.url, headers: created.headers }).promise;
      await waitFor(async () => ((await status(id)).playable ? true : undefined), 180_000, 'playable');
      const plan = await planOf(id);
      // The prefetch (segment 1 of the first variant, the smallest, and its read-ahead) is stopped.
      await waitFor(
        async () =>
          (await jitProcesses(id)).some((p) => p.part === 'jit-360p-1' && p.stat.startsWith('T'))
            ? true
            : undefined,
        30_000,
        'the prefetch stopped',
      );
      // A player seeking far meanwhile is served: the stopped prefetch holds no place of the players' bound.
      const base = (await status(id)).playback.hlsUrl.replace(/master\.m3u8$/, '');
      const far = await fetch(`${base}480p/${segmentName(plan.segments.length - 6)}`, {
        signal: AbortSignal.timeout(30_000),
      });
      expect(far.status).toBe(200);
      expect(await stored(id, plan, '360p', 1)).toBe(false);
      // A player asks for segment 1: the request joins the run, which runs on beside the foreground work.
      const res = await fetch(`${base}360p/${segmentName(1)}`, { signal: AbortSignal.timeout(30_000) });
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    } finally {
      hold();
    }
  }, 600_000);

  it('a run its caller gave up on completes and stores its segments; asking again finds them', async () => {
    const { id, plan } = await processing();
    const n = plan.segments.length;
    const i = n - 8; // far ahead of the background chunks
    expect(await stored(id, plan, '480p', i)).toBe(false);
    const before = await jitEncodes(s.url);
    const gaveUp = s.ctx.pipeline.ensureSegment(request(id, plan, '480p', i), AbortSignal.timeout(20));
    await expect(gaveUp).rejects.toThrow();
    // Nobody asks again: the run goes on and stores the segment and its read-ahead.
    await waitFor(
      async () => ((await stored(id, plan, '480p', i + 2)) ? true : undefined),
      120_000,
      'the abandoned run stored its segments',
    );
    expect(await stored(id, plan, '480p', i)).toBe(true);
    expect(await stored(id, plan, '480p', i + 1)).toBe(true);
    expect(await jitEncodes(s.url)).toBe(before + 1);
    // The retry finds it: no second encode.
    const again = await s.ctx.pipeline.ensureSegment(request(id, plan, '480p', i));
    expect(again.encoded).toBe(false);
    expect(await jitEncodes(s.url)).toBe(before + 1);
  }, 600_000);

  it('a run every player gave up on yields to foreground work, and runs on when a player asks for it again', async () => {
    const { id, plan } = await processing();
    const i = plan.segments.length - 10;
    const base = (await status(id)).playback.hlsUrl.replace(/master\.m3u8$/, '');
    const run = async (stopped: boolean) =>
      (await jitProcesses(id)).some(
        (p) => p.part === `jit-480p-${i}` && (!stopped || p.stat.startsWith('T')),
      ) || undefined;
    // A player asks far ahead (the cheapest rendition is made first, then this run starts)...
    const player = new AbortController();
    const asked = fetch(`${base}480p/${segmentName(i)}`, { signal: player.signal }).catch(() => 'gave up');
    await waitFor(() => run(false), 120_000, 'the run for the requested segment');
    // ...and gives up on it (hls.js abandons a slow fragment, or seeks away) while other foreground work runs
    // on the node (a process step, a segment another player waits for): the run is stopped for it.
    const hold = s.ctx.foreground.enter();
    try {
      player.abort();
      expect(await asked).toBe('gave up');
      await waitFor(() => run(true), 30_000, 'the abandoned run stopped');
      expect(await stored(id, plan, '480p', i + 2)).toBe(false);
      // A player asks for its next segment: the request joins the run, which runs on beside the foreground work.
      const next = await fetch(`${base}480p/${segmentName(i + 1)}`, { signal: AbortSignal.timeout(60_000) });
      expect(next.status).toBe(200);
      expect((await next.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    } finally {
      hold();
    }
    expect(await stored(id, plan, '480p', i)).toBe(true);
  }, 600_000);

  it("answers each segment of a run as soon as it is encoded, before the run's read-ahead is done", async () => {
    const { id, plan } = await processing();
    const i = plan.segments.length - 12;
    const runs = s.ctx.pipeline.activeSegments();
    const first = await s.ctx.pipeline.ensureSegment(request(id, plan, '360p', i), undefined, {
      readAhead: 8,
    });
    expect(first.encoded).toBe(true);
    // The run still encodes its read-ahead: the last one is not stored yet.
    expect(await stored(id, plan, '360p', i + 8)).toBe(false);
    expect(s.ctx.pipeline.activeSegments()).toBeGreaterThan(runs);
    // A request for a read-ahead segment joins the run (no second encode) and gets it once stored.
    const before = await jitEncodes(s.url);
    const later = await s.ctx.pipeline.ensureSegment(request(id, plan, '360p', i + 8));
    expect(later.encoded).toBe(false);
    expect(await stored(id, plan, '360p', i + 8)).toBe(true);
    expect(await jitEncodes(s.url)).toBe(before);
  }, 600_000);

  it('serves a just-in-time segment while the background encode holds the only CPU slot, stopping it meanwhile', async () => {
    const { id, plan } = await processing();
    // This video's chunks encode in the background (cpu=1: the only CPU slot); once one runs and no
    // foreground work does, ask for a far segment.
    const fg = s.ctx.foreground;
    await waitFor(
      async () => (fg.yieldingNow() > 0 && !fg.busy() ? true : undefined),
      60_000,
      'a chunk encode',
    );
    const pausesBefore = s.ctx.foreground.pauses;
    const i = plan.segments.length - 3;
    const base = (await status(id)).playback.hlsUrl.replace(/master\.m3u8$/, '');
    const res = await fetch(`${base}480p/${segmentName(i)}`);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    // The background chunk's ffmpeg was stopped while the segment was made (lib/foreground.ts).
    expect(s.ctx.foreground.pauses).toBeGreaterThan(pausesBefore);
    expect((await status(id)).status).toBe('processing');
  }, 600_000);
});
