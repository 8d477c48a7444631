// `npm run bench -- recording`: how soon a live recording (issue 19) is watchable on demand, and whether a
// broadcast the recorder split is merged without losing a frame.
//
// 1. Callback → playable → ready. A recording as nginx-rtmp writes it (FLV, H.264 1080p30 ~5 Mb/s with a
//    2 s GOP + AAC 48 kHz stereo, --minutes long, made once and cached in the work dir) lies in a directory
//    of VOD_RECORDING_DIRS; the bench posts nginx-rtmp's `record_done` form to the hook's nginxRtmpUrl itself
//    (no recorder needed: that callback is what starts the clock) and measures from the request's start:
//    the callback answered, the recording's video created, its first segment servable (the player's view,
//    the same definition as bench/playable.ts), the API's `playable`, and `ready` (the whole ladder). The
//    hook's reconnect window is 0, so the single part is final at once. Reference, in the same run and
//    alternating: a hand-written `ffmpeg -i rec.flv -c copy -f hls` remux of the whole file, the least any
//    "playable within seconds" can take for it.
// 2. Merge. The first --merge-seconds of that recording are pushed in real time (`ffmpeg -re -c copy`) to a
//    real nginx-rtmp (test/support/rtmp.ts) recording with record_interval = merge-seconds / --parts, its
//    on_publish, on_publish_done and on_record_done pointed at a small proxy here that notes each call's
//    time and forwards it to the hook. Once the recording is `imported`, the video's source is fetched and its
//    video frames (ffprobe -count_packets) compared with the sum of the parts' frames; merge time =
//    imported − the last record_done (the reconnect window included, and printed apart).
//
// One vodcloud server on the embedded defaults (SQLite, files, db queue), detection off unless --detection.

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { probe } from '@vodcloud/media';
import { rtmpAvailable, startRtmp } from '../test/support/rtmp';
import { ensureRecording } from './lib/clips';
import { run, sleep } from './lib/proc';
import { printTable, writeResults } from './lib/report';
import { median } from './lib/stats';
import { createTenantKey, startVodcloud, type VodcloudProcess } from './lib/vodcloud';
import { playerView, SERVER_ENV, type VideoView } from './playable';

const HELP = `usage: npm run bench -- recording [options]
  --minutes N          length of the generated 1080p30 recording (default 10; cached in the work dir)
  --runs N             callbacks of part 1, each a new recording of the same file (default 1)
  --merge-seconds S    part 2: seconds pushed through nginx-rtmp in real time (default 60; ≤ the recording)
  --parts N            part 2: files nginx-rtmp splits that push into (record_interval = S / N; default 3)
  --merge-window S     part 2: the hook's reconnectWindowSec (default 3)
  --detection          run the server with detection on (default off)
  --skip LIST          parts to leave out: callback,merge
  --poll-ms N          polling interval of playlists, segments and the API (default 100)
  --ready-timeout S    cap on each wait for ready (default 3600)
  --work-dir DIR       where the recording is cached and the run's data goes (default /tmp/vodcloud-bench)
  --keep               keep the run's data directory (server data, nginx-rtmp's parts, the merged source)`;

const f2 = (x: number | null | undefined) =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2);

interface RecordingJson {
  id: string;
  videoId: string | null;
  status: string;
  parts: number;
  mergeMode: string | null;
  importedAt: string | null;
  error: unknown;
}
type Video = VideoView & { duration: number | null };

const FINISHED = ['imported', 'failed'];

async function latestRecording(s: VodcloudProcess, key: string, stream: string) {
  const list = await s.api<{ data: RecordingJson[] }>('GET', `/v1/recordings?streamName=${stream}`, key);
  return list.data[0];
}

/** Polls `get` every `pollMs` until it returns a value; throws past `deadline` (performance.now). */
async function poll<T>(get: () => Promise<T | undefined>, pollMs: number, deadline: number, what: string) {
  for (;;) {
    const v = await get();
    if (v !== undefined) return { value: v, at: performance.now() };
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** The kinds of a file's streams in index order ("video,audio"): the concat demuxer matches streams by index. */
async function streamOrder(file: string): Promise<string> {
  const r = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', file],
  ]);
  return r.stdout.trim().split(/\s+/).join(',');
}

/** Video frames of a file, counted packet by packet. */
async function videoFrames(file: string): Promise<number> {
  const r = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file],
  ]);
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  return Number(r.stdout.trim() || 0);
}

// ---- reference: the plain remux ----

async function remuxSec(file: string, dir: string): Promise<number> {
  rmSync(dir, { recursive: true, force: true });
  await run('mkdir', ['-p', dir]);
  const t = performance.now();
  const r = await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-y', '-i', file, '-c', 'copy', '-f', 'hls'],
    ...['-hls_time', '6', '-hls_playlist_type', 'vod'],
    ...['-hls_segment_filename', path.join(dir, 'seg%d.ts'), path.join(dir, 'index.m3u8')],
  ]);
  const s = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`remux failed: ${r.stderr.slice(-1000)}`);
  rmSync(dir, { recursive: true, force: true });
  return s;
}

// ---- 1. callback → playable → ready ----

interface CallbackRound {
  round: number;
  answeredMs: number;
  /** Seconds from the callback's start. */
  videoSec: number;
  firstSegmentSec: number;
  apiPlayableSec: number;
  readySec: number;
  serverToPlayableSec: number | null;
  serverToReadySec: number | null;
  /** Recording's duration / (ready − first segment servable): how fast the ladder ran after playable. */
  ladderRealtime: number;
  remuxSec: number;
  status: string;
}

async function callbackRound(
  s: VodcloudProcess,
  key: string,
  hookUrl: string,
  file: string,
  durationSec: number,
  round: number,
  o: { pollMs: number; readyTimeoutSec: number },
): Promise<Omit<CallbackRound, 'remuxSec'>> {
  const stream = `bench-${round}`;
  const form = new URLSearchParams({
    call: 'record_done',
    app: 'live',
    name: stream,
    clientid: '1',
    path: file,
  });
  const t0 = performance.now();
  const res = await fetch(hookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const answer = await res.text();
  const answeredMs = performance.now() - t0;
  if (!res.ok) throw new Error(`record_done: ${res.status} ${answer}`);
  const deadline = t0 + o.readyTimeoutSec * 1000;
  const sec = (t: number | undefined) => (t === undefined ? Number.NaN : (t - t0) / 1000);
  // The video is created by the part's job once the file is stored.
  const made = await poll(
    async () => {
      const r = await latestRecording(s, key, stream);
      if (r?.status === 'failed') throw new Error(`recording failed: ${JSON.stringify(r.error)}`);
      return r?.videoId ?? undefined;
    },
    o.pollMs,
    deadline,
    'the recording’s video',
  );
  const videoId = made.value;
  const v0 = await s.api<Video>('GET', `/v1/videos/${videoId}`, key);
  const player = playerView(v0.playback.hlsUrl, o.pollMs, deadline);
  const api = (async () => {
    let playableAt: number | undefined;
    for (;;) {
      const v = await s.api<Video>('GET', `/v1/videos/${videoId}`, key);
      const now = performance.now();
      if (v.playable) playableAt ??= now;
      if (['ready', 'errored', 'blocked'].includes(v.status) || now > deadline)
        return { playableAt, readyAt: v.status === 'ready' ? now : undefined, v };
      await sleep(o.pollMs);
    }
  })();
  const [h, a] = await Promise.all([player, api]);
  const firstSegmentSec = h?.hasAudio
    ? Math.max(sec(h.v?.segmentAt), sec(h.a?.segmentAt))
    : sec(h?.v?.segmentAt);
  const readySec = sec(a.readyAt);
  return {
    round,
    answeredMs,
    videoSec: sec(made.at),
    firstSegmentSec,
    apiPlayableSec: sec(a.playableAt),
    readySec,
    serverToPlayableSec: a.v.timings.toPlayableSec,
    serverToReadySec: a.v.timings.toReadySec,
    ladderRealtime: durationSec / (readySec - firstSegmentSec),
    status: a.v.status,
  };
}

async function callbackBench(
  s: VodcloudProcess,
  key: string,
  file: string,
  durationSec: number,
  runDir: string,
  o: { runs: number; pollMs: number; readyTimeoutSec: number },
): Promise<CallbackRound[]> {
  console.log(
    '\n---- callback → playable → ready (record_done posted by the bench) vs `ffmpeg -c copy -f hls` ----',
  );
  const hook = await s.api<{ nginxRtmpUrl: string }>('POST', '/v1/recording-hooks', key, {
    name: 'bench-callback',
    reconnectWindowSec: 0,
  });
  const out: CallbackRound[] = [];
  for (let round = 1; round <= o.runs; round++) {
    // Alternate the order, so that neither always runs on a warmer page cache.
    const remuxFirst = round % 2 === 0;
    const remuxDir = path.join(runDir, 'remux');
    const before = remuxFirst ? await remuxSec(file, remuxDir) : Number.NaN;
    const r = await callbackRound(s, key, hook.nginxRtmpUrl, file, durationSec, round, o);
    const remux = remuxFirst ? before : await remuxSec(file, remuxDir);
    const full = { ...r, remuxSec: remux };
    out.push(full);
    console.log(
      `round ${round}: callback answered ${full.answeredMs.toFixed(0)} ms; video ${f2(full.videoSec)} s, first segment ${f2(full.firstSegmentSec)} s, API playable ${f2(full.apiPlayableSec)} s, ready ${f2(full.readySec)} s (${full.status}; server: playable ${f2(full.serverToPlayableSec)} s, ready ${f2(full.serverToReadySec)} s after its upload complete); ladder ${f2(full.ladderRealtime)}× realtime; remux ${f2(full.remuxSec)} s`,
    );
  }
  return out;
}

// ---- 2. merge of a broadcast nginx-rtmp split ----

interface HookCall {
  call: string;
  path: string | null;
  at: number;
  epochMs: number;
  status: number;
}

/** Forwards nginx-rtmp's callbacks to `target` (the hook URL, token and all), noting when each arrived. */
async function hookProxy(target: string) {
  const calls: HookCall[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const at = performance.now();
      const epochMs = Date.now();
      const body = Buffer.concat(chunks).toString();
      const form = new URLSearchParams(body);
      const r = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
        body,
      }).catch(() => undefined);
      const text = (await r?.text()) ?? '';
      calls.push({
        call: form.get('call') ?? '',
        path: form.get('path'),
        at,
        epochMs,
        status: r?.status ?? 0,
      });
      res.writeHead(r?.status ?? 502, { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function push(file: string, seconds: number, url: string): Promise<void> {
  const child: ChildProcess = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-i', file],
      ...['-t', String(seconds), '-c', 'copy', '-f', 'flv', url],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`push failed (${code}): ${err}`)),
    ),
  );
}

export interface MergeResult {
  parts: Array<{ file: string; frames: number; durationSec: number; streams: string }>;
  partFrames: number;
  mergedFrames: number;
  equal: boolean;
  mergeMode: string | null;
  status: string;
  windowSec: number;
  /** imported − the last record_done, seconds (the reconnect window included). */
  mergeSec: number;
  mergedDurationSec: number;
  videoDurationSec: number | null;
  partsDurationSec: number;
  /** imported → the video ready again (transcoded from the merged source). */
  readyAfterImportSec: number;
}

async function mergeBench(
  s: VodcloudProcess,
  key: string,
  file: string,
  runDir: string,
  o: { seconds: number; parts: number; windowSec: number; pollMs: number; readyTimeoutSec: number },
): Promise<MergeResult> {
  const interval = Math.max(1, Math.round((o.seconds / o.parts) * 1000));
  console.log(
    `\n---- merge: ${o.seconds} s pushed in real time to nginx-rtmp, record_interval ${interval} ms, reconnect window ${o.windowSec} s ----`,
  );
  const hook = await s.api<{ nginxRtmpUrl: string }>('POST', '/v1/recording-hooks', key, {
    name: 'bench-merge',
    reconnectWindowSec: o.windowSec,
  });
  const proxy = await hookProxy(hook.nginxRtmpUrl);
  const rtmp = await startRtmp({
    hookUrl: proxy.url,
    dir: path.join(runDir, 'rtmp'),
    recordInterval: `${interval}ms`,
    hls: false,
  });
  try {
    await push(file, o.seconds, rtmp.rtmpUrl('merge'));
    const deadline = performance.now() + o.readyTimeoutSec * 1000;
    const done = await poll(
      async () => {
        const r = await latestRecording(s, key, 'merge');
        return r && FINISHED.includes(r.status) ? r : undefined;
      },
      o.pollMs,
      deadline,
      'the merged recording',
    );
    const rec = done.value;
    const records = proxy.calls.filter((c) => c.call === 'record_done' && c.path);
    console.log(
      `callbacks: ${proxy.calls.map((c) => `${c.call}${c.status === 200 ? '' : ` (${c.status})`}`).join(', ')}; recording ${rec.status}, ${rec.parts} part(s), ${rec.mergeMode}`,
    );
    if (rec.status !== 'imported' || !rec.videoId) throw new Error(`recording ${JSON.stringify(rec)}`);
    const parts = [];
    for (const c of records)
      parts.push({
        file: c.path!,
        frames: await videoFrames(c.path!),
        durationSec: (await probe(c.path!)).duration,
        streams: await streamOrder(c.path!),
      });
    const src = await fetch(`${s.url}/v1/videos/${rec.videoId}/source`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (!src.ok) throw new Error(`source: ${src.status}`);
    const merged = path.join(runDir, 'merged-source');
    await writeFile(merged, Buffer.from(await src.arrayBuffer()));
    const mergedFrames = await videoFrames(merged);
    const mergedDurationSec = (await probe(merged)).duration;
    for (const [i, p] of parts.entries())
      console.log(
        `part ${i + 1}: ${path.basename(p.file)} ${f2(p.durationSec)} s, ${p.frames} video frames, streams ${p.streams}`,
      );
    console.log(`merged source (${rec.mergeMode}): ${f2(mergedDurationSec)} s, ${mergedFrames} video frames`);
    const partFrames = parts.reduce((a, p) => a + p.frames, 0);
    const partsDurationSec = parts.reduce((a, p) => a + p.durationSec, 0);
    const last = records.at(-1)!;
    // Transcoded again from the merged source: ready with (about) the merged duration.
    const ready = await poll(
      async () => {
        const v = await s.api<Video>('GET', `/v1/videos/${rec.videoId}`, key);
        if (v.status === 'errored') throw new Error(`video errored: ${JSON.stringify(v.error)}`);
        return v.status === 'ready' && (v.duration ?? 0) > mergedDurationSec - 1.5 ? v : undefined;
      },
      o.pollMs,
      deadline,
      'the merged video ready',
    );
    return {
      parts,
      partFrames,
      mergedFrames,
      equal: partFrames === mergedFrames,
      mergeMode: rec.mergeMode,
      status: rec.status,
      windowSec: o.windowSec,
      mergeSec: (Date.parse(rec.importedAt!) - last.epochMs) / 1000,
      mergedDurationSec,
      videoDurationSec: ready.value.duration,
      partsDurationSec,
      readyAfterImportSec: (ready.at - done.at) / 1000,
    };
  } finally {
    await rtmp.stop();
    await proxy.close();
  }
}

// ---- summary ----

function summarize(cb: CallbackRound[], m: MergeResult | undefined, durationSec: number) {
  const rows: string[][] = [];
  const out: Record<string, unknown> = {};
  if (cb.length) {
    const med = (k: keyof CallbackRound) =>
      median(cb.map((r) => Number(r[k])).filter((x) => !Number.isNaN(x)));
    const figs = {
      answeredMs: med('answeredMs'),
      videoSec: med('videoSec'),
      firstSegmentSec: med('firstSegmentSec'),
      apiPlayableSec: med('apiPlayableSec'),
      readySec: med('readySec'),
      ladderRealtime: med('ladderRealtime'),
      remuxSec: med('remuxSec'),
    };
    const ratio = figs.firstSegmentSec / figs.remuxSec;
    out.callback = { ...figs, playableVsRemux: ratio, runs: cb.length };
    const n = String(cb.length);
    rows.push(['callback answered (ms)', n, figs.answeredMs.toFixed(0), '']);
    rows.push(['callback → video created (s)', n, f2(figs.videoSec), '']);
    rows.push(['callback → first segment servable (s)', n, f2(figs.firstSegmentSec), `${f2(ratio)}× remux`]);
    rows.push(['callback → API playable (s)', n, f2(figs.apiPlayableSec), '']);
    rows.push(['callback → ready (s)', n, f2(figs.readySec), '']);
    rows.push([
      `ladder realtime factor (${durationSec.toFixed(0)} s / (ready − playable))`,
      n,
      f2(figs.ladderRealtime),
      '×',
    ]);
    rows.push(['reference: ffmpeg -c copy -f hls of the file (s)', n, f2(figs.remuxSec), '']);
  }
  if (m) {
    out.merge = m;
    rows.push([
      'merge: parts (video frames each)',
      '1',
      String(m.parts.length),
      m.parts.map((p) => p.frames).join(' + '),
    ]);
    rows.push([
      'merge: frames of the parts / merged source',
      '1',
      `${m.partFrames} / ${m.mergedFrames}`,
      m.equal ? 'EQUAL' : 'DIFFERENT',
    ]);
    rows.push([
      'merge: imported − last record_done (s)',
      '1',
      f2(m.mergeSec),
      `window ${m.windowSec} s, ${m.mergeMode}`,
    ]);
    rows.push(['merge: imported → ready again (s)', '1', f2(m.readyAfterImportSec), '']);
    rows.push(['merge: stream order of each part', '1', '', m.parts.map((p) => p.streams).join(' | ')]);
    rows.push([
      'merge: parts / merged source / video duration (s)',
      '1',
      `${f2(m.partsDurationSec)} / ${f2(m.mergedDurationSec)} / ${f2(m.videoDurationSec)}`,
      '',
    ]);
  }
  if (rows.length) {
    console.log('\n---- summary (medians) ----');
    printTable(['figure', 'n', 'median', ''], rows);
    if (m && m.mergeMode === 'reencode' && new Set(m.parts.map((p) => p.streams)).size > 1)
      console.log(
        '\nreencode: the parts do not list their streams in the same order (a part nginx-rtmp opens at a split can start with an audio packet), and the merge copies only parts whose streams match index by index.',
      );
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      runs: { type: 'string', default: '1' },
      'merge-seconds': { type: 'string', default: '60' },
      parts: { type: 'string', default: '3' },
      'merge-window': { type: 'string', default: '3' },
      detection: { type: 'boolean', default: false },
      skip: { type: 'string', default: '' },
      'poll-ms': { type: 'string', default: '100' },
      'ready-timeout': { type: 'string', default: '3600' },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const minutes = Number(values.minutes);
  const runs = Math.floor(Number(values.runs));
  const mergeSeconds = Number(values['merge-seconds']);
  const parts = Math.floor(Number(values.parts));
  const windowSec = Math.floor(Number(values['merge-window']));
  const pollMs = Number(values['poll-ms']);
  const readyTimeoutSec = Number(values['ready-timeout']);
  if (!(minutes > 0) || !(runs >= 1) || !(parts >= 2) || !(windowSec >= 0) || !(pollMs >= 1))
    throw new Error('--minutes > 0, --runs ≥ 1, --parts ≥ 2, --merge-window ≥ 0, --poll-ms ≥ 1');
  if (!(mergeSeconds >= parts && mergeSeconds <= minutes * 60))
    throw new Error('--merge-seconds must be ≥ --parts and ≤ the recording (--minutes × 60)');
  const skip = new Set(values.skip.split(',').filter(Boolean));
  const workDir = path.resolve(values['work-dir']);
  const started = performance.now();
  const ffv = (await run('ffmpeg', ['-version'])).stdout.split('\n')[0] ?? '';
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  console.log(
    `${os.cpus().length} CPUs, node ${process.version}, ${ffv.split(' ').slice(0, 3).join(' ')}; load average ${load}`,
  );

  const t = performance.now();
  const made = await ensureRecording(workDir, minutes);
  const info = await probe(made.file);
  const { size } = await stat(made.file);
  console.log(
    `recording: ${made.file} ${made.how} (${((performance.now() - t) / 1000).toFixed(1)} s), ${info.video?.codec} ${info.video?.width}×${info.video?.height}, ${info.duration.toFixed(2)} s, ${((size * 8) / info.duration / 1e6).toFixed(1)} Mb/s, audio ${info.audio[0]?.codec ?? 'none'}`,
  );
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(workDir, `recording-${stamp}`);
  const withMerge = !skip.has('merge') && rtmpAvailable();
  const server = await startVodcloud({
    dataDir: path.join(runDir, 'vodcloud'),
    env: {
      ...SERVER_ENV,
      // The work dir holds the cached recording and nginx-rtmp's parts (under runDir).
      VOD_RECORDING_DIRS: workDir,
      VOD_DETECTION: values.detection ? 'on' : 'off',
    },
  });
  console.log(`server ${server.url} (pid ${server.pid}), data ${server.dataDir}`);
  let cb: CallbackRound[] = [];
  let merge: MergeResult | undefined;
  try {
    const { key } = await createTenantKey(server, 'bench-recording');
    if (!skip.has('callback'))
      cb = await callbackBench(server, key, made.file, info.duration, runDir, {
        runs,
        pollMs,
        readyTimeoutSec,
      });
    if (withMerge)
      merge = await mergeBench(server, key, made.file, runDir, {
        seconds: mergeSeconds,
        parts,
        windowSec,
        pollMs,
        readyTimeoutSec,
      });
  } finally {
    await server.stop();
    if (!values.keep) rmSync(runDir, { recursive: true, force: true });
  }
  const summary = summarize(cb, merge, info.duration);
  const loadAfter = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  const wallSec = (performance.now() - started) / 1000;
  console.log(
    `\nload average at the start ${load}, at the end ${loadAfter}; wall time ${wallSec.toFixed(0)} s`,
  );
  const file = await writeResults('recording', {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, ffmpeg: ffv },
    loadAverage: { start: load, end: loadAfter },
    options: {
      minutes,
      runs,
      mergeSeconds,
      parts,
      windowSec,
      detection: values.detection,
      pollMs,
      readyTimeoutSec,
      skip: [...skip],
    },
    recording: { file: made.file, durationSec: info.duration, bytes: size },
    wallSec,
    summary,
    callback: cb,
    merge,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
