// `npm run bench -- delivery`: HLS delivery of a `signed` video (every request carries ?token=<RS256 JWT>
// that vodcloud verifies) by three servers of the SAME bytes, under wrk:
//   node   vodcloud's stream role answering directly (Node sends the bytes);
//   front  nginx in front (deploy/nginx/vodcloud.conf as shipped): vodcloud authorises the request
//          (auth_request, kept for 1 s per URL, token and Referer) and nginx sends the segment (sendfile),
//          counted by vodcloud from nginx's delivery log;
//   front-nc  the same front without its cache of authorisations: vodcloud authorises every request (what
//          a signed video's viewers cost, each with a token of their own and each segment fetched once);
//   nginx  nginx serving the files statically (the reference).
// Two tests, the sides' order rotating per round: one ~3 MB segment at 32 connections, and the media
// playlist (index.m3u8, which vodcloud rewrites per request to carry the token) at 64 connections.

import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startNginxFront } from '../test/support/nginx-front';
import { summarizeCpuProfile } from './lib/cpuprofile';
import { ensureClip, makeSignedVideo } from './lib/delivery-video';
import { startNginx } from './lib/nginx';
import { childPids, RssSampler, readCpuSeconds, readMachineBusySeconds, run, sleep } from './lib/proc';
import { printTable, writeResults } from './lib/report';
import { fmtMB, median } from './lib/stats';
import { REPO_ROOT, startVodcloud } from './lib/vodcloud';
import { type WrkResult, wrk } from './lib/wrk';

const SEGMENT_RATIO_GOAL = 0.85;
const SEGMENT_P99_GOAL = 1.5;
const PLAYLIST_P99_GOAL_MS = 10;
const GiB = 1024 ** 3;

const HELP = `usage: npm run bench -- delivery [options]
  --runs N          rounds per test (default 3); the sides' order rotates per round
  --duration S      wrk duration per measurement in seconds (default 10)
  --seg-conns N     connections for the segment test (default 32)
  --pl-conns N      connections for the playlist test (default 64)
  --only LIST       comma-separated subset of: segment,playlist (default both)
  --sides LIST      comma-separated subset of: node,front,nginx (default all three)
  --work-dir DIR    where the clip is cached and the run's data goes (default /tmp/vodcloud-bench)
  --cpu-prof        run the server with --cpu-prof and print where its CPU time went (whole server run)`;

type TestId = 'segment' | 'playlist';
const SIDES = ['node', 'front', 'front-nc', 'nginx'] as const;
type Side = (typeof SIDES)[number];
const LABEL: Record<Side, string> = {
  node: 'node direct',
  front: 'nginx front',
  'front-nc': 'front, no auth cache',
  nginx: 'nginx static',
};

interface Measurement extends WrkResult {
  test: TestId;
  side: Side;
  round: number;
  wallSec: number;
  /** CPU seconds of the serving side (vodcloud; vodcloud + the front's nginx; the static nginx) in the run. */
  serverCpuSec: number;
  /** The part of serverCpuSec that was vodcloud's. */
  vodcloudCpuSec: number;
  /** serverCpuSec / wallSec (1.0 = one core fully busy). */
  serverCpuCores: number;
  /** Server CPU seconds per GiB of response bodies sent (requests × body size). */
  cpuSecPerGiB: number;
  /** Server CPU microseconds per request. */
  cpuUsPerRequest: number;
  /** CPU seconds of everything else on the machine (mostly wrk itself). */
  otherCpuSec: number;
  peakRssBytes?: number;
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const spread = (xs: number[], f = f2) => `${f(median(xs))} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;

function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      'seg-conns': { type: 'string', default: '32' },
      'pl-conns': { type: 'string', default: '64' },
      only: { type: 'string', default: 'segment,playlist' },
      sides: { type: 'string', default: SIDES.join(',') },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const o = {
    help: values.help,
    runs: Math.floor(Number(values.runs)),
    seconds: Math.floor(Number(values.duration)),
    conns: {
      segment: Math.floor(Number(values['seg-conns'])),
      playlist: Math.floor(Number(values['pl-conns'])),
    },
    tests: values.only.split(',').filter(Boolean) as TestId[],
    sides: values.sides.split(',').filter(Boolean) as Side[],
    workDir: path.resolve(values['work-dir']),
    cpuProf: values['cpu-prof'],
  };
  if (!(o.runs >= 1 && o.seconds >= 1 && o.conns.segment >= 1 && o.conns.playlist >= 1))
    throw new Error('--runs, --duration, --seg-conns and --pl-conns must be ≥ 1');
  for (const t of o.tests) if (t !== 'segment' && t !== 'playlist') throw new Error(`unknown test ${t}`);
  for (const s of o.sides) if (!SIDES.includes(s)) throw new Error(`unknown side ${s}`);
  return o;
}

export async function main(argv: string[]): Promise<void> {
  const o = options(argv);
  if (o.help) {
    console.log(HELP);
    return;
  }
  const clip = await ensureClip(o.workDir);
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(o.workDir, `delivery-${stamp}`);
  const profileDir = path.join(o.workDir, 'profiles', `delivery-${stamp}`);
  const [nginxVersion, wrkVersion] = await Promise.all([
    run('nginx', ['-v']).then((r) => r.stderr.trim()),
    run('wrk', ['-v']).then((r) => (r.stdout + r.stderr).split('\n')[0]?.trim() ?? ''),
  ]);
  console.log(
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model}), node ${process.version}, ${nginxVersion}, ${wrkVersion}`,
  );
  console.log(`run directory ${runDir}; load average ${os.loadavg().map(f2).join(' ')} at start`);
  // nginx's workers (nobody) read the file store through the front: every directory on the way is 0755.
  await mkdir(runDir, { recursive: true, mode: 0o755 });
  const frontLog = path.join(runDir, 'front', 'logs', 'delivery.log');
  // The per-IP rate limit (default 1200/min, also on the stream role) would answer nearly all of wrk's
  // requests with 429: it is switched off so the delivery path itself is measured.
  console.log(
    'vodcloud runs with VOD_RATE_LIMIT_PER_MINUTE=0 (the default 1200/min per IP answers wrk with 429), VOD_STREAM_ACCEL=nginx and VOD_DELIVERY_LOG (the front)',
  );
  const server = await startVodcloud({
    dataDir: path.join(runDir, 'vodcloud'),
    env: { VOD_RATE_LIMIT_PER_MINUTE: '0', VOD_STREAM_ACCEL: 'nginx', VOD_DELIVERY_LOG: frontLog },
    nodeArgs: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : undefined,
  });
  const nginx = await startNginx(path.join(runDir, 'nginx'));
  const fronts = {
    front: await startNginxFront({
      dir: path.join(runDir, 'front'),
      upstream: new URL(server.url).host,
      objectsDir: path.join(server.dataDir, 'objects', 'objects'),
      deliveryLog: frontLog,
    }),
    'front-nc': await startNginxFront({
      dir: path.join(runDir, 'front-nc'),
      upstream: new URL(server.url).host,
      objectsDir: path.join(server.dataDir, 'objects', 'objects'),
      deliveryLog: frontLog,
      authCache: false,
    }),
  };
  const nginxPids = (pid: number) => () => [pid, ...childPids(pid)];
  const pids: Record<Side, () => number[]> = {
    node: () => [],
    front: nginxPids(fronts.front.pid),
    'front-nc': nginxPids(fronts['front-nc'].pid),
    nginx: () => [nginx.pid, ...nginx.workerPids()],
  };
  const serverRss = new RssSampler(() => [server.pid]);
  const measurements: Measurement[] = [];
  let setup: Record<string, unknown> = {};
  try {
    const v = await makeSignedVideo(server, clip);
    console.log(`video ${v.videoId} ready in ${f1(v.readySec)} s`);
    const seg = v.segment;
    console.log(`segments: ${v.segments.map((s) => `${s.name} ${s.size}`).join(', ')}; chosen ${seg.name}`);
    // nginx static gets the very same bytes, served by GET from its /dav/ location (static, sendfile on).
    const ngDir = path.join(nginx.davDir, 'hls', 'hi');
    await mkdir(ngDir, { recursive: true });
    await copyFile(seg.file, path.join(ngDir, seg.name));
    await copyFile(v.playlistFile, path.join(ngDir, 'index.m3u8'));

    const q = `?token=${encodeURIComponent(v.token)}`;
    const hls = (base: string) => `${base}/hls/${v.playbackId}/hi`;
    const bases = { node: server.url, front: fronts.front.url, 'front-nc': fronts['front-nc'].url };
    const url = (side: Side, file: string) =>
      side === 'nginx' ? `${nginx.url}/dav/hls/hi/${file}` : `${hls(bases[side])}/${file}${q}`;
    const urls = Object.fromEntries(
      (['segment', 'playlist'] as const).map((test) => [
        test,
        Object.fromEntries(
          SIDES.map((side) => [side, url(side, test === 'segment' ? seg.name : 'index.m3u8')]),
        ),
      ]),
    ) as Record<TestId, Record<Side, string>>;
    const bodyBytes = await sanity(urls, o.tests, o.sides, seg.size, frontLog);
    const unauth = await fetch(`${hls(fronts.front.url)}/${seg.name}`);
    await unauth.arrayBuffer();
    console.log(`segment without token through the front: HTTP ${unauth.status} (token checking is on)`);
    setup = { ...v, bodyBytes, unauthStatus: unauth.status, tokenChars: v.token.length };

    const measure = async (test: TestId, side: Side, round: number): Promise<Measurement> => {
      const cpuOf = (ps: number[]) => ps.reduce((s, p) => s + (readCpuSeconds(p) ?? 0), 0);
      const vod = () => (side === 'nginx' ? 0 : cpuOf([server.pid]));
      const cpu = () => vod() + cpuOf(pids[side]());
      const [c0, v0] = [cpu(), vod()];
      const m0 = readMachineBusySeconds();
      if (side !== 'nginx') serverRss.begin(`${test}-${side}-${round}`);
      const w0 = performance.now();
      const r = await wrk(urls[test][side], o.conns[test], o.seconds);
      const wallSec = (performance.now() - w0) / 1000;
      const serverCpuSec = cpu() - c0;
      const vodcloudCpuSec = vod() - v0;
      const otherCpuSec = readMachineBusySeconds() - m0 - serverCpuSec;
      const peakRssBytes = side !== 'nginx' ? serverRss.end().peakBytes : undefined;
      if (r.non2xx > 0) throw new Error(`${side} ${test}: ${r.non2xx} non-2xx responses`);
      const gib = (r.requests * bodyBytes[test][side]) / GiB;
      return {
        ...{ test, side, round, wallSec, serverCpuSec, vodcloudCpuSec, otherCpuSec, peakRssBytes },
        serverCpuCores: serverCpuSec / wallSec,
        cpuSecPerGiB: serverCpuSec / gib,
        cpuUsPerRequest: (serverCpuSec / r.requests) * 1e6,
        ...r,
      };
    };

    // Warm-up (JIT, page cache, connections, the caches of the stream role), not recorded.
    for (const test of o.tests) for (const side of o.sides) await wrk(urls[test][side], o.conns[test], 3);
    await sleep(500);
    console.log(`\nwrk -t2, ${o.seconds} s per run; ${o.runs} rounds; the sides' order rotates per round\n`);
    for (let round = 1; round <= o.runs; round++) {
      for (const test of o.tests) {
        const order = o.sides.map((_, i) => o.sides[(i + round - 1) % o.sides.length]!);
        for (const side of order) {
          const m = await measure(test, side, round);
          measurements.push(m);
          console.log(
            `round ${round} ${test.padEnd(8)} ${LABEL[side].padEnd(20)} ${f1(m.reqPerSec).padStart(8)} req/s ${f1(m.bytesPerSec / 1e6).padStart(7)} MB/s  p50 ${f2(m.p50Ms)} ms  p99 ${f2(m.p99Ms)} ms  server CPU ${f2(m.serverCpuCores)} cores${m.side.startsWith('front') ? ` (vodcloud ${f2(m.vodcloudCpuSec / m.wallSec)})` : ''}, ${test === 'segment' ? `${f2(m.cpuSecPerGiB)} s/GiB` : `${f1(m.cpuUsPerRequest)} µs/req`}, other ${f2(m.otherCpuSec / m.wallSec)} cores ${m.socketErrors}`,
          );
          await sleep(500);
        }
        const of = (side: Side) =>
          measurements.find((m) => m.test === test && m.side === side && m.round === round);
        const ref = of('nginx');
        const ratios = o.sides
          .filter((s) => s !== 'nginx')
          .filter((s) => of(s) && ref)
          .map(
            (s) =>
              `${s}/nginx ${f2(of(s)!.reqPerSec / ref!.reqPerSec)}× req/s, p99 ${f2(of(s)!.p99Ms / ref!.p99Ms)}×`,
          );
        if (ratios.length) console.log(`round ${round} ${test.padEnd(8)} ${ratios.join('; ')}`);
      }
    }
  } finally {
    serverRss.stop();
    await Promise.allSettled([server.stop(), nginx.stop(), fronts.front.stop(), fronts['front-nc'].stop()]);
  }
  const { summary, verdicts } = report(measurements, o);
  console.log(`vodcloud peak RSS over the whole run: ${fmtMB(serverRss.peakBytes)}`);
  console.log(`load average ${os.loadavg().map(f2).join(' ')} at the end`);
  const profile = o.cpuProf ? await printProfile(profileDir) : undefined;
  const file = await writeResults('delivery', {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      nginxVersion,
      wrkVersion,
    },
    options: { runs: o.runs, seconds: o.seconds, conns: o.conns, tests: o.tests, sides: o.sides },
    goals: {
      segmentReqPerSecRatio: SEGMENT_RATIO_GOAL,
      segmentP99Ratio: SEGMENT_P99_GOAL,
      playlistP99Ms: PLAYLIST_P99_GOAL_MS,
    },
    setup,
    summary,
    verdicts,
    peakRssBytes: serverRss.peakBytes,
    measurements,
    profile,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}

/** Status and size of every URL before measuring; the body size each side sends per request. */
async function sanity(
  urls: Record<TestId, Record<Side, string>>,
  tests: TestId[],
  sides: Side[],
  segmentSize: number,
  frontLog: string,
): Promise<Record<TestId, Record<Side, number>>> {
  const sizes = { segment: {}, playlist: {} } as Record<TestId, Record<Side, number>>;
  for (const test of tests) {
    for (const side of sides) {
      const res = await fetch(urls[test][side]);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`${side} ${test}: HTTP ${res.status} ${body.toString()}`);
      if (test === 'segment' && body.length !== segmentSize)
        throw new Error(`${side} segment has ${body.length} bytes, expected ${segmentSize}`);
      sizes[test][side] = body.length;
    }
    console.log(`${test}: ${sides.map((s) => `${LABEL[s]} ${sizes[test][s]} bytes`).join(', ')}`);
  }
  if (tests.includes('segment') && sides.some((s) => s.startsWith('front'))) {
    await sleep(1500); // nginx writes its delivery log at least once a second
    const logged = (await stat(frontLog).catch(() => undefined))?.size ?? 0;
    if (logged === 0) throw new Error(`the front sent no segment itself (${frontLog} is empty)`);
    console.log('the front sent the segment itself (its delivery log has it)');
  }
  return sizes;
}

/** The medians (with each round's spread) per test and side, the ratios to nginx static, and the verdicts. */
function report(measurements: Measurement[], o: ReturnType<typeof options>) {
  const pick = (test: TestId, side: Side) => measurements.filter((m) => m.test === test && m.side === side);
  const ratiosOf = (test: TestId, side: Side, f: (m: Measurement) => number) =>
    pick(test, side).flatMap((m) => {
      const ref = measurements.find((n) => n.test === test && n.side === 'nginx' && n.round === m.round);
      return ref ? [f(m) / f(ref)] : [];
    });
  const rows: string[][] = [];
  const summary: Record<string, unknown> = {};
  const verdicts: string[] = [];
  for (const test of o.tests) {
    const label = `${test}, c=${o.conns[test]}`;
    for (const side of o.sides) {
      const ms = pick(test, side);
      const med = (f: (m: Measurement) => number) => median(ms.map(f));
      const s = {
        rps: med((m) => m.reqPerSec),
        p50: med((m) => m.p50Ms),
        p99: med((m) => m.p99Ms),
        cpu: med((m) => m.serverCpuCores),
        cpuPerGiB: med((m) => m.cpuSecPerGiB),
        cpuUsPerRequest: med((m) => m.cpuUsPerRequest),
        vodcloudCores: med((m) => m.vodcloudCpuSec / m.wallSec),
        rss: Math.max(...ms.map((m) => m.peakRssBytes ?? 0)),
        rpsRatio: ratiosOf(test, side, (m) => m.reqPerSec),
        p99Ratio: ratiosOf(test, side, (m) => m.p99Ms),
      };
      summary[`${test}/${side}`] = s;
      rows.push([
        `${label}  ${LABEL[side]}`,
        spread(
          ms.map((m) => m.reqPerSec),
          f1,
        ),
        f2(s.p50),
        spread(ms.map((m) => m.p99Ms)),
        side.startsWith('front') ? `${f2(s.cpu)} (${f2(s.vodcloudCores)})` : f2(s.cpu),
        test === 'segment' ? f2(s.cpuPerGiB) : '',
        f1(s.cpuUsPerRequest),
        side === 'nginx' ? '' : spread(s.rpsRatio),
        side === 'nginx' ? '' : spread(s.p99Ratio),
        side === 'nginx' ? '' : fmtMB(s.rss),
      ]);
      if (side === 'nginx' || ms.length === 0) continue;
      if (test === 'segment') {
        const [r, p] = [median(s.rpsRatio), median(s.p99Ratio)];
        const pass = r >= SEGMENT_RATIO_GOAL && p <= SEGMENT_P99_GOAL;
        verdicts.push(
          `segment ${LABEL[side]}: ${f2(r)}× nginx static req/s (goal ≥ ${SEGMENT_RATIO_GOAL}×), p99 ${f2(p)}× nginx's (goal ≤ ${SEGMENT_P99_GOAL}×) ${pass ? 'PASS' : 'MISS'}; rounds ${spread(s.rpsRatio)}× req/s`,
        );
      } else {
        const worst = Math.max(...ms.map((m) => m.p99Ms));
        verdicts.push(
          `playlist ${LABEL[side]} p99 at c=${o.conns.playlist}: ${f2(s.p99)} ms (goal ≤ ${PLAYLIST_P99_GOAL_MS} ms) ${s.p99 <= PLAYLIST_P99_GOAL_MS ? 'PASS' : 'MISS'}; worst round ${f2(worst)} ms`,
        );
      }
    }
  }
  console.log(
    '\nmedians over rounds [min–max of the rounds]; ratios per round against that round’s nginx static:',
  );
  printTable(
    [
      'test / server',
      'req/s',
      'p50 ms',
      'p99 ms',
      'server CPU cores (vodcloud)',
      'CPU s/GiB',
      'CPU µs/req',
      '× nginx req/s',
      '× nginx p99',
      'vodcloud RSS',
    ],
    rows,
  );
  console.log('');
  for (const line of verdicts) console.log(line);
  return { summary, verdicts };
}

async function printProfile(profileDir: string) {
  const files = await readdir(profileDir).catch(() => [] as string[]);
  const sized = await Promise.all(
    files.map(async (f) => ({ f, size: (await stat(path.join(profileDir, f))).size })),
  );
  const biggest = sized.sort((a, b) => b.size - a.size)[0];
  if (!biggest) {
    console.log(`no CPU profile found in ${profileDir}`);
    return undefined;
  }
  const p = path.join(profileDir, biggest.f);
  const profile = await summarizeCpuProfile(p, REPO_ROOT, 25);
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
  return profile;
}
