// `npm run bench -- ladder`: a 60 s 1080p30 clip through the whole vodcloud pipeline (upload complete →
// status ready) against (a) ONE hand-written ffmpeg process for the same ladder (decode once, every rendition,
// audio once) and (b) one ffmpeg process per rendition, run one after the other (each decodes again).
// Same encoder settings everywhere: the references are built with ladderArgs from the pipeline's own plan
// (planLadder/planSegments on the default template), so x264 preset, bitrates, keyframes and segmenting match.

import { readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TEMPLATE } from '@vodcloud/contracts';
import {
  type LadderArgsOptions,
  ladderArgs,
  type PlannedRendition,
  planLadder,
  planSegments,
  probe,
} from '@vodcloud/media';
import Database from 'better-sqlite3';
import { ensureClip, tusUpload } from './lib/clips';
import { childPids, readMachineBusySeconds, run, sleep } from './lib/proc';
import { printTable, removeRunDir, writeResults } from './lib/report';
import { median } from './lib/stats';
import { createTenantKey, startVodcloud } from './lib/vodcloud';

const HELP = `usage: npm run bench -- ladder [options]
  --runs N          rounds; each round runs every variant once, in a rotated order (default 2)
  --duration S      length of the generated 1080p30 clip in seconds (default 60)
  --work-dir DIR    where the clip is cached and the run's data goes (default /tmp/vodcloud-bench)
  --only LIST       comma-separated subset of: ours1,ours0,ours2,a,b (default all); ours0 is ours1 with
                    detection off (VOD_DETECTION=off): the ladder alone, without the detection decode
  --keep            keep the servers' data directories and the reference outputs`;

const CLK_TCK = 100;
/** The pipeline runs its ffmpeg processes under `nice -n 5` (jobs.ts); the references do too. */
const NICE = 5;

type VariantId = 'ours1' | 'ours0' | 'ours2' | 'a' | 'b';
const VARIANT_NAMES: Record<VariantId, string> = {
  ours1: 'ours, cpu=1 (default)',
  ours0: 'ours, cpu=1, VOD_DETECTION=off',
  ours2: 'ours, VOD_WORKER_CONCURRENCY=cpu=2',
  a: '(a) one ffmpeg, decode once',
  b: '(b) ffmpeg per rendition, seq.',
};

interface JobRow {
  name: string;
  state: string;
  attempts: number;
  started_at: number | null;
  finished_at: number | null;
}

interface Measurement {
  variant: VariantId;
  round: number;
  wallSec: number;
  cpuSec: number;
  /** CPU seconds used by every other process on the machine during the measurement (contention). */
  otherCpuSec: number;
  loadAvg1: number;
  /** ours only */
  ours?: {
    serverSelfCpuSec: number;
    childrenCpuSec: number;
    /** Cross-check: CPU of the server's child processes as last seen by polling /proc every 100 ms. */
    polledChildrenCpuSec: number;
    polledByKind: Record<string, { cpuSec: number; count: number }>;
    status: string;
    jobs: JobRow[];
    /** Seconds from upload complete. */
    timeline: Record<string, number>;
    chunkSpanSec: number;
    chunkBusySec: number;
    chunks: number;
  };
  /** references: per-process wall and CPU */
  processes?: { label: string; wallSec: number; cpuSec: number }[];
}

/** utime, stime, cutime, cstime (fields 14–17) of a process, in seconds. */
function readStat(pid: number): { self: number; children: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return {
      self: (Number(f[11]) + Number(f[12])) / CLK_TCK,
      children: (Number(f[13]) + Number(f[14])) / CLK_TCK,
    };
  } catch {
    return undefined;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of childPids(stack.pop()!)) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function kindOf(cmdline: string[]): string {
  const bin = path.basename(cmdline[0] ?? '');
  const has = (x: string) => cmdline.includes(x);
  if (bin === 'ffprobe') return 'ffprobe';
  if (bin !== 'ffmpeg' && bin !== 'nice') return bin;
  if (has('libx264')) return 'ffmpeg chunk (video ladder)';
  if (has('aac') && has('segment')) return 'ffmpeg audio';
  if (has('mp4') && has('copy')) return 'ffmpeg MP4 remux';
  return 'ffmpeg other (decode check, poster, storyboard)';
}

/** Polls the server's descendants every `ms` and keeps each one's last-seen CPU (incl. its own children). */
class ChildCpuPoller {
  private seen = new Map<number, { kind: string; cpu: number }>();
  private timer: NodeJS.Timeout;
  constructor(
    private readonly root: number,
    ms = 100,
  ) {
    this.timer = setInterval(() => this.poll(), ms);
    this.timer.unref();
  }
  poll(): void {
    for (const pid of descendants(this.root)) {
      const st = readStat(pid);
      if (!st) continue;
      let e = this.seen.get(pid);
      let cmd: string[] = [];
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } catch {}
      // Between fork and exec a child still shows node's command line, and `nice -n 5 ffmpeg …` execs
      // ffmpeg in the same pid: classify on every poll, so the last command line seen wins.
      const isNice = path.basename(cmd[0] ?? '') === 'nice';
      const kind = cmd.length ? kindOf(isNice ? cmd.slice(3) : cmd) : (e?.kind ?? 'unknown');
      if (!e) {
        e = { kind, cpu: 0 };
        this.seen.set(pid, e);
      } else e.kind = kind;
      e.cpu = st.self + st.children;
    }
  }
  stop(): { total: number; byKind: Record<string, { cpuSec: number; count: number }> } {
    clearInterval(this.timer);
    const byKind: Record<string, { cpuSec: number; count: number }> = {};
    let total = 0;
    for (const { kind, cpu } of this.seen.values()) {
      const k = byKind[kind] ?? { cpuSec: 0, count: 0 };
      byKind[kind] = k;
      k.cpuSec += cpu;
      k.count++;
      total += cpu;
    }
    return { total, byKind };
  }
}

/** Runs `nice -n 5 ffmpeg -hide_banner -nostdin ARGS` under /usr/bin/time; wall and the child's CPU. */
async function timedFfmpeg(args: string[]): Promise<{ wallSec: number; cpuSec: number }> {
  const t0 = performance.now();
  const r = await run('/usr/bin/time', [
    '-f',
    'TIMING %U %S',
    'nice',
    '-n',
    String(NICE),
    'ffmpeg',
    '-hide_banner',
    '-nostdin',
    ...args,
  ]);
  const wallSec = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`ffmpeg failed (${r.code}): ${r.stderr.slice(-3000)}`);
  const m = /TIMING (\S+) (\S+)\s*$/.exec(r.stderr);
  return { wallSec, cpuSec: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Medians of one `ladder` run, per variant that ran. */
export interface LadderSummary {
  durationSec: number;
  runs: number;
  medians: Partial<Record<VariantId, { wallSec: number; cpuSec: number }>>;
  resultsFile: string;
}

export async function main(argv: string[]): Promise<void> {
  await ladderBench(argv);
}

/** The whole `ladder` benchmark (also used by `playable --cpu`); prints as it goes and returns the medians. */
export async function ladderBench(argv: string[]): Promise<LadderSummary> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '2' },
      duration: { type: 'string', default: '60' },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      only: { type: 'string', default: 'ours1,ours0,ours2,a,b' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return { durationSec: 0, runs: 0, medians: {}, resultsFile: '' };
  }
  const runs = Math.floor(Number(values.runs));
  const duration = Number(values.duration);
  if (!(runs >= 1) || !(duration >= 4)) throw new Error('--runs must be ≥ 1 and --duration ≥ 4');
  const variants = values.only.split(',').filter(Boolean) as VariantId[];
  for (const v of variants) if (!(v in VARIANT_NAMES)) throw new Error(`unknown variant ${v}`);
  const workDir = path.resolve(values['work-dir']);

  const t0 = performance.now();
  const clip = await ensureClip(workDir, 'h264', duration);
  const info = await probe(clip.file);
  const clipSize = (await stat(clip.file)).size;
  console.log(
    `clip ${clip.file}: ${clip.how} (${((performance.now() - t0) / 1000).toFixed(1)} s), ${info.video?.width}×${info.video?.height}, ${info.duration.toFixed(2)} s, ${((clipSize * 8) / info.duration / 1e6).toFixed(1)} Mb/s`,
  );

  // The pipeline's own plan for this source (video.process does exactly this with the default template).
  const ladder = planLadder(DEFAULT_TEMPLATE, info);
  const segments = planSegments(info.duration, DEFAULT_TEMPLATE.hls.segmentDuration, ladder.fps);
  const audio = ladder.audio;
  const audioOpt: LadderArgsOptions['audio'] = audio
    ? {
        map: `0:${audio.sourceIndex}`,
        bitrate: audio.bitrate,
        channels: audio.channels,
        sampleRate: audio.sampleRate,
      }
    : null;
  console.log(
    `ladder: ${ladder.renditions.map((r) => `${r.name} ${r.width}×${r.height} ${r.videoBitrate / 1e6} Mb/s`).join(', ')}; audio ${audio ? `${audio.bitrate / 1000} kb/s` : 'none'}; ${segments.length} segments of ${DEFAULT_TEMPLATE.hls.segmentDuration} s; x264 veryfast (ladderArgs/chunkArgs default), ffmpeg under nice -n ${NICE} as in the pipeline`,
  );
  const ffv = (await run('ffmpeg', ['-version'])).stdout.split('\n')[0] ?? '';
  console.log(`${os.cpus().length} CPUs, node ${process.version}, ${ffv.split(' ').slice(0, 3).join(' ')}`);

  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(workDir, `ladder-${stamp}`);
  await mkdir(runDir, { recursive: true });
  console.log(`run directory ${runDir}\n`);

  const refOutDir = async (name: string, renditions: PlannedRendition[], withAudio: boolean) => {
    const dir = path.join(runDir, name);
    await rm(dir, { recursive: true, force: true });
    for (const r of renditions) await mkdir(path.join(dir, r.name), { recursive: true });
    if (withAudio) await mkdir(path.join(dir, 'audio'), { recursive: true });
    return dir;
  };

  const runA = async (): Promise<Measurement['processes']> => {
    const outDir = await refOutDir('a', ladder.renditions, !!audioOpt);
    const args = ladderArgs({
      input: clip.file,
      segments,
      renditions: ladder.renditions,
      outDir,
      audio: audioOpt,
      audioMode: 'separate',
    });
    const r = await timedFfmpeg(['-y', ...args]);
    if (!values.keep) await rm(outDir, { recursive: true, force: true });
    return [{ label: 'ladder', ...r }];
  };

  const runB = async (): Promise<Measurement['processes']> => {
    const out: NonNullable<Measurement['processes']> = [];
    for (const [i, r] of ladder.renditions.entries()) {
      // The audio goes with the first process (once), as a separate output like the pipeline's.
      const withAudio = i === 0 && !!audioOpt;
      const outDir = await refOutDir(`b-${r.name}`, [r], withAudio);
      const args = ladderArgs({
        input: clip.file,
        segments,
        renditions: [r],
        outDir,
        audio: withAudio ? audioOpt : null,
        audioMode: 'separate',
      });
      out.push({ label: r.name, ...(await timedFfmpeg(['-y', ...args])) });
      if (!values.keep) await rm(outDir, { recursive: true, force: true });
    }
    return out;
  };

  const runOurs = async (
    cpu: 1 | 2,
    round: number,
    detection = true,
  ): Promise<NonNullable<Measurement['ours']> & { wallSec: number; cpuSec: number }> => {
    const dataDir = path.join(runDir, `vodcloud-cpu${cpu}${detection ? '' : '-nodetect'}-r${round}`);
    const server = await startVodcloud({
      dataDir,
      // The same renditions as the references: no passthrough (which would skip encoding the top one).
      env: {
        VOD_PASSTHROUGH: 'off',
        ...(cpu === 2 ? { VOD_WORKER_CONCURRENCY: 'cpu=2' } : {}),
        ...(detection ? {} : { VOD_DETECTION: 'off' }),
      },
    });
    try {
      const { key } = await createTenantKey(server, 'bench');
      const created = await server.api<{
        videoId: string;
        url: string;
        headers: Record<string, string>;
      }>('POST', '/v1/uploads', key, {});
      await tusUpload(clip.file, created);
      // Upload complete: from here on everything the server does for this video is the pipeline.
      const doneAt = Date.now();
      const w0 = performance.now();
      const s0 = readStat(server.pid)!;
      const poller = new ChildCpuPoller(server.pid);
      let status = '';
      const deadline = Date.now() + 60 * 60_000;
      for (;;) {
        const v = await server.api<{ status: string }>('GET', `/v1/videos/${created.videoId}`, key);
        status = v.status;
        if (status === 'ready' || status === 'errored' || status === 'blocked') break;
        if (Date.now() > deadline) throw new Error('video not ready after 60 min');
        await sleep(100);
      }
      const wallSec = (performance.now() - w0) / 1000;
      const readyAt = Date.now();
      const s1 = readStat(server.pid)!;
      poller.poll();
      const polled = poller.stop();
      if (status !== 'ready') {
        const v = await server.api<unknown>('GET', `/v1/videos/${created.videoId}`, key);
        throw new Error(`video ended ${status}: ${JSON.stringify(v)}`);
      }
      const db = new Database(path.join(dataDir, 'vodcloud.db'), { readonly: true, fileMustExist: true });
      const jobs = db
        .prepare(
          'SELECT name, state, attempts, started_at, finished_at FROM jobs ORDER BY started_at, created_at',
        )
        .all() as JobRow[];
      db.close();
      // Periodic housekeeping (uploads.sweep …) is not part of this video's pipeline.
      const own = jobs.filter((j) => j.name.startsWith('video.') || j.name === 'upload.finalize');
      // video.publish marks the video ready before its own row is finished: it ends when ready was seen.
      for (const j of own) if (j.started_at && !j.finished_at) j.finished_at = readyAt;
      const rel = (ms: number | null | undefined) => (ms ? r2((ms - doneAt) / 1000) : Number.NaN);
      const chunkJobs = own.filter((j) => j.name === 'video.chunk');
      const chunkStart = Math.min(...chunkJobs.map((j) => j.started_at ?? Number.POSITIVE_INFINITY));
      const chunkEnd = Math.max(...chunkJobs.map((j) => j.finished_at ?? 0));
      const timeline: Record<string, number> = {};
      for (const j of own) {
        if (j.name === 'video.chunk') continue;
        timeline[`${j.name} start`] = rel(j.started_at);
        timeline[`${j.name} end`] = rel(j.finished_at);
      }
      timeline['first chunk start'] = rel(chunkStart);
      timeline['last chunk end'] = rel(chunkEnd);
      timeline['ready seen'] = r2(wallSec);
      const selfCpu = s1.self - s0.self;
      const childCpu = s1.children - s0.children;
      return {
        wallSec,
        cpuSec: selfCpu + childCpu,
        serverSelfCpuSec: r2(selfCpu),
        childrenCpuSec: r2(childCpu),
        polledChildrenCpuSec: r2(polled.total),
        polledByKind: polled.byKind,
        status,
        jobs: own,
        timeline,
        chunkSpanSec: (chunkEnd - chunkStart) / 1000,
        chunkBusySec: chunkJobs.reduce((s, j) => s + ((j.finished_at ?? 0) - (j.started_at ?? 0)), 0) / 1000,
        chunks: chunkJobs.length,
      };
    } finally {
      await server.stop();
      if (!values.keep) await removeRunDir(dataDir);
    }
  };

  const measurements: Measurement[] = [];
  try {
    for (let round = 1; round <= runs; round++) {
      const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
      for (const v of order) {
        await run('sync', []);
        const busy0 = readMachineBusySeconds();
        let m: Measurement;
        if (v === 'a' || v === 'b') {
          const t = performance.now();
          const processes = (v === 'a' ? await runA() : await runB())!;
          m = {
            variant: v,
            round,
            wallSec: (performance.now() - t) / 1000,
            cpuSec: processes.reduce((s, p) => s + p.cpuSec, 0),
            otherCpuSec: 0,
            loadAvg1: os.loadavg()[0]!,
            processes,
          };
        } else {
          const o = await runOurs(v === 'ours2' ? 2 : 1, round, v !== 'ours0');
          const { wallSec, cpuSec, ...ours } = o;
          m = { variant: v, round, wallSec, cpuSec, otherCpuSec: 0, loadAvg1: os.loadavg()[0]!, ours };
        }
        // Busy CPU of the machine over the measurement minus ours (the upload of "ours" is outside both).
        m.otherCpuSec = Math.max(0, readMachineBusySeconds() - busy0 - m.cpuSec);
        measurements.push(m);
        const extra = m.ours
          ? `  chunks ${m.ours.chunks}, first chunk start → last chunk end ${m.ours.chunkSpanSec.toFixed(1)} s (sum of chunk jobs ${m.ours.chunkBusySec.toFixed(1)} s); server self ${m.ours.serverSelfCpuSec} s + reaped children ${m.ours.childrenCpuSec} s (polled children ${m.ours.polledChildrenCpuSec} s)`
          : `  ${m.processes!.map((p) => `${p.label} ${p.wallSec.toFixed(1)} s/${p.cpuSec.toFixed(1)} s`).join(', ')}`;
        console.log(
          `round ${round}  ${VARIANT_NAMES[v].padEnd(36)} wall ${m.wallSec.toFixed(1).padStart(6)} s  CPU ${m.cpuSec.toFixed(1).padStart(6)} s  other procs ${(m.otherCpuSec / m.wallSec).toFixed(2)} cores, load ${m.loadAvg1.toFixed(1)}${extra}`,
        );
        if (m.ours)
          console.log(`           timeline (s after upload complete): ${JSON.stringify(m.ours.timeline)}`);
      }
    }
  } finally {
    if (!values.keep) await removeRunDir(runDir);
  }

  // ---- summary ----
  const of = (v: VariantId) => measurements.filter((m) => m.variant === v);
  const medWall = (v: VariantId) => median(of(v).map((m) => m.wallSec));
  const medCpu = (v: VariantId) => median(of(v).map((m) => m.cpuSec));
  const hasA = variants.includes('a');
  console.log(
    `\n${duration} s 1080p30 clip, ${runs} round(s); medians; ratio = variant / (a). "other" = CPU of every other process on the machine during the run, in cores (this machine has ${os.cpus().length}).`,
  );
  printTable(
    ['variant', 'wall s', 'CPU s', 'wall ×(a)', 'CPU ×(a)', 'other', 'chunk span s', 'per round wall s'],
    variants.map((v) => {
      const ms = of(v);
      return [
        VARIANT_NAMES[v],
        medWall(v).toFixed(1),
        medCpu(v).toFixed(1),
        hasA ? `${(medWall(v) / medWall('a')).toFixed(2)}×` : '-',
        hasA ? `${(medCpu(v) / medCpu('a')).toFixed(2)}×` : '-',
        median(ms.map((m) => m.otherCpuSec / m.wallSec)).toFixed(2),
        ms[0]?.ours ? median(ms.map((m) => m.ours!.chunkSpanSec)).toFixed(1) : '',
        ms.map((m) => m.wallSec.toFixed(1)).join(' / '),
      ];
    }),
  );
  // Issue 21, goal 6: wall ≤ 1.0× and CPU ≤ 1.1× the one-decode reference.
  const goal = (label: string, ours: number, ref: number, limit: number) => {
    const ratio = ours / ref;
    const margin = (limit - ratio) * 100;
    return `${label}: ${ratio.toFixed(2)}× (goal ≤ ${limit.toFixed(1)}×) ${ratio <= limit ? 'PASS' : 'MISS'} (${margin >= 0 ? `${margin.toFixed(0)} points under` : `${(-margin).toFixed(0)} points over`})`;
  };

  console.log('');
  if (hasA) {
    for (const v of ['ours1', 'ours0', 'ours2'] as const) {
      if (!variants.includes(v)) continue;
      console.log(goal(`wall ${VARIANT_NAMES[v]} / (a)`, medWall(v), medWall('a'), 1.0));
      console.log(goal(`CPU  ${VARIANT_NAMES[v]} / (a)`, medCpu(v), medCpu('a'), 1.1));
      const span = median(of(v).map((m) => m.ours!.chunkSpanSec));
      console.log(
        `  chunks only (first chunk start → last chunk end, from the jobs table): ${span.toFixed(1)} s = ${(span / medWall('a')).toFixed(2)}× (a) wall`,
      );
    }
  }
  for (const v of ['ours1', 'ours0', 'ours2'] as const) {
    const ms = of(v);
    if (!ms.length) continue;
    const kinds = new Map<string, number[]>();
    for (const m of ms)
      for (const [k, x] of Object.entries(m.ours!.polledByKind))
        kinds.set(k, [...(kinds.get(k) ?? []), x.cpuSec]);
    console.log(
      `\nwhere ${VARIANT_NAMES[v]} spends CPU (median s): server process itself ${median(ms.map((m) => m.ours!.serverSelfCpuSec)).toFixed(1)}, reaped children ${median(ms.map((m) => m.ours!.childrenCpuSec)).toFixed(1)} (polled children ${median(ms.map((m) => m.ours!.polledChildrenCpuSec)).toFixed(1)})`,
    );
    for (const [k, xs] of [...kinds].sort((a, b) => median(b[1]) - median(a[1])))
      console.log(`  ${k.padEnd(48)} ${median(xs).toFixed(1)} s`);
    const names = [...new Set(ms.flatMap((m) => m.ours!.jobs.map((j) => j.name)))];
    console.log('  job wall time (median s, summed over jobs of that name):');
    for (const n of names) {
      const sums = ms.map((m) =>
        m
          .ours!.jobs.filter((j) => j.name === n)
          .reduce((s, j) => s + ((j.finished_at ?? 0) - (j.started_at ?? 0)) / 1000, 0),
      );
      console.log(`    ${n.padEnd(20)} ${median(sums).toFixed(1)}`);
    }
  }
  console.log(
    '\nours includes what (a) does not: upload.finalize (source into the object store), probe + decode check, playlists, poster (choosePoster) and storyboard (a second decode of the source), segment reads/writes through the object store, the MP4 remux (publish fetches every rendition back) and the job queue; (a)/(b) write segments to a local folder only.',
  );

  const file = await writeResults('ladder', {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, ffmpeg: ffv },
    options: { runs, duration, variants },
    clip: { file: clip.file, bytes: clipSize, duration: info.duration },
    ladder: ladder.renditions.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      bitrate: r.videoBitrate,
    })),
    medians: Object.fromEntries(variants.map((v) => [v, { wallSec: medWall(v), cpuSec: medCpu(v) }])),
    measurements,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  return {
    durationSec: duration,
    runs,
    medians: Object.fromEntries(variants.map((v) => [v, { wallSec: medWall(v), cpuSec: medCpu(v) }])),
    resultsFile: file,
  };
}
