// `npm run bench -- delivery`: HLS delivery by the vodcloud stream role (a `signed` video, so every request
// carries ?token=<RS256 JWT> that the server verifies) against nginx serving the SAME bytes statically.
// Two tests, A/B alternating per round: one ~3 MB segment at 32 connections, and the media playlist
// (index.m3u8, which vodcloud rewrites per request to carry the token) at 64 connections. Load by wrk.

import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Upload } from 'tus-js-client';
import { summarizeCpuProfile } from './lib/cpuprofile';
import { startNginx } from './lib/nginx';
import { RssSampler, readCpuSeconds, readMachineBusySeconds, run, sleep } from './lib/proc';
import { printTable, writeResults } from './lib/report';
import { fmtMB, median } from './lib/stats';
import { createTenantKey, REPO_ROOT, startVodcloud } from './lib/vodcloud';

const SEGMENT_RATIO_GOAL = 0.85;
const PLAYLIST_P99_GOAL_MS = 10;
const TARGET_SEGMENT_BYTES = 3e6;

const HELP = `usage: npm run bench -- delivery [options]
  --runs N          A/B rounds per test (default 3)
  --duration S      wrk duration per measurement in seconds (default 10)
  --seg-conns N     connections for the segment test (default 32)
  --pl-conns N      connections for the playlist test (default 64)
  --only LIST       comma-separated subset of: segment,playlist (default both)
  --work-dir DIR    where the clip is cached and the run's data goes (default /tmp/vodcloud-bench)
  --cpu-prof        run the server with --cpu-prof and print where its CPU time went (whole server run)`;

type TestId = 'segment' | 'playlist';
type Side = 'vodcloud' | 'nginx';

interface WrkResult {
  requests: number;
  reqPerSec: number;
  bytesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: string;
}

interface Measurement extends WrkResult {
  test: TestId;
  side: Side;
  round: number;
  wallSec: number;
  /** CPU seconds of the serving side (vodcloud process, or nginx master+workers) during the run. */
  serverCpuSec: number;
  /** serverCpuSec / wallSec (1.0 = one core fully busy). */
  serverCpuCores: number;
  /** CPU seconds of everything else on the machine (mostly wrk itself). */
  otherCpuSec: number;
  peakRssBytes?: number;
}

const ms = (v: string, unit: string) =>
  Number(v) * (unit === 'us' ? 1e-3 : unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1);
const bytesOf = (v: string, unit: string) =>
  Number(v) * ({ B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[unit] ?? 1);

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk output did not match ${re}:\n${out}`);
    return m;
  };
  const rps = Number(num(/Requests\/sec:\s+([\d.]+)/)[1]);
  const t = num(/Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/);
  const p50 = num(/^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const p99 = num(/^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const reqs = num(/(\d+) requests in/);
  return {
    requests: Number(reqs[1]),
    reqPerSec: rps,
    bytesPerSec: bytesOf(t[1]!, t[2]!),
    p50Ms: ms(p50[1]!, p50[2]!),
    p99Ms: ms(p99[1]!, p99[2]!),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: /Socket errors:.*$/m.exec(out)?.[0] ?? '',
  };
}

/** 10 s 720p30: testsrc2 + strong temporal noise, so a 6 Mb/s rendition really spends its bits. */
async function ensureClip(workDir: string): Promise<string> {
  const file = path.join(workDir, 'delivery-src-10s-720p30.mp4');
  if ((await stat(file).catch(() => undefined))?.size) return file;
  await mkdir(workDir, { recursive: true });
  const partial = `${file}.partial.mp4`;
  const r = await run('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=1280x720:r=30:d=10,noise=alls=20:allf=t',
    '-f',
    'lavfi',
    '-i',
    'sine=f=440:d=10:sample_rate=48000',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '18',
    '-g',
    '60',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-t',
    '10',
    '-f',
    'mp4',
    partial,
  ]);
  if (r.code !== 0) throw new Error(`clip generation failed: ${r.stderr.slice(-2000)}`);
  await run('mv', [partial, file]);
  return file;
}

function tusUpload(file: string, created: { url: string; headers: Record<string, string> }): Promise<void> {
  return new Promise((resolve, reject) => {
    new Upload(readFileSync(file), {
      endpoint: created.url,
      headers: created.headers,
      chunkSize: Number.POSITIVE_INFINITY,
      metadata: { filename: path.basename(file), filetype: 'video/mp4' },
      retryDelays: null,
      storeFingerprintForResuming: false,
      onSuccess: () => resolve(),
      onError: reject,
    }).start();
  });
}

async function wrk(url: string, conns: number, seconds: number): Promise<WrkResult> {
  const r = await run('wrk', ['-t2', `-c${conns}`, `-d${seconds}s`, '--latency', url]);
  if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  return parseWrk(r.stdout);
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      'seg-conns': { type: 'string', default: '32' },
      'pl-conns': { type: 'string', default: '64' },
      only: { type: 'string', default: 'segment,playlist' },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const runs = Math.floor(Number(values.runs));
  const seconds = Math.floor(Number(values.duration));
  const segConns = Math.floor(Number(values['seg-conns']));
  const plConns = Math.floor(Number(values['pl-conns']));
  if (!(runs >= 1 && seconds >= 1 && segConns >= 1 && plConns >= 1))
    throw new Error('--runs, --duration, --seg-conns and --pl-conns must be ≥ 1');
  const tests = values.only.split(',').filter(Boolean) as TestId[];
  for (const t of tests) if (t !== 'segment' && t !== 'playlist') throw new Error(`unknown test ${t}`);
  const workDir = path.resolve(values['work-dir']);

  const clip = await ensureClip(workDir);
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(workDir, `delivery-${stamp}`);
  const profileDir = path.join(workDir, 'profiles', `delivery-${stamp}`);
  const [nginxVersion, wrkVersion] = await Promise.all([
    run('nginx', ['-v']).then((r) => r.stderr.trim()),
    run('wrk', ['-v']).then((r) => (r.stdout + r.stderr).split('\n')[0]?.trim() ?? ''),
  ]);
  console.log(
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model}), node ${process.version}, ${nginxVersion}, ${wrkVersion}`,
  );
  console.log(`run directory ${runDir}`);

  // The per-IP rate limit (default 1200/min, also on the stream role) would answer nearly all of wrk's
  // requests with 429: it is switched off so the delivery path itself is measured.
  console.log(
    'vodcloud runs with VOD_RATE_LIMIT_PER_MINUTE=0 (the default 1200/min per IP answers wrk with 429)',
  );
  const server = await startVodcloud({
    dataDir: path.join(runDir, 'vodcloud'),
    env: { VOD_RATE_LIMIT_PER_MINUTE: '0' },
    nodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : undefined,
  });
  const nginx = await startNginx(path.join(runDir, 'nginx'));
  const nginxPids = () => [nginx.pid, ...nginx.workerPids()];
  const serverRss = new RssSampler(() => [server.pid]);
  const measurements: Measurement[] = [];
  let setup: Record<string, unknown> = {};
  try {
    const { tenantId, key } = await createTenantKey(server, 'bench');
    const template = await server.api<{ id: string }>('POST', '/v1/templates', key, {
      name: 'delivery-bench',
      renditions: [{ name: 'hi', height: 720, videoBitrate: 6_000_000 }],
      hls: { segmentDuration: 4 },
      mp4: 'none',
    });
    const created = await server.api<{ videoId: string; url: string; headers: Record<string, string> }>(
      'POST',
      '/v1/uploads',
      key,
      { playbackPolicy: 'signed', templateId: template.id },
    );
    const t0 = performance.now();
    await tusUpload(clip, created);
    let video: { status: string; playback: { id: string; policy: string } } = {
      status: '',
      playback: { id: '', policy: '' },
    };
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      video = await server.api('GET', `/v1/videos/${created.videoId}`, key);
      if (['ready', 'errored', 'blocked'].includes(video.status)) break;
      if (Date.now() > deadline) throw new Error('video not ready after 10 min');
      await sleep(200);
    }
    if (video.status !== 'ready') throw new Error(`video ended ${video.status}`);
    if (video.playback.policy !== 'signed') throw new Error(`playback policy is ${video.playback.policy}`);
    console.log(`video ${created.videoId} ready in ${f1((performance.now() - t0) / 1000)} s`);
    const { token } = await server.api<{ token: string }>(
      'POST',
      `/v1/videos/${created.videoId}/playback-tokens`,
      key,
      { aud: 'v', expiresIn: 3600 },
    );

    // The published HLS objects: <data>/objects/objects/<tenant>/<video>/<generation>/hls/hi/seg-NNNNN.ts%o
    const videoDir = path.join(server.dataDir, 'objects', 'objects', tenantId, created.videoId);
    const gens = (await readdir(videoDir, { withFileTypes: true })).filter((e) => e.isDirectory());
    const generation = gens.find((e) => e.name !== 'source')?.name;
    if (!generation) throw new Error(`no generation directory in ${videoDir}`);
    const hlsDir = path.join(videoDir, generation, 'hls', 'hi');
    const segs = (await readdir(hlsDir)).filter((f) => /^seg-\d{5}\.ts%o$/.test(f));
    const sized = await Promise.all(
      segs.map(async (f) => ({ name: f.replace(/%o$/, ''), size: (await stat(path.join(hlsDir, f))).size })),
    );
    const seg = sized.sort(
      (a, b) => Math.abs(a.size - TARGET_SEGMENT_BYTES) - Math.abs(b.size - TARGET_SEGMENT_BYTES),
    )[0];
    if (!seg) throw new Error(`no segments in ${hlsDir}`);
    console.log(
      `segments: ${sized
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((s) => `${s.name} ${s.size}`)
        .join(', ')}; chosen ${seg.name}`,
    );

    // nginx gets the very same bytes, served by GET from its /dav/ location (static, sendfile on).
    const ngDir = path.join(nginx.davDir, 'hls', 'hi');
    await mkdir(ngDir, { recursive: true });
    await copyFile(path.join(hlsDir, `${seg.name}%o`), path.join(ngDir, seg.name));
    await copyFile(path.join(hlsDir, 'index.m3u8%o'), path.join(ngDir, 'index.m3u8'));

    const base = `${server.url}/hls/${video.playback.id}/hi`;
    const q = `?token=${encodeURIComponent(token)}`;
    const urls: Record<TestId, Record<Side, string>> = {
      segment: { vodcloud: `${base}/${seg.name}${q}`, nginx: `${nginx.url}/dav/hls/hi/${seg.name}` },
      playlist: { vodcloud: `${base}/index.m3u8${q}`, nginx: `${nginx.url}/dav/hls/hi/index.m3u8` },
    };

    // Sanity: status, size, body of every URL before measuring.
    const check: Record<string, unknown> = {};
    for (const test of tests) {
      for (const side of ['vodcloud', 'nginx'] as Side[]) {
        const res = await fetch(urls[test][side]);
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200) throw new Error(`${side} ${test}: HTTP ${res.status} ${body.toString()}`);
        check[`${test}/${side}`] = { contentLength: res.headers.get('content-length'), bytes: body.length };
        if (test === 'segment' && body.length !== seg.size)
          throw new Error(`${side} segment has ${body.length} bytes, expected ${seg.size}`);
      }
      console.log(
        `${test}: vodcloud ${JSON.stringify(check[`${test}/vodcloud`])}, nginx ${JSON.stringify(check[`${test}/nginx`])}`,
      );
    }
    const unauth = await fetch(`${base}/${seg.name}`);
    await unauth.arrayBuffer();
    console.log(`segment without token: HTTP ${unauth.status} (token checking is on)`);
    setup = {
      videoId: created.videoId,
      playbackId: video.playback.id,
      segment: seg,
      segments: sized,
      check,
      unauthStatus: unauth.status,
      tokenChars: token.length,
    };

    const conns: Record<TestId, number> = { segment: segConns, playlist: plConns };
    const measure = async (test: TestId, side: Side, round: number): Promise<Measurement> => {
      const pidsOf = () => (side === 'vodcloud' ? [server.pid] : nginxPids());
      const cpu = () => pidsOf().reduce((s, p) => s + (readCpuSeconds(p) ?? 0), 0);
      const c0 = cpu();
      const m0 = readMachineBusySeconds();
      if (side === 'vodcloud') serverRss.begin(`${test}-${round}`);
      const w0 = performance.now();
      const r = await wrk(urls[test][side], conns[test], seconds);
      const wallSec = (performance.now() - w0) / 1000;
      const serverCpuSec = cpu() - c0;
      const otherCpuSec = readMachineBusySeconds() - m0 - serverCpuSec;
      const peakRssBytes = side === 'vodcloud' ? serverRss.end().peakBytes : undefined;
      if (r.non2xx > 0) throw new Error(`${side} ${test}: ${r.non2xx} non-2xx responses`);
      return {
        test,
        side,
        round,
        wallSec,
        serverCpuSec,
        serverCpuCores: serverCpuSec / wallSec,
        otherCpuSec,
        peakRssBytes,
        ...r,
      };
    };

    // Warm-up (JIT, page cache, connection setup), not recorded.
    for (const test of tests)
      for (const side of ['vodcloud', 'nginx'] as Side[]) await wrk(urls[test][side], conns[test], 3);
    await sleep(500);

    console.log(`\nwrk -t2, ${seconds} s per run; ${runs} rounds, order alternates per round\n`);
    for (let round = 1; round <= runs; round++) {
      for (const test of tests) {
        const order: Side[] = round % 2 ? ['vodcloud', 'nginx'] : ['nginx', 'vodcloud'];
        for (const side of order) {
          const m = await measure(test, side, round);
          measurements.push(m);
          console.log(
            `round ${round} ${test.padEnd(8)} ${side.padEnd(8)} ${f1(m.reqPerSec).padStart(8)} req/s ${f1(m.bytesPerSec / 1e6).padStart(7)} MB/s  p50 ${f2(m.p50Ms)} ms  p99 ${f2(m.p99Ms)} ms  server CPU ${f2(m.serverCpuCores)} cores, other ${f2(m.otherCpuSec / m.wallSec)} cores ${m.socketErrors}`,
          );
          await sleep(500);
        }
      }
    }
  } finally {
    serverRss.stop();
    await Promise.allSettled([server.stop(), nginx.stop()]);
  }

  const pick = (test: TestId, side: Side) => measurements.filter((m) => m.test === test && m.side === side);
  const med = (test: TestId, side: Side, f: (m: Measurement) => number) => median(pick(test, side).map(f));
  const rows: string[][] = [];
  const summary: Record<string, unknown> = {};
  const verdicts: string[] = [];
  for (const test of tests) {
    const v = {
      rps: med(test, 'vodcloud', (m) => m.reqPerSec),
      mbs: med(test, 'vodcloud', (m) => m.bytesPerSec / 1e6),
      p50: med(test, 'vodcloud', (m) => m.p50Ms),
      p99: med(test, 'vodcloud', (m) => m.p99Ms),
      cpu: med(test, 'vodcloud', (m) => m.serverCpuCores),
      rss: Math.max(...pick(test, 'vodcloud').map((m) => m.peakRssBytes ?? 0)),
    };
    const n = {
      rps: med(test, 'nginx', (m) => m.reqPerSec),
      mbs: med(test, 'nginx', (m) => m.bytesPerSec / 1e6),
      p50: med(test, 'nginx', (m) => m.p50Ms),
      p99: med(test, 'nginx', (m) => m.p99Ms),
      cpu: med(test, 'nginx', (m) => m.serverCpuCores),
    };
    const label = test === 'segment' ? `segment, c=${segConns}` : `playlist, c=${plConns}`;
    rows.push(
      [`${label}  vodcloud`, f1(v.rps), f1(v.mbs), f2(v.p50), f2(v.p99), f2(v.cpu), fmtMB(v.rss)],
      [`${label}  nginx`, f1(n.rps), f1(n.mbs), f2(n.p50), f2(n.p99), f2(n.cpu), ''],
      [
        `${label}  ratio v/n`,
        `${f2(v.rps / n.rps)}×`,
        `${f2(v.mbs / n.mbs)}×`,
        `${f2(v.p50 / n.p50)}×`,
        `${f2(v.p99 / n.p99)}×`,
        '',
        '',
      ],
    );
    summary[test] = { vodcloud: v, nginx: n, ratioReqPerSec: v.rps / n.rps };
    if (test === 'segment') {
      const ratio = v.rps / n.rps;
      verdicts.push(
        `segment req/s vodcloud/nginx: ${f2(ratio)}× (goal ≥ ${SEGMENT_RATIO_GOAL}×) ${ratio >= SEGMENT_RATIO_GOAL ? 'PASS' : 'MISS'}, margin ${ratio >= SEGMENT_RATIO_GOAL ? '+' : ''}${f2(ratio - SEGMENT_RATIO_GOAL)}× (${f1(((ratio - SEGMENT_RATIO_GOAL) / SEGMENT_RATIO_GOAL) * 100)}%; needs ${f1(SEGMENT_RATIO_GOAL * n.rps)} req/s)`,
      );
    } else {
      verdicts.push(
        `playlist p99 vodcloud at c=${plConns}: ${f2(v.p99)} ms (goal < ${PLAYLIST_P99_GOAL_MS} ms) ${v.p99 < PLAYLIST_P99_GOAL_MS ? 'PASS' : 'MISS'}, margin ${f2(PLAYLIST_P99_GOAL_MS - v.p99)} ms (worst round ${f2(Math.max(...pick(test, 'vodcloud').map((m) => m.p99Ms)))} ms)`,
      );
    }
  }
  console.log('\nmedians over rounds:');
  printTable(
    ['test / server', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'server CPU (cores)', 'vodcloud peak RSS'],
    rows,
  );
  console.log('');
  for (const line of verdicts) console.log(line);
  console.log(`vodcloud peak RSS over the whole run: ${fmtMB(serverRss.peakBytes)}`);

  let profile: Awaited<ReturnType<typeof summarizeCpuProfile>> | undefined;
  if (values['cpu-prof']) {
    const files = await readdir(profileDir).catch(() => [] as string[]);
    const sized = await Promise.all(
      files.map(async (f) => ({ f, size: (await stat(path.join(profileDir, f))).size })),
    );
    const biggest = sized.sort((a, b) => b.size - a.size)[0];
    if (biggest) {
      const p = path.join(profileDir, biggest.f);
      profile = await summarizeCpuProfile(p, REPO_ROOT, 25);
      const total = profile.totalMs;
      console.log(
        `\nserver CPU profile ${p} (whole server run incl. start, transcode job and warm-up; ${f1(total / 1000)} s sampled):`,
      );
      printTable(
        ['self time by package/module', 'ms', '%'],
        profile.groups.map((g) => [g.group, g.ms.toFixed(0), f1((g.ms / total) * 100)]),
      );
      console.log('');
      printTable(
        ['self time by function', 'where', 'ms'],
        profile.functions.map((f) => [f.name, f.where, f.ms.toFixed(0)]),
      );
    } else console.log(`no CPU profile found in ${profileDir}`);
  }

  const file = await writeResults('delivery', {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      nginxVersion,
      wrkVersion,
    },
    options: { runs, seconds, segConns, plConns, tests },
    goals: { segmentReqPerSecRatio: SEGMENT_RATIO_GOAL, playlistP99Ms: PLAYLIST_P99_GOAL_MS },
    setup,
    summary,
    verdicts,
    peakRssBytes: serverRss.peakBytes,
    measurements,
    profile,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
