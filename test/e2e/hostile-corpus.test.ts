// Hostile input, end to end: every file of the shared media corpus (packages/media/src/test-corpus.ts) is
// uploaded with tus to a real listening server with its worker running, and must end `ready` with sane
// renditions or `errored` with the right code and a useful message: never stuck, never a dead worker,
// bounded time, and no temp files left in the data folder's work/.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CORPUS,
  type CorpusFile,
  makeCorpus,
  type PlatformExpect,
} from '../../packages/media/src/test-corpus';
import { startTestServer, type TestServer } from '../support/app';
import { createUploadVia, tusUpload } from '../support/uploads';

/** Uploads in flight at once (the worker runs 2 cpu jobs at a time). */
const CONCURRENCY = 4;
/** The longest any one file may take from upload to a final status. */
const SETTLE_MS = 90_000;
const UNSETTLED = new Set(['waiting_upload', 'uploading', 'queued', 'processing']);
/** What a stack trace looks like in a message. */
const STACK = /\n\s*at |\bat \S+ \(.*:\d+:\d+\)|node:internal|\.[cm]?[jt]s:\d+:\d+/;

interface VideoView {
  id: string;
  status: string;
  playable: boolean;
  duration: number | null;
  width: number | null;
  height: number | null;
  error: { code: string; message: string } | null;
  renditions: Array<{ name: string; width: number; height: number; status: string }>;
  playback: { hlsUrl: string; mp4Urls: Record<string, string> };
}

interface Run {
  file: CorpusFile;
  videoId?: string;
  /** The upload itself failed (tus error). */
  uploadError?: string;
  uploadId?: string;
  view?: VideoView;
  /** Why the wait ended without a final status (stuck: every job is over, or timed out). */
  stuck?: string;
  ms: number;
}

const cases = CORPUS.filter((c) => c.expect !== null);
const runs = new Map<string, Run>();
let s: TestServer;
let t: Awaited<ReturnType<TestServer['tenant']>>;
let templateId: string;
let dir = '';
let corpusMs = 0;
let runMs = 0;

const api = async <T>(url: string): Promise<T> => {
  const res = await fetch(`${s.url}${url}`, { headers: t.auth });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

/** The job states behind a video that has not settled: says when none is left to move it on. */
async function stuckReason(videoId: string, status: string): Promise<string | undefined> {
  const q = s.ctx.ports.queue;
  const over = (state?: string) => state === 'failed' || state === 'cancelled';
  const row = await s.ctx.videos.repo.find(t.id, videoId);
  if (!row) return undefined;
  if (status === 'queued') {
    const fin = await q.getJob(`finalize.${videoId}`);
    if (over(fin?.state)) return `upload.finalize ${fin?.state}: ${fin?.error}`;
  }
  const proc = await q.getJob(`process.${videoId}`);
  if (over(proc?.state)) return `video.process ${proc?.state}: ${proc?.error}`;
  if (proc?.state === 'completed' && row.generation) {
    const g = row.generation;
    const publish = await q.getJob(`publish.${g}`);
    if (over(publish?.state)) {
      const plan = JSON.parse(row.plan ?? 'null') as { chunks?: unknown[] } | null;
      const ids = [`audio.${g}`, `images.${g}`, ...(plan?.chunks ?? []).map((_, k) => `chunk.${g}.${k}`)];
      const failed: string[] = [];
      for (const id of ids) {
        const j = await q.getJob(id);
        if (over(j?.state))
          failed.push(`${id.split('.')[0]}${id.split('.')[2] ? `#${id.split('.')[2]}` : ''}: ${j?.error}`);
      }
      return `video.publish ${publish?.state} (${failed.join('; ') || publish?.error})`;
    }
  }
  return undefined;
}

/** Polls the video until it is ready or errored, stuck (no job left to move it), or SETTLE_MS passed. */
async function settle(run: Run, started: number): Promise<void> {
  const id = run.videoId!;
  for (;;) {
    const v = await api<VideoView>(`/v1/videos/${id}`).catch(() => undefined);
    if (v) run.view = v;
    if (v && !UNSETTLED.has(v.status)) return;
    if (v) {
      const why = await stuckReason(id, v.status).catch(() => undefined);
      if (why) {
        // Give a last moment for a status write racing the job's end.
        await new Promise((r) => setTimeout(r, 500));
        run.view = await api<VideoView>(`/v1/videos/${id}`);
        if (!UNSETTLED.has(run.view.status)) return;
        run.stuck = `stuck in ${run.view.status}: ${why}`;
        return;
      }
    }
    if (Date.now() - started > SETTLE_MS) {
      run.stuck = `still ${v?.status ?? 'unknown'} after ${SETTLE_MS / 1000} s`;
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runOne(file: CorpusFile): Promise<Run> {
  const started = Date.now();
  const run: Run = { file, ms: 0 };
  try {
    const data = await readFile(file.path);
    const created = await createUploadVia(s.url, t.auth, { templateId, title: file.name });
    run.videoId = created.videoId;
    run.uploadId = created.id;
    const up = tusUpload(data, {
      endpoint: created.url,
      headers: created.headers,
      metadata: { filename: file.name },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      up.promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the tus upload did not finish within 20 s')), 20_000);
      }),
    ]).finally(() => clearTimeout(timer));
  } catch (e) {
    run.uploadError = (e as Error).message.split('\n')[0];
  }
  if (file.expect?.outcome === 'refused') {
    // Refused at creation: the upload is cancelled, which removes its placeholder video.
    await fetch(`${s.url}/v1/uploads/${run.uploadId}`, { method: 'DELETE', headers: t.auth });
    run.videoId = undefined;
  }
  if (run.videoId) await settle(run, started);
  run.ms = Date.now() - started;
  return run;
}

beforeAll(async () => {
  const t0 = Date.now();
  dir = await mkdtemp(path.join(tmpdir(), 'vod-hostile-'));
  const [server, files] = await Promise.all([
    startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4' }),
    makeCorpus(dir, { only: (c) => c.expect !== null, concurrency: 2 }),
  ]);
  s = server;
  corpusMs = Date.now() - t0;
  t = await s.tenant('hostile');
  const res = await fetch(`${s.url}/v1/templates`, {
    method: 'POST',
    headers: { ...t.auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'tiny',
      renditions: [
        { name: '240p', height: 240, videoBitrate: 300_000 },
        { name: '144p', height: 144, videoBitrate: 150_000 },
      ],
      audio: { bitrate: 64_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'highest',
    }),
  });
  if (res.status !== 201) throw new Error(`template: ${res.status} ${await res.text()}`);
  templateId = ((await res.json()) as { id: string }).id;

  const t1 = Date.now();
  const queue = [...files];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let f = queue.shift(); f; f = queue.shift()) runs.set(f.name, await runOne(f));
    }),
  );
  runMs = Date.now() - t1;
}, 300_000);

afterAll(async () => {
  const rows = cases.map((c) => {
    const r = runs.get(c.name);
    const v = r?.view;
    const got = r?.uploadError
      ? `upload failed: ${r.uploadError}`
      : r?.stuck
        ? r.stuck
        : v?.status === 'errored'
          ? `errored ${v.error?.code}: ${v.error?.message}`
          : v?.status === 'ready'
            ? `ready ${v.duration}s ${v.width}x${v.height} [${v.renditions.map((x) => `${x.width}x${x.height}`).join(' ')}]`
            : `${v?.status}`;
    const e = c.expect!;
    const want =
      e.outcome === 'ready' ? 'ready' : e.outcome === 'refused' ? `refused ${e.status}` : `errored ${e.code}`;
    return `${c.name.padEnd(22)} ${want.padEnd(24)} ${String(r?.ms ?? '-').padStart(6)} ms  ${got}`;
  });
  console.log(
    `\nhostile corpus: ${cases.length} files, generated in ${corpusMs} ms (with server start), ` +
      `uploaded and settled in ${runMs} ms, ${CONCURRENCY} at a time\n${rows.join('\n')}`,
  );
  await s?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function assertReady(run: Run, want: Extract<PlatformExpect, { outcome: 'ready' }>) {
  const v = run.view!;
  expect(v.status, JSON.stringify(v.error)).toBe('ready');
  expect(v.playable).toBe(true);
  expect(v.error).toBeNull();
  const tolerance = Math.max(0.15, want.duration * 0.05);
  expect(
    Math.abs((v.duration ?? -1) - want.duration),
    `duration ${v.duration} vs ${want.duration}`,
  ).toBeLessThanOrEqual(tolerance);
  if (want.audioOnly) {
    expect(v.renditions).toEqual([]);
    return;
  }
  expect([v.width, v.height]).toEqual([want.width, want.height]);
  expect(v.renditions.length).toBeGreaterThan(0);
  for (const r of v.renditions) {
    expect(r.status, r.name).toBe('ready');
    expect(r.width % 2, `${r.name} width ${r.width}`).toBe(0);
    expect(r.height % 2, `${r.name} height ${r.height}`).toBe(0);
    // Not above the (displayed) source on either axis.
    expect(r.width, `${r.name} width`).toBeLessThanOrEqual(want.width!);
    expect(r.height, `${r.name} height`).toBeLessThanOrEqual(want.height!);
    // Same orientation as the source.
    expect(r.width >= r.height, `${r.name} orientation`).toBe(want.width! >= want.height!);
  }
}

function assertErrored(run: Run, want: Extract<PlatformExpect, { outcome: 'errored' }>) {
  const v = run.view!;
  expect(v.status).toBe('errored');
  expect(v.playable).toBe(false);
  expect(v.error?.code, v.error?.message).toBe(want.code);
  const message = v.error?.message ?? '';
  expect(message.length, message).toBeGreaterThanOrEqual(15);
  expect(message).not.toMatch(STACK);
  if (want.message) expect(message).toMatch(want.message);
}

describe('hostile corpus, end to end (tus upload → worker → ready | errored)', () => {
  it('has at least 25 files', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const run = runs.get(name);
    expect(run, 'processed').toBeDefined();
    if (c.expect!.outcome === 'refused') {
      expect(run!.uploadError).toMatch(new RegExp(`response code: ${c.expect!.status}\\b`));
      return;
    }
    expect(run!.uploadError, 'the tus upload succeeds').toBeUndefined();
    expect(run!.stuck, 'the video reaches a final status').toBeUndefined();
    expect(run!.ms).toBeLessThan(SETTLE_MS);
    if (c.expect!.outcome === 'ready') assertReady(run!, c.expect!);
    else assertErrored(run!, c.expect!);
  });

  it('serves the HLS master of every ready video', async () => {
    for (const run of runs.values()) {
      if (run.view?.status !== 'ready') continue;
      const res = await fetch(run.view.playback.hlsUrl);
      expect(res.status, run.file.name).toBe(200);
      const text = await res.text();
      expect(text, run.file.name).toMatch(/^#EXTM3U/);
      if (run.file.expect?.outcome === 'ready' && !run.file.expect.audioOnly)
        expect(text, run.file.name).toMatch(/#EXT-X-STREAM-INF:/);
    }
  });

  it('leaves no video in uploading, queued or processing', async () => {
    const deadline = Date.now() + 10_000;
    let pending: string[] = [];
    for (;;) {
      const list = await api<{ data: VideoView[] }>('/v1/videos?limit=100');
      pending = list.data.filter((v) => UNSETTLED.has(v.status)).map((v) => `${v.id} ${v.status}`);
      if (pending.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const names = new Map([...runs.values()].map((r) => [r.videoId, r.file.name]));
    expect(pending.map((p) => `${names.get(p.split(' ')[0]) ?? '?'} ${p}`)).toEqual([]);
  });

  it('still processes a normal clip after the corpus (the worker is alive)', async () => {
    const normal = { ...(await makeCorpus(dir, { only: (c) => c.name === 'video_only.mp4' }))[0]! };
    normal.name = 'after-corpus.mp4';
    const run = await runOne(normal);
    expect(run.uploadError).toBeUndefined();
    expect(run.stuck).toBeUndefined();
    assertReady(run, { outcome: 'ready', duration: 2, width: 320, height: 180 });
  }, 60_000);

  it('leaves the work folder empty (temp files cleaned)', async () => {
    const work = path.join(s.ctx.config.dataDir, 'work');
    // Give in-flight cleanups (a job's finally) a moment.
    const deadline = Date.now() + 5_000;
    let files: string[] = [];
    let entries: string[] = [];
    for (;;) {
      const all = await readdir(work, { recursive: true, withFileTypes: true }).catch(() => []);
      files = all
        .filter((e) => !e.isDirectory())
        .map((e) => path.relative(work, path.join(e.parentPath, e.name)));
      entries = all.map((e) => path.relative(work, path.join(e.parentPath, e.name)));
      if (entries.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(files, 'files left in work/').toEqual([]);
    expect(entries, 'directories left in work/').toEqual([]);
  });
});
