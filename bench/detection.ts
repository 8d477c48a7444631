// `npm run bench -- detection`: what detection (issue 18) costs, and whether it slows down playback of
// uploads made meanwhile.
//
// 1. QC: wall time of analyzeMedia without frames (the quality checks alone) next to a plain decode of the
//    same clip (`ffmpeg -i clip -f null -`), alternating, --rounds times.
// 2. The model alone: cold load of the Classifier (nsfwjs in its worker thread), then frames/s over frames
//    sampled from the clip, after a warm-up, in batches of 8 as FrameScorer sends them.
// 3. Moderation: analyzeMedia with frame sampling feeding FrameScorer → Classifier, as the server's
//    detection provider does, at the platform default (one frame every 5 s, at most 60) and a dense setting
//    (every 1 s, at most 300): decode+QC time, model time, total.
// 4. Time to playable: one vodcloud server on the embedded defaults; web-ready 60 s 1080p uploads on an
//    idle server, alternating with uploads made while a detection (intervalSec 1, maxFrames 300) runs on
//    another video of the same server; the detection's state is read at upload complete and at playable.
//
// Parts 1–3 run in this process (ffmpeg at --nice, the model's thread at --nice), part 4 in the server
// (detection at its default nice 19, as in production).

import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeMedia, probe } from '@vodcloud/media';
import { Classifier, type Frame } from '../apps/server/src/modules/detection/model/classifier';
import { FrameScorer } from '../apps/server/src/modules/detection/scorer';
import { ensureClip, tusUpload } from './lib/clips';
import { run, sleep } from './lib/proc';
import { printTable, removeRunDir, writeResults } from './lib/report';
import { median, p95 } from './lib/stats';
import { createTenantKey, startVodcloud, type VodcloudProcess } from './lib/vodcloud';
import { oneRound, type Round, SERVER_ENV, type VideoView } from './playable';

const HELP = `usage: npm run bench -- detection [options]
  --rounds N         rounds of the QC and moderation measurements (default 3)
  --runs N           uploads on an idle server and as many while a detection runs, alternating (default 5)
  --model-frames N   frames for the model's frames/s, after a warm-up of 8 (default 64)
  --nice N           nice of ffmpeg and of the model's thread in parts 1–3 (default 0; the server uses 19)
  --skip LIST        parts to leave out: qc,model,moderation,playable
  --poll-ms N        polling interval of part 4 (default 25)
  --work-dir DIR     where the clip is cached and the server's data goes (default /tmp/vodcloud-bench)
  --keep             keep the server's data directory`;

/** The platform default and a dense setting (the policy's bounds: intervalSec ≥ 1, maxFrames ≤ 300). */
const SETTINGS = [
  { name: 'default', intervalSec: 5, max: 60 },
  { name: 'dense', intervalSec: 1, max: 300 },
] as const;
/** "No effect beyond noise": the busy median within the idle rounds' range AND at most this × the idle median. */
const NOISE_RATIO = 1.2;
const BATCH = 8;

const f2 = (x: number | null | undefined) =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2);
const sec = (ms: number) => ms / 1000;

interface ClipInfo {
  file: string;
  durationSec: number;
  hasVideo: boolean;
  hasAudio: boolean;
}

// ---- 1. QC alone vs a plain decode ----

interface QcRound {
  round: number;
  decodeSec: number;
  qcSec: number;
  /** QC plus frame sampling at the platform default (every 5 s, ≤ 60; 224² RGB), frames dropped: no model. */
  qcFramesSec: number;
}

async function qcBench(clip: ClipInfo, rounds: number, nice: number): Promise<QcRound[]> {
  console.log(
    `\n---- QC: analyzeMedia without frames (and with frame sampling, no model) vs \`ffmpeg -i clip -f null -\` (nice ${nice}) ----`,
  );
  const out: QcRound[] = [];
  const timed = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return sec(performance.now() - t);
  };
  const decode = () =>
    timed(async () => {
      const argv = [
        '-n',
        String(nice),
        'ffmpeg',
        '-hide_banner',
        '-nostdin',
        '-i',
        clip.file,
        '-f',
        'null',
        '-',
      ];
      const r = await run('nice', argv);
      if (r.code !== 0) throw new Error(`plain decode failed: ${r.stderr.slice(-1000)}`);
    });
  const qc = () => timed(() => analyzeMedia(clip.file, { ...clipOpts(clip), timeoutMs: 600_000, nice }));
  const qcFrames = () =>
    timed(() =>
      analyzeMedia(clip.file, {
        ...clipOpts(clip),
        timeoutMs: 600_000,
        nice,
        frames: { intervalSec: 5, max: 60, size: 224, onFrame: () => {} },
      }),
    );
  for (let round = 1; round <= rounds; round++) {
    // Alternate the order, so that none always runs on a warmer page cache or a calmer machine.
    const order = round % 2 ? [decode, qc, qcFrames] : [qcFrames, qc, decode];
    const t = new Map<unknown, number>();
    for (const f of order) t.set(f, await f());
    const r = { round, decodeSec: t.get(decode)!, qcSec: t.get(qc)!, qcFramesSec: t.get(qcFrames)! };
    out.push(r);
    console.log(
      `round ${round}: plain decode ${f2(r.decodeSec)} s, QC ${f2(r.qcSec)} s (${f2(r.qcSec / r.decodeSec)}×), QC + frame sampling ${f2(r.qcFramesSec)} s (${f2(r.qcFramesSec / r.decodeSec)}×)`,
    );
  }
  return out;
}

const clipOpts = (c: ClipInfo) => ({
  durationSec: c.durationSec,
  hasVideo: c.hasVideo,
  hasAudio: c.hasAudio,
});

// ---- 2. the model alone ----

interface ModelResult {
  loadSec: number;
  warmupSec: number;
  frames: number;
  sec: number;
  framesPerSec: number;
  /** How the frames were got: analyzeMedia with the dense setting and no model. */
  sampleSec: number;
}

/** Frames of the clip (dense setting), decoded without the model: also the cost of sampling alone. */
async function sampleFrames(clip: ClipInfo, nice: number): Promise<{ frames: Buffer[]; sec: number }> {
  const frames: Buffer[] = [];
  const t = performance.now();
  await analyzeMedia(clip.file, {
    ...clipOpts(clip),
    timeoutMs: 600_000,
    nice,
    frames: { intervalSec: 1, max: 300, size: 224, onFrame: (f) => void frames.push(f.rgb) },
  });
  return { frames, sec: sec(performance.now() - t) };
}

/** A fresh copy per call: classify() moves a frame's memory to the worker. */
const copies = (frames: Buffer[]): Frame[] => frames.map((f) => ({ rgb: Buffer.from(f), size: 224 }));

async function modelBench(
  classifier: Classifier,
  pool: { frames: Buffer[]; sec: number },
  n: number,
): Promise<ModelResult> {
  console.log(`\n---- the model alone: cold load, warm-up of ${BATCH} frames, then ${n} frames ----`);
  let t = performance.now();
  await classifier.ready();
  const loadSec = sec(performance.now() - t);
  t = performance.now();
  await classifier.classify(copies(pool.frames.slice(0, BATCH)));
  const warmupSec = sec(performance.now() - t);
  const picked = Array.from({ length: n }, (_, i) => pool.frames[i % pool.frames.length]!);
  const batches: Frame[][] = [];
  for (let i = 0; i < picked.length; i += BATCH) batches.push(copies(picked.slice(i, i + BATCH)));
  t = performance.now();
  for (const b of batches) await classifier.classify(b);
  const s = sec(performance.now() - t);
  const r = { loadSec, warmupSec, frames: n, sec: s, framesPerSec: n / s, sampleSec: pool.sec };
  console.log(
    `load (cold) ${f2(loadSec)} s; warm-up ${BATCH} frames ${f2(warmupSec)} s; ${n} frames in ${f2(s)} s = ${r.framesPerSec.toFixed(1)} frames/s (${pool.frames.length} distinct frames sampled from the clip in ${f2(pool.sec)} s)`,
  );
  return r;
}

// ---- 3. moderation: decode + QC + frames → FrameScorer → Classifier ----

interface ModerationRound {
  setting: string;
  round: number;
  frames: number;
  /** analyzeMedia's wall time: decode, QC, sampling, and any wait on the model (backpressure). */
  analyzeSec: number;
  /** Wall time of the model's batches (FrameScorer.modelMs), overlapping the decode. */
  modelSec: number;
  /** From analyzeMedia's end until the last batch was scored. */
  tailSec: number;
  totalSec: number;
}

async function moderationBench(
  clip: ClipInfo,
  classifier: Classifier,
  rounds: number,
  nice: number,
): Promise<ModerationRound[]> {
  console.log(
    `\n---- moderation: analyzeMedia + frames → FrameScorer → Classifier (warm), nice ${nice} ----`,
  );
  const out: ModerationRound[] = [];
  for (const s of SETTINGS) {
    for (let round = 1; round <= rounds; round++) {
      const scorer = new FrameScorer(classifier);
      const t0 = performance.now();
      const a = await analyzeMedia(clip.file, {
        ...clipOpts(clip),
        timeoutMs: 600_000,
        nice,
        frames: { intervalSec: s.intervalSec, max: s.max, size: 224, onFrame: (f) => scorer.add(f) },
      });
      const t1 = performance.now();
      const scored = await scorer.finish();
      const t2 = performance.now();
      const r: ModerationRound = {
        setting: s.name,
        round,
        frames: scored.length,
        analyzeSec: sec(t1 - t0),
        modelSec: sec(scorer.modelMs),
        tailSec: sec(t2 - t1),
        totalSec: sec(t2 - t0),
      };
      if (a.framesSampled !== scored.length)
        throw new Error(`${a.framesSampled} frames sampled but ${scored.length} scored`);
      out.push(r);
      console.log(
        `${s.name} (every ${s.intervalSec} s, ≤ ${s.max}) round ${round}: ${r.frames} frames; decode+QC ${f2(r.analyzeSec)} s, model ${f2(r.modelSec)} s (${(r.frames / r.modelSec).toFixed(1)} frames/s), tail after the decode ${f2(r.tailSec)} s, total ${f2(r.totalSec)} s`,
      );
    }
  }
  return out;
}

// ---- 4. time to playable, idle vs while a detection runs ----

type DetectionState = 'pending' | 'running' | 'completed' | 'failed' | 'none';

interface PlayableRound {
  mode: 'idle' | 'busy';
  round: number;
  firstSegmentSec: number;
  apiPlayableSec: number;
  serverToPlayableSec: number | null;
  apiReadySec: number;
  /** busy rounds: the other video's detection state when the upload completed and when it was playable. */
  detectionAtUploadComplete: DetectionState | null;
  detectionAtPlayable: DetectionState | null;
  /** busy rounds: seconds the other detection ran on after this upload's first segment was servable. */
  detectionEndedAfterPlayableSec: number | null;
  /** busy rounds: that detection's own timings (ms) and frames. */
  detection: { qcMs: number | null; moderationMs: number | null; frames: number | null } | null;
  overlapped: boolean | null;
  otherCores: number;
}

type View = VideoView & {
  detection: {
    status: 'pending' | 'running' | 'completed' | 'failed';
    timings: { qcMs: number; moderationMs: number | null } | null;
    moderation: { framesAnalyzed: number } | null;
  } | null;
};

async function stateOf(server: VodcloudProcess, key: string, id: string): Promise<View> {
  return server.api<View>('GET', `/v1/videos/${id}`, key);
}

/** Polls until `done(view)` or the deadline; returns the last view. */
async function waitFor(
  server: VodcloudProcess,
  key: string,
  id: string,
  done: (v: View) => boolean,
  timeoutSec: number,
  pollMs = 100,
): Promise<View> {
  const deadline = performance.now() + timeoutSec * 1000;
  for (;;) {
    const v = await stateOf(server, key, id);
    if (done(v) || performance.now() > deadline) return v;
    await sleep(pollMs);
  }
}

const finished = (v: View) => v.detection?.status === 'completed' || v.detection?.status === 'failed';

/**
 * Watches a video's detection every `pollMs` from now: its state at a given moment (the last poll before
 * it) and the moment it was first seen finished.
 */
function watchDetection(server: VodcloudProcess, key: string, id: string, pollMs: number) {
  const seen: Array<{ at: number; state: DetectionState }> = [];
  let stop = false;
  let endedAt: number | undefined;
  let last: View | undefined;
  const loop = (async () => {
    while (!stop) {
      const v = await stateOf(server, key, id).catch(() => undefined);
      if (v) {
        last = v;
        seen.push({ at: performance.now(), state: v.detection?.status ?? 'none' });
        if (finished(v)) {
          endedAt ??= performance.now();
          return;
        }
      }
      await sleep(pollMs);
    }
  })();
  return {
    stateAt: (t: number): DetectionState | null => [...seen].reverse().find((s) => s.at <= t)?.state ?? null,
    endedAt: () => endedAt,
    last: () => last,
    async stop() {
      stop = true;
      await loop;
    },
  };
}

async function playableBench(
  clip: ClipInfo,
  runDir: string,
  runs: number,
  pollMs: number,
): Promise<PlayableRound[]> {
  console.log('\n---- time to playable: web-ready 60 s 1080p uploads, idle vs while a detection runs ----');
  const server = await startVodcloud({ dataDir: path.join(runDir, 'vodcloud'), env: SERVER_ENV });
  console.log(`server ${server.url} (pid ${server.pid}), data ${server.dataDir}`);
  const out: PlayableRound[] = [];
  try {
    // The measured uploads: their own automatic detection off, so that nothing of one round is left in the next.
    const measured = await createTenantKey(server, 'bench-detection-uploads');
    await server.api('PATCH', '/v1/detection/policy', measured.key, { enabled: false });
    // The video that keeps detection busy: one frame a second, up to 300.
    const busy = await createTenantKey(server, 'bench-detection-busy');
    await server.api('PATCH', '/v1/detection/policy', busy.key, {
      enabled: true,
      qc: true,
      moderation: { enabled: true, intervalSec: 1, maxFrames: 300 },
    });
    const created = await server.api<{ videoId: string; url: string; headers: Record<string, string> }>(
      'POST',
      '/v1/uploads',
      busy.key,
      {},
    );
    await tusUpload(clip.file, created);
    const busyId = created.videoId;
    const first = await waitFor(server, busy.key, busyId, (v) => v.status === 'ready' && finished(v), 900);
    console.log(
      `busy video ${busyId}: ${first.status}, its automatic detection ${first.detection?.status} (${first.detection?.moderation?.framesAnalyzed} frames; qcMs ${first.detection?.timings?.qcMs}, moderationMs ${first.detection?.timings?.moderationMs})`,
    );

    for (let i = 0; i < 2 * runs; i++) {
      const mode = i % 2 ? 'busy' : 'idle';
      const round = Math.floor(i / 2) + 1;
      let watch: ReturnType<typeof watchDetection> | undefined;
      let atUpload: Promise<DetectionState> | undefined;
      if (mode === 'busy') {
        await server.api('POST', `/v1/videos/${busyId}/detect`, busy.key);
        const v = await waitFor(server, busy.key, busyId, (x) => x.detection?.status !== 'pending', 120, 50);
        if (v.detection?.status !== 'running')
          throw new Error(`the busy video's detection is ${v.detection?.status}, not running`);
        watch = watchDetection(server, busy.key, busyId, 100);
      }
      let uploadAt = Number.NaN;
      const r: Round = await oneRound(server, measured.key, 'h264', round, clip.file, pollMs, 900, (at) => {
        uploadAt = at;
        if (watch) atUpload = stateOf(server, busy.key, busyId).then((v) => v.detection?.status ?? 'none');
      });
      if (r.status !== 'ready') throw new Error(`upload ended ${r.status}`);
      let p: PlayableRound = {
        mode,
        round,
        firstSegmentSec: r.firstSegmentSec,
        apiPlayableSec: r.apiPlayableSec,
        serverToPlayableSec: r.serverToPlayableSec,
        apiReadySec: r.apiReadySec,
        detectionAtUploadComplete: null,
        detectionAtPlayable: null,
        detectionEndedAfterPlayableSec: null,
        detection: null,
        overlapped: null,
        otherCores: r.otherCores,
      };
      if (watch) {
        const end = await waitFor(server, busy.key, busyId, finished, 900);
        await watch.stop();
        p = busyFigures(p, (await atUpload) ?? null, watch, uploadAt, end);
      }
      out.push(p);
      console.log(
        `${mode} round ${round}: first segment ${f2(p.firstSegmentSec)} s, API playable ${f2(p.apiPlayableSec)} s, server toPlayableSec ${f2(p.serverToPlayableSec)} s, ready ${f2(p.apiReadySec)} s; other processes ${p.otherCores.toFixed(2)} cores${mode === 'busy' ? `; detection at upload complete: ${p.detectionAtUploadComplete}, at playable: ${p.detectionAtPlayable}, ran on ${f2(p.detectionEndedAfterPlayableSec)} s after it (${p.detection?.frames} frames, qcMs ${p.detection?.qcMs}, moderationMs ${p.detection?.moderationMs})${p.overlapped ? '' : ' — NOT OVERLAPPED'}` : ''}`,
      );
      await sleep(500);
    }
  } finally {
    await server.stop();
  }
  return out;
}

/** The busy round's overlap: the detection ran at upload complete and still ran once the upload was playable. */
function busyFigures(
  p: PlayableRound,
  atUpload: DetectionState | null,
  watch: ReturnType<typeof watchDetection>,
  uploadAt: number,
  end: View,
): PlayableRound {
  // Playable = the latest of the three views of it (client first segment, API, server's own timing).
  const playableSec = Math.max(
    ...[p.firstSegmentSec, p.apiPlayableSec, p.serverToPlayableSec ?? Number.NaN].filter(
      (x) => !Number.isNaN(x),
    ),
  );
  const playableAt = uploadAt + playableSec * 1000;
  const endedAt = watch.endedAt();
  const ranOn = endedAt === undefined ? null : sec(endedAt - playableAt);
  const atPlayable = watch.stateAt(playableAt);
  return {
    ...p,
    detectionAtUploadComplete: atUpload,
    detectionAtPlayable: atPlayable,
    detectionEndedAfterPlayableSec: ranOn,
    detection: {
      qcMs: end.detection?.timings?.qcMs ?? null,
      moderationMs: end.detection?.timings?.moderationMs ?? null,
      frames: end.detection?.moderation?.framesAnalyzed ?? null,
    },
    overlapped: atUpload === 'running' && atPlayable === 'running' && ranOn !== null && ranOn > 0,
  };
}

// ---- summary ----

type Stat = { median: number; p95: number; min: number; max: number; n: number };
function stats(xs: Array<number | null>): Stat {
  const v = xs.filter((x): x is number => x !== null && !Number.isNaN(x));
  return { median: median(v), p95: p95(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** PASS when the busy median is within the idle rounds' range and at most NOISE_RATIO × the idle median. */
function verdict(idle: Stat, busy: Stat): { ratio: number; pass: boolean } {
  const ratio = busy.median / idle.median;
  return { ratio, pass: busy.median <= idle.max && ratio <= NOISE_RATIO };
}

function summarize(
  qc: QcRound[],
  model: ModelResult | undefined,
  mod: ModerationRound[],
  pl: PlayableRound[],
): Record<string, unknown> {
  const rows: string[][] = [];
  const out: Record<string, unknown> = {};
  if (qc.length) {
    const d = stats(qc.map((r) => r.decodeSec));
    const q = stats(qc.map((r) => r.qcSec));
    const ratio = q.median / d.median;
    const qf = stats(qc.map((r) => r.qcFramesSec));
    out.qc = { decode: d, qc: q, ratio, qcFrames: qf, qcFramesRatio: qf.median / d.median };
    rows.push([
      'plain decode, ffmpeg -f null (s)',
      String(d.n),
      f2(d.median),
      `${f2(d.min)}–${f2(d.max)}`,
      '',
    ]);
    rows.push([
      'QC, analyzeMedia without frames (s)',
      String(q.n),
      f2(q.median),
      `${f2(q.min)}–${f2(q.max)}`,
      `${f2(ratio)}× decode`,
    ]);
    rows.push([
      'QC + frame sampling (1/5 s, ≤ 60), no model (s)',
      String(qf.n),
      f2(qf.median),
      `${f2(qf.min)}–${f2(qf.max)}`,
      `${f2(qf.median / d.median)}× decode`,
    ]);
  }
  if (model) {
    out.model = model;
    rows.push(['model: cold load (s)', '1', f2(model.loadSec), '', '']);
    rows.push([
      `model: frames/s (${model.frames} frames, batches of ${BATCH}, warm)`,
      '1',
      model.framesPerSec.toFixed(1),
      '',
      '',
    ]);
  }
  const modOut: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const rs = mod.filter((r) => r.setting === s.name);
    if (!rs.length) continue;
    const figs = {
      frames: stats(rs.map((r) => r.frames)),
      analyzeSec: stats(rs.map((r) => r.analyzeSec)),
      modelSec: stats(rs.map((r) => r.modelSec)),
      tailSec: stats(rs.map((r) => r.tailSec)),
      totalSec: stats(rs.map((r) => r.totalSec)),
    };
    modOut[s.name] = figs;
    const label = `moderation ${s.name} (1/${s.intervalSec} s, ≤ ${s.max}; ${figs.frames.median} frames)`;
    rows.push([
      `${label}: decode+QC (s)`,
      String(rs.length),
      f2(figs.analyzeSec.median),
      `${f2(figs.analyzeSec.min)}–${f2(figs.analyzeSec.max)}`,
      '',
    ]);
    rows.push([
      `${label}: model (s)`,
      String(rs.length),
      f2(figs.modelSec.median),
      `${f2(figs.modelSec.min)}–${f2(figs.modelSec.max)}`,
      '',
    ]);
    rows.push([
      `${label}: total (s)`,
      String(rs.length),
      f2(figs.totalSec.median),
      `${f2(figs.totalSec.min)}–${f2(figs.totalSec.max)}`,
      '',
    ]);
  }
  if (mod.length) out.moderation = modOut;
  if (pl.length) {
    const idle = pl.filter((r) => r.mode === 'idle');
    const busy = pl.filter((r) => r.mode === 'busy');
    const overlapped = busy.filter((r) => r.overlapped).length;
    const figs: Record<string, unknown> = {};
    for (const [key, label] of [
      ['firstSegmentSec', 'first segment servable (client)'],
      ['serverToPlayableSec', 'server timings.toPlayableSec'],
      ['apiPlayableSec', 'API says playable (client)'],
    ] as const) {
      const i = stats(idle.map((r) => r[key]));
      const b = stats(busy.map((r) => r[key]));
      const v = verdict(i, b);
      figs[key] = { idle: i, busy: b, ...v };
      rows.push([
        `to playable, idle: ${label} (s)`,
        String(i.n),
        f2(i.median),
        `p95 ${f2(i.p95)}; ${f2(i.min)}–${f2(i.max)}`,
        '',
      ]);
      rows.push([
        `to playable, busy: ${label} (s)`,
        String(b.n),
        f2(b.median),
        `p95 ${f2(b.p95)}; ${f2(b.min)}–${f2(b.max)}`,
        `${f2(v.ratio)}× idle ${v.pass ? 'PASS' : 'MISS'}`,
      ]);
    }
    rows.push([
      'busy rounds that overlapped the detection',
      String(busy.length),
      String(overlapped),
      '',
      overlapped === busy.length ? '' : 'NOT ALL',
    ]);
    out.playable = { ...figs, overlapped, busyRounds: busy.length };
  }
  if (rows.length) {
    console.log('\n---- summary ----');
    printTable(['figure', 'n', 'median', 'spread', ''], rows);
    console.log(
      `\nPASS (no effect beyond noise) = the busy median is within the idle rounds' range (≤ their max) AND ≤ ${NOISE_RATIO}× the idle median. "overlapped" = the other video's detection was running when the upload completed and still running when it was playable (first segment, API and server all say so).`,
    );
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      runs: { type: 'string', default: '5' },
      'model-frames': { type: 'string', default: '64' },
      nice: { type: 'string', default: '0' },
      skip: { type: 'string', default: '' },
      'poll-ms': { type: 'string', default: '25' },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const rounds = Math.floor(Number(values.rounds));
  const runs = Math.floor(Number(values.runs));
  const modelFrames = Math.floor(Number(values['model-frames']));
  const nice = Math.floor(Number(values.nice));
  const pollMs = Number(values['poll-ms']);
  if (!(rounds >= 1) || !(runs >= 1) || !(modelFrames >= 1) || !(pollMs >= 1) || !(nice >= 0 && nice <= 19))
    throw new Error('--rounds, --runs, --model-frames, --poll-ms must be ≥ 1 and --nice 0..19');
  const skip = new Set(values.skip.split(',').filter(Boolean));
  const workDir = path.resolve(values['work-dir']);
  const ffv = (await run('ffmpeg', ['-version'])).stdout.split('\n')[0] ?? '';
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  console.log(
    `${os.cpus().length} CPUs, node ${process.version}, ${ffv.split(' ').slice(0, 3).join(' ')}; load average ${load}`,
  );

  const t = performance.now();
  const made = await ensureClip(workDir, 'h264', 60);
  const info = await probe(made.file);
  const size = (await stat(made.file)).size;
  const clip: ClipInfo = {
    file: made.file,
    durationSec: info.duration,
    hasVideo: Boolean(info.video),
    hasAudio: info.audio.length > 0,
  };
  console.log(
    `clip: ${made.file} ${made.how} (${((performance.now() - t) / 1000).toFixed(1)} s), ${info.video?.codec} ${info.video?.width}×${info.video?.height}, ${info.duration.toFixed(2)} s, ${((size * 8) / info.duration / 1e6).toFixed(1)} Mb/s, audio ${info.audio[0]?.codec ?? 'none'}`,
  );
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(workDir, `detection-${stamp}`);

  let qc: QcRound[] = [];
  let model: ModelResult | undefined;
  let mod: ModerationRound[] = [];
  let pl: PlayableRound[] = [];
  const classifier = new Classifier({ idleMs: 600_000, nice });
  try {
    if (!skip.has('qc')) qc = await qcBench(clip, rounds, nice);
    if (!skip.has('model') || !skip.has('moderation')) {
      const pool = await sampleFrames(clip, nice);
      if (!skip.has('model')) model = await modelBench(classifier, pool, modelFrames);
      if (!skip.has('moderation')) {
        await classifier.ready();
        mod = await moderationBench(clip, classifier, rounds, nice);
      }
    }
    await classifier.close();
    if (!skip.has('playable')) pl = await playableBench(clip, runDir, runs, pollMs);
  } finally {
    await classifier.close();
    if (!values.keep) await removeRunDir(runDir);
  }
  const summary = summarize(qc, model, mod, pl);
  const loadAfter = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  console.log(`
load average at the start ${load}, at the end ${loadAfter}`);
  const file = await writeResults('detection', {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, ffmpeg: ffv },
    loadAverage: { start: load, end: loadAfter },
    options: { rounds, runs, modelFrames, nice, pollMs, skip: [...skip] },
    clip: { ...clip, bytes: size },
    summary,
    qc,
    model,
    moderation: mod,
    playable: pl,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
