// `npm run bench -- playable`: how soon after an upload completes a viewer can start playing.
//
// N uploads of a generated 60 s 1080p30 clip, one after another, into one vodcloud on the embedded defaults
// (SQLite, files, db queue, all roles in one process), for a web-ready H.264/AAC source and for one that must
// be re-encoded (HEVC, or MPEG-2 without libx265). From the moment the final tus PATCH returns (= upload
// complete) it polls, with plain HTTP, the master playlist until 200, then the first child playlist it names
// and that playlist's first segment until 200 (and the same for a demuxed audio group): "first segment
// servable". Alongside, the API is polled for `playable` and `ready`, and the server's own timings are read.
//
// --cpu runs bench/ladder.ts (ours, cpu=1 vs one hand-written single-pass ffmpeg for the same ladder) and
// reports its CPU ratio; --workers measures upload complete → ready of a 5-minute 1080p30 clip with 1 vs 2
// worker processes (`serve --roles worker`) next to one `api,upload,stream` process, all on one data
// directory and SQLite database (the db queue leases jobs across processes).

import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { probe } from '@vodcloud/media';
import { type LadderSummary, ladderBench } from './ladder';
import { type ClipCodec, ensureClip, hasEncoder, tusUpload } from './lib/clips';
import { readMachineBusySeconds, run, sleep } from './lib/proc';
import { printTable, removeRunDir, writeResults } from './lib/report';
import { median, p95 } from './lib/stats';
import { createTenantKey, startVodcloud, type VodcloudProcess } from './lib/vodcloud';

const HELP = `usage: npm run bench -- playable [options]
  --runs N              uploads per source kind, one after another (default 10)
  --kinds LIST          comma-separated source kinds: h264 (web-ready), hevc (re-encode; MPEG-2 if this
                        ffmpeg has no libx265), mpeg2; empty = skip this part (default h264,hevc)
  --poll-ms N           polling interval for playlists, segments and the API (default 25)
  --ready-timeout S     cap on the wait for ready per upload; the round is reported as capped (default 900)
  --backlog             uploads back to back: each next upload starts once the previous one's first segment
                        is servable, while earlier ladders still encode (time to playable under a backlog);
                        ready times are read at the end
  --no-drain            with --backlog: do not wait for the videos to be ready at the end (bench all --quick)
  --duration S          length of the generated clips (default 60)
  --cpu                 also: CPU of the chunked ladder vs a single-pass encode (runs \`ladder --only ours1,a\`)
  --cpu-runs N          rounds of that (default 1)
  --workers             also: upload complete → ready of a 1080p30 clip with 1 vs 2 worker processes
  --workers-duration S  length of that clip (default 300)
  --work-dir DIR        where clips are cached and the run's data goes (default /tmp/vodcloud-bench)
  --keep                keep the servers' data directories`;

/**
 * Goals (issue 21): median upload complete → first segment servable, on an idle server and under a backlog
 * (where p95 must also stay within 1.5× the median).
 */
const GOAL_SEC: Record<'idle' | 'backlog', Record<string, number>> = {
  idle: { h264: 0.5, hevc: 1.5, mpeg2: 1.5 },
  backlog: { h264: 1.0, hevc: 2.0, mpeg2: 2.0 },
};
const BACKLOG_P95_GOAL = 1.5;
const CPU_GOAL = 1.1;
/** A server for polling: no rate limit (the bench polls the API every --poll-ms). */
export const SERVER_ENV = { VOD_RATE_LIMIT_PER_MINUTE: '0' };

export interface VideoView {
  status: string;
  playable: boolean;
  playback: { id: string; hlsUrl: string };
  readyAt: string | null;
  timings: {
    uploadCompletedAt: string | null;
    playableAt: string | null;
    toPlayableSec: number | null;
    toReadySec: number | null;
  };
  error: unknown;
}

export interface Round {
  kind: string;
  round: number;
  uploadSec: number;
  /** Seconds from upload complete (the final PATCH returned), as seen by this client; NaN = not seen. */
  masterSec: number;
  videoPlaylistSec: number;
  videoSegmentSec: number;
  audioSegmentSec: number | null;
  /** max(video segment, audio segment): the first moment a player has everything to start. */
  firstSegmentSec: number;
  /** The API first answered `playable: true`. */
  apiPlayableSec: number;
  apiReadySec: number;
  /** The server's own timings (upload_completed_at → playable_at / ready_at). */
  serverToPlayableSec: number | null;
  serverToReadySec: number | null;
  /** Server's upload_completed_at minus the client's upload-complete moment, ms (same clock). */
  serverUploadCompletedOffsetMs: number | null;
  masterPolls: number;
  /** CPU of every other process on the machine from upload complete to the end of the round, in cores. */
  otherCores: number;
  status: string;
  capped: boolean;
  urls: { master: string; video?: string; audio?: string; videoSegment?: string; audioSegment?: string };
}

/** GETs `url` every `pollMs` until it answers 200 (body read); undefined when `deadline` (performance.now) passes. */
async function until200(
  url: string,
  pollMs: number,
  deadline: number,
): Promise<{ at: number; text: string; polls: number } | undefined> {
  for (let polls = 1; ; polls++) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.status === 200) {
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      return { at: performance.now(), text, polls };
    }
    await res?.arrayBuffer().catch(() => undefined);
    if (performance.now() > deadline) return undefined;
    await sleep(pollMs);
  }
}

/** The first variant's URI and the first audio rendition's URI of a master playlist, absolute. */
export function parseMaster(text: string, base: string): { video?: string; audio?: string } {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  let video: string | undefined;
  let audio: string | undefined;
  for (const [i, line] of lines.entries()) {
    if (!audio && line.startsWith('#EXT-X-MEDIA:') && /TYPE=AUDIO/.test(line)) {
      const m = /URI="([^"]+)"/.exec(line);
      if (m) audio = new URL(m[1]!, base).href;
    }
    if (!video && line.startsWith('#EXT-X-STREAM-INF')) {
      const uri = lines.slice(i + 1).find((l) => l && !l.startsWith('#'));
      if (uri) video = new URL(uri, base).href;
    }
  }
  return { video, audio };
}

/** The first segment URI of a media playlist, absolute. */
export function firstSegment(text: string, base: string): string | undefined {
  const uri = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  return uri ? new URL(uri, base).href : undefined;
}

/**
 * The player's view of "playable": polls the master playlist until 200, then the first variant playlist it
 * names and that playlist's first segment (and the same for a demuxed audio group), each until 200.
 * `performance.now()` of each step; undefined when the master never answered before `deadline`. The URLs
 * found are written into `urls`. bench/recording.ts uses the same definition.
 */
export async function playerView(
  master: string,
  pollMs: number,
  deadline: number,
  urls: Round['urls'] = { master },
) {
  const m = await until200(master, pollMs, deadline);
  if (!m) return undefined;
  const { video, audio } = parseMaster(m.text, master);
  urls.video = video;
  urls.audio = audio;
  const chain = async (playlist: string | undefined, which: 'video' | 'audio') => {
    if (!playlist) return undefined;
    const p = await until200(playlist, pollMs, deadline);
    const seg = p && firstSegment(p.text, playlist);
    if (!seg) return { playlistAt: p?.at, segmentAt: undefined };
    urls[which === 'video' ? 'videoSegment' : 'audioSegment'] = seg;
    const s = await until200(seg, pollMs, deadline);
    return { playlistAt: p.at, segmentAt: s?.at };
  };
  const [v, a] = await Promise.all([chain(video, 'video'), chain(audio, 'audio')]);
  return { masterAt: m.at, polls: m.polls, v, a, hasAudio: audio !== undefined };
}

const CLK_TCK = 100;
/** utime+stime+cutime+cstime of a process, seconds. */
function cpuWithChildren(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

const cpuOfThisProcess = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * One upload, then the player's and the API's view until ready. `onUploadComplete` is called the moment the
 * final PATCH has returned, with that moment's `performance.now()` (bench/detection.ts reads the state of a
 * detection running meanwhile).
 */
export async function oneRound(
  server: VodcloudProcess,
  key: string,
  kind: string,
  round: number,
  file: string,
  pollMs: number,
  readyTimeoutSec: number,
  onUploadComplete?: (at: number) => void,
  /** False: return once the first segment is servable and the API says playable (backlog mode). */
  untilReady = true,
): Promise<Round & { videoId: string; at0: number }> {
  const created = await server.api<{ videoId: string; url: string; headers: Record<string, string> }>(
    'POST',
    '/v1/uploads',
    key,
    {},
  );
  const v0 = await server.api<VideoView>('GET', `/v1/videos/${created.videoId}`, key);
  const master = v0.playback.hlsUrl;
  const t0 = performance.now();
  const done = await tusUpload(file, created);
  const at0 = done.at; // upload complete
  onUploadComplete?.(at0);
  const busy0 = readMachineBusySeconds();
  const own0 = cpuWithChildren(server.pid) + cpuOfThisProcess();
  const deadline = at0 + readyTimeoutSec * 1000;
  const sec = (t: number | undefined) => (t === undefined ? Number.NaN : (t - at0) / 1000);
  const urls: Round['urls'] = { master };

  // The player's view: master → first variant playlist → its first segment (and the audio group's).
  let hlsDone = false;
  const hls = playerView(master, pollMs, deadline, urls).finally(() => {
    hlsDone = true;
  });

  // The API's view, polled at the same rate until ready (or errored, or the cap).
  const api = (async () => {
    let playableAt: number | undefined;
    let view: VideoView | undefined;
    for (;;) {
      view = await server.api<VideoView>('GET', `/v1/videos/${created.videoId}`, key).catch(() => view);
      const now = performance.now();
      if (view?.playable && playableAt === undefined) playableAt = now;
      if (view && ['ready', 'errored', 'blocked'].includes(view.status))
        return { playableAt, readyAt: view.status === 'ready' ? now : undefined, view };
      if (!untilReady && hlsDone && playableAt !== undefined) return { playableAt, readyAt: undefined, view };
      if (now > deadline) return { playableAt, readyAt: undefined, view };
      await sleep(pollMs);
    }
  })();

  const [h, a] = await Promise.all([hls, api]);
  const otherCpu =
    readMachineBusySeconds() - busy0 - (cpuWithChildren(server.pid) + cpuOfThisProcess() - own0);
  const otherCores = Math.max(0, otherCpu) / ((performance.now() - at0) / 1000);
  const final = await server.api<VideoView>('GET', `/v1/videos/${created.videoId}`, key);
  const serverDone = final.timings.uploadCompletedAt ? Date.parse(final.timings.uploadCompletedAt) : null;
  const videoSegmentSec = sec(h?.v?.segmentAt);
  const audioSegmentSec = h?.hasAudio ? sec(h.a?.segmentAt) : null;
  return {
    kind,
    round,
    uploadSec: (at0 - t0) / 1000,
    masterSec: sec(h?.masterAt),
    videoPlaylistSec: sec(h?.v?.playlistAt),
    videoSegmentSec,
    audioSegmentSec,
    firstSegmentSec: audioSegmentSec === null ? videoSegmentSec : Math.max(videoSegmentSec, audioSegmentSec),
    apiPlayableSec: sec(a.playableAt),
    apiReadySec: sec(a.readyAt),
    serverToPlayableSec: final.timings.toPlayableSec,
    serverToReadySec: final.timings.toReadySec,
    serverUploadCompletedOffsetMs: serverDone === null ? null : serverDone - done.epochMs,
    masterPolls: h?.polls ?? 0,
    otherCores,
    status: final.status,
    capped: untilReady && a.readyAt === undefined,
    urls,
    videoId: created.videoId,
    at0,
  };
}

/**
 * Backlog mode's end: waits until every video of `rounds` is ready (or `deadline` passes) and fills in
 * their API ready times, polled every 250 ms (coarser than the rounds' own polling).
 */
async function awaitBacklog(
  server: VodcloudProcess,
  key: string,
  rounds: Array<Round & { videoId: string; at0: number }>,
  deadline: number,
): Promise<void> {
  const open = new Set(rounds);
  while (open.size && performance.now() < deadline) {
    for (const r of [...open]) {
      const v = await server.api<VideoView>('GET', `/v1/videos/${r.videoId}`, key);
      if (!['ready', 'errored', 'blocked'].includes(v.status)) continue;
      r.status = v.status;
      if (v.status === 'ready') r.apiReadySec = (performance.now() - r.at0) / 1000;
      r.serverToReadySec = v.timings.toReadySec;
      open.delete(r);
    }
    await sleep(250);
  }
  for (const r of open) r.capped = true;
}

/** The source kinds this ffmpeg can make: hevc falls back to MPEG-2 without libx265. */
export async function codecOf(kind: string): Promise<{ codec: ClipCodec; label: string }> {
  if (kind === 'h264') return { codec: 'h264', label: 'H.264 High + AAC (web-ready)' };
  if (kind === 'mpeg2') return { codec: 'mpeg2', label: 'MPEG-2 + AAC (re-encode)' };
  if (kind === 'hevc')
    return (await hasEncoder('libx265'))
      ? { codec: 'hevc', label: 'HEVC + AAC (re-encode)' }
      : { codec: 'mpeg2', label: 'MPEG-2 + AAC (re-encode; no libx265 here)' };
  throw new Error(`unknown kind ${kind} (h264, hevc, mpeg2)`);
}

interface WorkersResult {
  workers: number;
  wallSec: number;
  status: string;
  /** CPU seconds (self + reaped ffmpeg children) of each worker process over the run. */
  workerCpuSec: number[];
  apiCpuSec: number;
  /** CPU of every other process on the machine during the run, in cores. */
  otherCores: number;
}

/** One `api,upload,stream` process + `n` `--roles worker` processes on one data dir and SQLite file. */
async function workersRun(
  n: number,
  file: string,
  dataDir: string,
  readyTimeoutSec: number,
): Promise<WorkersResult> {
  const api = await startVodcloud({
    dataDir,
    env: { ...SERVER_ENV, VOD_ROLES: 'api,upload,stream' },
    logName: 'api.log',
  });
  const workers: VodcloudProcess[] = [];
  try {
    // One after the other: the first start migrates the database.
    for (let i = 1; i <= n; i++)
      workers.push(
        await startVodcloud({
          dataDir,
          env: SERVER_ENV,
          serveArgs: ['--roles', 'worker'],
          adminKey: api.adminKey,
          logName: `worker${i}.log`,
        }),
      );
    const { key } = await createTenantKey(api, 'bench-workers');
    const created = await api.api<{ videoId: string; url: string; headers: Record<string, string> }>(
      'POST',
      '/v1/uploads',
      key,
      {},
    );
    await tusUpload(file, created);
    const t0 = performance.now();
    const api0 = cpuWithChildren(api.pid);
    const w0 = workers.map((w) => cpuWithChildren(w.pid));
    const busy0 = readMachineBusySeconds();
    const own0 = cpuOfThisProcess();
    let status = '';
    for (;;) {
      status = (await api.api<VideoView>('GET', `/v1/videos/${created.videoId}`, key)).status;
      if (['ready', 'errored', 'blocked'].includes(status)) break;
      if (performance.now() - t0 > readyTimeoutSec * 1000) break;
      await sleep(100);
    }
    const wallSec = (performance.now() - t0) / 1000;
    const workerCpuSec = workers.map((w, i) => cpuWithChildren(w.pid) - w0[i]!);
    const apiCpuSec = cpuWithChildren(api.pid) - api0;
    const ours = workerCpuSec.reduce((a, b) => a + b, 0) + apiCpuSec + cpuOfThisProcess() - own0;
    const otherCores = Math.max(0, readMachineBusySeconds() - busy0 - ours) / wallSec;
    return { workers: n, wallSec, status, workerCpuSec, apiCpuSec, otherCores };
  } finally {
    for (const w of workers) await w.stop();
    await api.stop();
  }
}

const f2 = (x: number | null | undefined) =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2);

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '10' },
      kinds: { type: 'string', default: 'h264,hevc' },
      'poll-ms': { type: 'string', default: '25' },
      'ready-timeout': { type: 'string', default: '900' },
      backlog: { type: 'boolean', default: false },
      'no-drain': { type: 'boolean', default: false },
      duration: { type: 'string', default: '60' },
      cpu: { type: 'boolean', default: false },
      'cpu-runs': { type: 'string', default: '1' },
      workers: { type: 'boolean', default: false },
      'workers-duration': { type: 'string', default: '300' },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const runs = Math.floor(Number(values.runs));
  const pollMs = Number(values['poll-ms']);
  const readyTimeoutSec = Number(values['ready-timeout']);
  const cpuRuns = Math.floor(Number(values['cpu-runs']));
  const workersDuration = Number(values['workers-duration']);
  if (!(runs >= 1) || !(pollMs >= 1) || !(readyTimeoutSec > 0) || !(cpuRuns >= 1) || !(workersDuration >= 4))
    throw new Error('--runs, --poll-ms, --ready-timeout, --cpu-runs must be ≥ 1 and --workers-duration ≥ 4');
  const kinds = values.kinds.split(',').filter(Boolean);
  const workDir = path.resolve(values['work-dir']);
  const ffv = (await run('ffmpeg', ['-version'])).stdout.split('\n')[0] ?? '';
  console.log(
    `${os.cpus().length} CPUs, node ${process.version}, ${ffv.split(' ').slice(0, 3).join(' ')}; polling every ${pollMs} ms`,
  );
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(workDir, `playable-${stamp}`);

  const rounds: Round[] = [];
  const labels: Record<string, string> = {};
  let ladder: LadderSummary | undefined;
  const workerRuns: WorkersResult[] = [];
  try {
    // ---- 1. upload complete → playable, per source kind ----
    if (kinds.length) {
      const clips: Record<string, string> = {};
      for (const kind of kinds) {
        const { codec, label } = await codecOf(kind);
        labels[kind] = label;
        const t = performance.now();
        const clip = await ensureClip(workDir, codec, Number(values.duration));
        const info = await probe(clip.file);
        const size = (await stat(clip.file)).size;
        console.log(
          `${kind}: ${clip.file} ${clip.how} (${((performance.now() - t) / 1000).toFixed(1)} s), ${info.video?.codec} ${info.video?.width}×${info.video?.height}, ${info.duration.toFixed(2)} s, ${((size * 8) / info.duration / 1e6).toFixed(1)} Mb/s, audio ${info.audio[0]?.codec ?? 'none'}`,
        );
        clips[kind] = clip.file;
      }
      const server = await startVodcloud({ dataDir: path.join(runDir, 'vodcloud'), env: SERVER_ENV });
      console.log(`server ${server.url} (pid ${server.pid}), data ${server.dataDir}\n`);
      try {
        const { key } = await createTenantKey(server, 'bench-playable');
        for (const kind of kinds) {
          const pending: Array<Round & { videoId: string; at0: number }> = [];
          for (let round = 1; round <= runs; round++) {
            const r = await oneRound(
              server,
              key,
              kind,
              round,
              clips[kind]!,
              pollMs,
              readyTimeoutSec,
              undefined,
              !values.backlog,
            );
            rounds.push(r);
            pending.push(r);
            console.log(
              `${kind.padEnd(5)} round ${String(round).padStart(2)}: upload ${f2(r.uploadSec)} s; after upload complete: master 200 ${f2(r.masterSec)} s, first segment ${f2(r.firstSegmentSec)} s (video ${f2(r.videoSegmentSec)}, audio ${f2(r.audioSegmentSec)}), API playable ${f2(r.apiPlayableSec)} s, ready ${f2(r.apiReadySec)} s; server: playable ${f2(r.serverToPlayableSec)} s, ready ${f2(r.serverToReadySec)} s (its upload_completed_at ${r.serverUploadCompletedOffsetMs} ms from ours); other processes ${r.otherCores.toFixed(2)} cores${r.capped ? `; CAPPED at ${readyTimeoutSec} s, status ${r.status}` : ''}`,
            );
            if (values.backlog) {
              if (['errored', 'blocked'].includes(r.status)) throw new Error(`video ended ${r.status}`);
              continue; // the next upload at once: this one's ladder is still encoding
            }
            if (r.status !== 'ready' && !r.capped) throw new Error(`video ended ${r.status}`);
            await sleep(500); // let the publish job's row finish before the next upload
          }
          if (values.backlog && !values['no-drain']) {
            await awaitBacklog(server, key, pending, performance.now() + readyTimeoutSec * 1000);
            const notReady = pending.filter((r) => r.status !== 'ready');
            if (notReady.length)
              throw new Error(`backlog: ${notReady.map((r) => `${r.round} ${r.status}`).join(', ')}`);
            console.log(
              `${kind} backlog drained: all ${pending.length} ready ${f2(Math.max(...pending.map((r) => r.apiReadySec)))} s after round 1's upload completed`,
            );
          }
        }
      } finally {
        await server.stop();
      }
    }

    // ---- 2. CPU: chunked ladder vs single pass (bench/ladder.ts measures exactly this) ----
    if (values.cpu) {
      console.log('\n---- --cpu: npm run bench -- ladder --only ours1,a ----');
      ladder = await ladderBench([
        '--only',
        'ours1,a',
        '--runs',
        String(cpuRuns),
        '--duration',
        '60',
        '--work-dir',
        workDir,
      ]);
    }

    // ---- 3. 1 vs 2 worker processes on one SQLite database and data dir ----
    if (values.workers) {
      const t = performance.now();
      const clip = await ensureClip(workDir, 'h264-fast', workersDuration);
      console.log(
        `\n---- --workers: ${workersDuration} s 1080p30 H.264 (x264 ultrafast) clip ${clip.how} (${((performance.now() - t) / 1000).toFixed(1)} s) ----`,
      );
      for (const n of [1, 2]) {
        await run('sync', []);
        const r = await workersRun(n, clip.file, path.join(runDir, `workers-${n}`), readyTimeoutSec);
        workerRuns.push(r);
        console.log(
          `${n} worker process(es) + 1 api,upload,stream process: upload complete → ${r.status} ${r.wallSec.toFixed(1)} s; CPU per worker (incl. ffmpeg) ${r.workerCpuSec.map((c) => c.toFixed(0)).join(' + ')} s, api process ${r.apiCpuSec.toFixed(1)} s; other processes ${r.otherCores.toFixed(2)} cores`,
        );
        if (r.status !== 'ready') console.log(`  (not ready within ${readyTimeoutSec} s)`);
      }
    }
  } finally {
    if (!values.keep) await removeRunDir(runDir);
  }

  // ---- summary ----
  const rows: string[][] = [];
  const figures: {
    key: keyof Round;
    label: string;
    goal: boolean;
  }[] = [
    { key: 'masterSec', label: 'master playlist 200', goal: true },
    { key: 'firstSegmentSec', label: 'first segment servable', goal: true },
    { key: 'apiPlayableSec', label: 'API says playable', goal: false },
    { key: 'serverToPlayableSec', label: 'server timings.toPlayableSec', goal: false },
    { key: 'apiReadySec', label: 'API says ready', goal: false },
    { key: 'serverToReadySec', label: 'server timings.toReadySec', goal: false },
  ];
  const summary: Record<string, Record<string, { median: number; p95: number; n: number }>> = {};
  for (const kind of kinds) {
    const rs = rounds.filter((r) => r.kind === kind);
    if (!rs.length) continue;
    summary[kind] = {};
    for (const f of figures) {
      const xs = rs
        .map((r) => r[f.key] as number | null)
        .filter((x): x is number => x !== null && !Number.isNaN(x));
      const m = median(xs);
      const p = p95(xs);
      summary[kind][f.key] = { median: m, p95: p, n: xs.length };
      const goal = GOAL_SEC[values.backlog ? 'backlog' : 'idle'][kind]!;
      const spread = values.backlog && f.goal;
      const met = m <= goal && (!spread || p <= BACKLOG_P95_GOAL * m);
      rows.push([
        `${kind} ${f.label}`,
        `${xs.length}/${rs.length}`,
        f2(m),
        f2(p),
        f.goal ? `≤ ${goal.toFixed(1)} s${spread ? `, p95 ≤ ${BACKLOG_P95_GOAL}× median` : ''}` : '',
        f.goal ? (met ? 'PASS' : 'MISS') : '',
      ]);
    }
    rows.push([
      `${kind} other processes' CPU (cores)`,
      String(rs.length),
      f2(median(rs.map((r) => r.otherCores))),
      f2(p95(rs.map((r) => r.otherCores))),
      '',
      '',
    ]);
  }
  const cpuRatio =
    ladder?.medians.ours1 && ladder.medians.a
      ? ladder.medians.ours1.cpuSec / ladder.medians.a.cpuSec
      : undefined;
  if (cpuRatio !== undefined)
    rows.push([
      `CPU chunked ladder / single pass (${ladder!.medians.ours1!.cpuSec.toFixed(0)} s / ${ladder!.medians.a!.cpuSec.toFixed(0)} s)`,
      String(ladder!.runs),
      `${cpuRatio.toFixed(2)}×`,
      '',
      `≤ ${CPU_GOAL}×`,
      cpuRatio <= CPU_GOAL ? 'PASS' : 'MISS',
    ]);
  const w1 = workerRuns.find((w) => w.workers === 1);
  const w2 = workerRuns.find((w) => w.workers === 2);
  if (w1 && w2)
    rows.push(
      [`${workersDuration} s clip → ready, 1 worker process`, '1', w1.wallSec.toFixed(1), '', '', w1.status],
      [
        `${workersDuration} s clip → ready, 2 worker processes`,
        '1',
        w2.wallSec.toFixed(1),
        '',
        '',
        w2.status,
      ],
      [`  wall 2 workers / 1 worker`, '', `${(w2.wallSec / w1.wallSec).toFixed(2)}×`, '', '', ''],
    );
  if (rows.length) {
    console.log(
      `\nseconds from upload complete (the final tus PATCH returned); ${runs} upload(s) per kind, one after another, polling every ${pollMs} ms`,
    );
    printTable(['figure', 'n', 'median', 'p95', 'goal', ''], rows);
    console.log(
      `\n"other processes" is the CPU every other process on this machine used meanwhile, in cores (it has ${os.cpus().length}): anything well above 0 makes the times longer than on a quiet machine.`,
    );
    console.log(
      '\nNote: the stream role caches a lookup of a video not served yet for 100 ms (NOT_YET_TTL_MS in stream/routes.ts), so "master playlist 200" can trail "API says playable" by up to that.',
    );
  }
  const file = await writeResults('playable', {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, ffmpeg: ffv },
    options: {
      runs,
      kinds,
      backlog: values.backlog,
      pollMs,
      readyTimeoutSec,
      cpu: values.cpu,
      workers: values.workers,
      workersDuration,
    },
    labels,
    summary,
    rounds,
    cpu: ladder ? { ...ladder, ratio: cpuRatio, goal: CPU_GOAL } : undefined,
    workers: workerRuns,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
