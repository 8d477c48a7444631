// `npm run bench -- upload`: uploads one large random file to vodcloud with tus-js-client and to nginx WebDAV
// with `curl -T`, alternating, and reports throughput, the ratio, the server's peak RSS and the finalize time.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createUpload } from '@vodcloud/upload';
import { Upload } from 'tus-js-client';
import { startBareNode } from './lib/bare-node';
import { summarizeCpuProfile } from './lib/cpuprofile';
import { startNginx } from './lib/nginx';
import { RssSampler, readCpuSeconds, readMachineBusySeconds, run, sleep } from './lib/proc';
import { printTable, ratioLine, removeRunDir, writeResults } from './lib/report';
import { fmtMB, fmtSec, MiB, median, mibPerSec, p95 } from './lib/stats';
import { createTenantKey, REPO_ROOT, startVodcloud, type VodcloudProcess } from './lib/vodcloud';

const THROUGHPUT_GOAL = 0.8;
/** Issue 21 goal 3: the server's peak RSS while uploading (and flat with the file size: --flat-mib). */
const RSS_GOAL_BYTES = 150e6;

const HELP = `usage: npm run bench -- upload [options]
  --runs N              A/B rounds (default 3)
  --size-mib N          size of the main file in MiB (default 1024)
  --flat-mib N          size of the second file whose upload shows RSS does not grow with size (default 256; 0 = skip)
  --chunk-mib N         tus chunk size of the main variant in MiB (default 50, as the SDK)
  --extra-chunk-mib L   more tus chunk sizes to compare, comma-separated MiB (e.g. 1,8), for profiling
  --work-dir DIR        where the random files and the run's data go (default /tmp/vodcloud-bench)
  --curl-tus            also upload to vodcloud with curl (one tus PATCH), to separate server from client cost
  --build               run the server from the production build (dist/vodcloud.js, as the container image does;
                        \`npm run build\` first) instead of the sources through tsx (as \`npm start\` does)
  --settle-sec S        wait this long after the server started before its RSS is read and the uploads begin
                        (default 1; V8 shrinks what start-up left within ~10 s of idle, see bench footprint)
  --bare-node           also upload with curl -T to the simplest Node server (a PUT piped to a file): what
                        Node's HTTP server itself costs, as a floor for ours
  --cpu-prof            run the server with --cpu-prof and print where its CPU time went
  --keep                keep the run's data directory (server log, nginx log) afterwards`;

interface Created {
  id: string;
  videoId: string;
  url: string;
  headers: Record<string, string>;
}

interface Measurement {
  variant: string;
  round: number;
  bytes: number;
  ms: number;
  mibPerSec: number;
  /** CPU seconds of the receiving server (vodcloud process, or all nginx workers) during the transfer. */
  serverCpuSec: number;
  /** CPU seconds of the sending side (this process for tus-js-client; not measured for curl). */
  clientCpuSec?: number;
  requests?: number;
  /** CPU seconds used on this machine by everything else (other processes) during the transfer. */
  otherCpuSec?: number;
  peakRssBytes?: number;
  finalize?: FinalizeTiming;
}

interface FinalizeTiming {
  /** onSuccess → the source object's data file is in place with the full size (published by rename). */
  publishedMs: number;
  /** onSuccess → the tus file under uploads/ is removed too (the job's last file-system step). */
  tusFileRemovedMs: number;
  videoStatus: string;
  videoSizeBytes: number | null;
  peakRssBytes: number;
}

interface Variant {
  name: string;
  /** tus: tus-js-client as it comes; sdk: @vodcloud/upload (tus-js-client with its Node file reader). */
  kind: 'tus' | 'sdk' | 'curl-tus' | 'bare-node' | 'nginx';
  chunkSize?: number;
}

function chunkLabel(bytes: number): string {
  return Number.isFinite(bytes) ? `${bytes / MiB} MiB` : 'Infinity';
}

/** Creates `file` with `bytes` random bytes unless it already has that size. */
async function ensureRandomFile(file: string, bytes: number): Promise<'reused' | 'created'> {
  const st = await stat(file).catch(() => undefined);
  if (st?.size === bytes) return 'reused';
  await mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  const block = 8 * MiB;
  for (let written = 0; written < bytes; written += block) {
    if (!out.write(randomBytes(Math.min(block, bytes - written))))
      await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
  await rename(partial, file);
  return 'created';
}

function tusUpload(
  file: string,
  created: Created,
  chunkSize: number,
): Promise<{ ms: number; requests: number; successAt: number }> {
  return new Promise((resolve, reject) => {
    let first: number | undefined;
    let requests = 0;
    const upload = new Upload(createReadStream(file), {
      endpoint: created.url,
      headers: created.headers,
      chunkSize,
      metadata: { filename: path.basename(file), filetype: 'application/octet-stream' },
      retryDelays: null, // a failed request fails the run instead of being hidden in the time
      storeFingerprintForResuming: false,
      onBeforeRequest: () => {
        requests++;
        first ??= performance.now();
      },
      onSuccess: () => {
        const now = performance.now();
        resolve({ ms: now - (first ?? now), requests, successAt: now });
      },
      onError: reject,
    });
    upload.start();
  });
}

/** The same upload through @vodcloud/upload (tus-js-client with the SDK's Node file reader: larger reads). */
async function sdkUpload(
  file: string,
  created: Created,
  chunkSize: number,
): Promise<{ ms: number; successAt: number }> {
  const t0 = performance.now();
  const upload = createUpload(file, {
    upload: created,
    chunkSize: Number.isFinite(chunkSize) ? chunkSize : Number.MAX_SAFE_INTEGER,
    retryDelays: null, // a failed request fails the run instead of being hidden in the time
    urlStorage: false,
  });
  await upload.start();
  const now = performance.now();
  return { ms: now - t0, successAt: now };
}

/** The server's own view of its memory (prom-client's Node.js metrics on GET /metrics, unprefixed). */
async function memoryBreakdown(server: VodcloudProcess): Promise<string> {
  const text = await fetch(`${server.url}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const metric = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? fmtMB(Number(m[1])) : '?';
  };
  return `V8 heap total ${metric('nodejs_heap_size_total_bytes')} (used ${metric('nodejs_heap_size_used_bytes')}), external ${metric('nodejs_external_memory_bytes')}`;
}

/** Runs curl under /usr/bin/time; returns the HTTP status, the wall time and curl's own CPU seconds. */
async function timedCurl(args: string[]): Promise<{ status: string; ms: number; cpuSec: number }> {
  const start = performance.now();
  const r = await run('/usr/bin/time', [
    '-f',
    'cpu %U %S',
    'curl',
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    ...args,
  ]);
  const ms = performance.now() - start;
  if (r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.stdout} ${r.stderr}`);
  const m = /cpu (\S+) (\S+)\s*$/.exec(r.stderr);
  return { status: r.stdout.trim(), ms, cpuSec: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

/** The same upload as tusUpload but sent by curl: a tus creation POST, then one PATCH with the whole file. */
async function curlTusUpload(
  file: string,
  bytes: number,
  created: Created,
): Promise<{ ms: number; requests: number; successAt: number; clientCpuSec: number }> {
  const start = performance.now();
  const res = await fetch(created.url, {
    method: 'POST',
    headers: {
      ...created.headers,
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(bytes),
      'Upload-Metadata': `filename ${Buffer.from(path.basename(file)).toString('base64')}`,
    },
  });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 201 || !location) throw new Error(`tus creation answered ${res.status}`);
  const headers = Object.entries(created.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const r = await timedCurl([
    '-X',
    'PATCH',
    '-T',
    file,
    ...headers,
    '-H',
    'Tus-Resumable: 1.0.0',
    '-H',
    'Upload-Offset: 0',
    '-H',
    'Content-Type: application/offset+octet-stream',
    new URL(location, created.url).href,
  ]);
  if (r.status !== '204') throw new Error(`tus PATCH by curl answered ${r.status}`);
  const now = performance.now();
  return { ms: now - start, requests: 2, successAt: now, clientCpuSec: r.cpuSec };
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      'size-mib': { type: 'string', default: '1024' },
      'flat-mib': { type: 'string', default: '256' },
      'chunk-mib': { type: 'string', default: '50' },
      'extra-chunk-mib': { type: 'string', default: '' },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      'curl-tus': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'bare-node': { type: 'boolean', default: false },
      'settle-sec': { type: 'string', default: '1' },
      build: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const positive = (name: string, v: string, allowZero = false) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
      throw new Error(`--${name} must be a number > 0`);
    return n;
  };
  const runs = Math.floor(positive('runs', values.runs));
  const sizeBytes = Math.floor(positive('size-mib', values['size-mib']) * MiB);
  const flatBytes = Math.floor(positive('flat-mib', values['flat-mib'], true) * MiB);
  const variants: Variant[] = [
    {
      name: `vodcloud tus, chunk ${values['chunk-mib']} MiB`,
      kind: 'tus',
      chunkSize: positive('chunk-mib', values['chunk-mib']) * MiB,
    },
    { name: 'vodcloud tus, chunk Infinity', kind: 'tus', chunkSize: Number.POSITIVE_INFINITY },
    {
      name: `@vodcloud/upload, chunk ${values['chunk-mib']} MiB`,
      kind: 'sdk',
      chunkSize: positive('chunk-mib', values['chunk-mib']) * MiB,
    },
    { name: '@vodcloud/upload, chunk Infinity', kind: 'sdk', chunkSize: Number.POSITIVE_INFINITY },
    ...values['extra-chunk-mib']
      .split(',')
      .filter(Boolean)
      .map(
        (c): Variant => ({
          name: `vodcloud tus, chunk ${c} MiB`,
          kind: 'tus',
          chunkSize: positive('extra-chunk-mib', c) * MiB,
        }),
      ),
    ...(values['curl-tus'] ? [{ name: 'vodcloud tus, curl PATCH', kind: 'curl-tus' } as Variant] : []),
    ...(values['bare-node'] ? [{ name: 'bare Node http, curl -T', kind: 'bare-node' } as Variant] : []),
    { name: 'nginx WebDAV, curl -T', kind: 'nginx' },
  ];

  const workDir = path.resolve(values['work-dir']);
  const mainFile = path.join(workDir, `random-${sizeBytes / MiB}MiB.bin`);
  const flatFile = path.join(workDir, `random-${flatBytes / MiB}MiB.bin`);
  const t0 = performance.now();
  const how = await ensureRandomFile(mainFile, sizeBytes);
  console.log(`source file ${mainFile}: ${how} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  if (flatBytes) console.log(`source file ${flatFile}: ${await ensureRandomFile(flatFile, flatBytes)}`);

  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(workDir, `run-${stamp}`);
  const [nginxVersion, curlVersion] = await Promise.all([
    run('nginx', ['-v']).then((r) => r.stderr.trim()),
    run('curl', ['--version']).then((r) => r.stdout.split('\n')[0] ?? ''),
  ]);
  console.log(
    `${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ${nginxVersion}, ${curlVersion.split(' ').slice(0, 2).join(' ')}`,
  );
  console.log(
    `run directory ${runDir} (vodcloud data, nginx temp, WebDAV root: same file system as the source)`,
  );

  const profileDir = path.join(workDir, 'profiles', stamp);
  const server = await startVodcloud({
    dataDir: path.join(runDir, 'vodcloud'),
    build: values.build,
    nodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : undefined,
  });
  const nginx = await startNginx(path.join(runDir, 'nginx'));
  const bare = values['bare-node'] ? await startBareNode(path.join(runDir, 'bare-node')) : undefined;
  const bareRss = bare ? new RssSampler(() => [bare.pid]) : undefined;
  const serverRss = new RssSampler(() => [server.pid]);
  const nginxRss = new RssSampler(() => [nginx.pid, ...nginx.workerPids()]);
  const measurements: Measurement[] = [];
  let flat: Measurement | undefined;
  let endMemory = '';
  let idleRss = 0;
  let bareIdleRss = 0;
  try {
    const { tenantId, key } = await createTenantKey(server, 'bench');
    // A server up for a while has let V8 shrink what its start-up left (--settle-sec 20 measures that one).
    await sleep(positive('settle-sec', values['settle-sec']) * 1000);
    idleRss = serverRss.sample();
    bareIdleRss = bareRss?.sample() ?? 0;
    const idleMemory = await memoryBreakdown(server);
    console.log(
      `vodcloud ${server.url} (pid ${server.pid}, ${values.build ? 'production build' : 'sources through tsx'}), RSS ${values['settle-sec']} s after start ${fmtMB(idleRss)} (${idleMemory}); nginx ${nginx.url} (master pid ${nginx.pid}, workers ${nginx.workerPids().join(',')})\n`,
    );

    const objectFile = (videoId: string) =>
      path.join(server.dataDir, 'objects', 'objects', tenantId, videoId, 'source%o');
    const tusFile = (videoId: string) => path.join(server.dataDir, 'uploads', tenantId, videoId, 'source');

    const waitForFinalize = async (
      created: Created,
      bytes: number,
      successAt: number,
    ): Promise<FinalizeTiming> => {
      serverRss.begin('finalize');
      let publishedMs: number | undefined;
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        const now = performance.now();
        if (publishedMs === undefined) {
          const st = await stat(objectFile(created.videoId)).catch(() => undefined);
          if (st?.size === bytes) publishedMs = now - successAt;
        }
        if (publishedMs !== undefined) {
          const gone = await stat(tusFile(created.videoId)).then(
            () => false,
            () => true,
          );
          if (gone) {
            const rss = serverRss.end();
            const video = await server.api<{ status: string; sizeBytes: number | null }>(
              'GET',
              `/v1/videos/${created.videoId}`,
              key,
            );
            return {
              publishedMs,
              tusFileRemovedMs: now - successAt,
              videoStatus: video.status,
              videoSizeBytes: video.sizeBytes,
              peakRssBytes: rss.peakBytes,
            };
          }
        }
        if (Date.now() > deadline)
          throw new Error(`finalize of video ${created.videoId} did not finish in 10 min`);
        await sleep(20);
      }
    };

    /** Uploads with tus-js-client (in this process) or with curl (one PATCH); then waits for finalize. */
    const runTus = async (
      file: string,
      bytes: number,
      variant: Variant,
      round: number,
    ): Promise<Measurement> => {
      const created = await server.api<Created>('POST', '/v1/uploads', key, {});
      const cpu0 = readCpuSeconds(server.pid) ?? 0;
      const client0 = process.cpuUsage();
      const busy0 = readMachineBusySeconds();
      serverRss.begin(variant.name);
      const res: { ms: number; requests?: number; successAt: number; clientCpuSec?: number } =
        variant.kind === 'curl-tus'
          ? await curlTusUpload(file, bytes, created)
          : variant.kind === 'sdk'
            ? await sdkUpload(file, created, variant.chunkSize!)
            : await tusUpload(file, created, variant.chunkSize!);
      const rss = serverRss.end();
      const client = process.cpuUsage(client0);
      const cpu = (readCpuSeconds(server.pid) ?? 0) - cpu0;
      const busy = readMachineBusySeconds() - busy0;
      const clientCpuSec = res.clientCpuSec ?? (client.user + client.system) / 1e6;
      const finalize = await waitForFinalize(created, bytes, res.successAt);
      // Remove the outputs so the disk does not fill; the database rows stay (they are small).
      await rm(path.dirname(objectFile(created.videoId)), { recursive: true, force: true });
      await rm(path.dirname(tusFile(created.videoId)), { recursive: true, force: true });
      return {
        variant: variant.name,
        round,
        bytes,
        ms: res.ms,
        mibPerSec: mibPerSec(bytes, res.ms),
        serverCpuSec: cpu,
        clientCpuSec,
        otherCpuSec: Math.max(0, busy - cpu - clientCpuSec),
        requests: res.requests,
        peakRssBytes: rss.peakBytes,
        finalize,
      };
    };

    /** Where a plain `curl -T` goes: nginx's WebDAV, or the bare Node server. */
    interface PutTarget {
      label: string;
      putUrl(name: string): string;
      /** The file a PUT of `name` lands in. */
      stored(name: string): string;
      /** The processes whose CPU is the server's (nginx: its workers). */
      cpuPids: number[];
      rss: RssSampler;
    }
    const nginxTarget: PutTarget = {
      label: 'nginx',
      putUrl: (name) => `${nginx.url}/dav/${name}`,
      stored: (name) => path.join(nginx.davDir, name),
      cpuPids: nginx.workerPids(),
      rss: nginxRss,
    };
    const bareTarget: PutTarget | undefined = bare && {
      label: 'the bare Node server',
      putUrl: (name) => `${bare.url}/${name}`,
      stored: (name) => path.join(bare.dir, name),
      cpuPids: [bare.pid],
      rss: bareRss!,
    };

    const runCurl = async (
      target: PutTarget,
      file: string,
      bytes: number,
      variant: Variant,
      round: number,
    ): Promise<Measurement> => {
      const name = `file-${round}`;
      const cpuOf = () => target.cpuPids.reduce((s, pid) => s + (readCpuSeconds(pid) ?? 0), 0);
      const cpu0 = cpuOf();
      const busy0 = readMachineBusySeconds();
      target.rss.begin(variant.name);
      const r = await timedCurl(['-T', file, target.putUrl(name)]);
      const rss = target.rss.end();
      const cpu = cpuOf() - cpu0;
      const busy = readMachineBusySeconds() - busy0;
      if (!/^20[14]$/.test(r.status)) throw new Error(`curl PUT to ${target.label} answered ${r.status}`);
      const st = await stat(target.stored(name));
      if (st.size !== bytes) throw new Error(`${target.label} stored ${st.size} bytes, expected ${bytes}`);
      await rm(target.stored(name), { force: true });
      return {
        variant: variant.name,
        round,
        bytes,
        ms: r.ms,
        mibPerSec: mibPerSec(bytes, r.ms),
        serverCpuSec: cpu,
        clientCpuSec: r.cpuSec,
        otherCpuSec: Math.max(0, busy - cpu - r.cpuSec),
        peakRssBytes: rss.peakBytes,
      };
    };

    const measure = (file: string, bytes: number, v: Variant, round: number) =>
      v.kind === 'nginx'
        ? runCurl(nginxTarget, file, bytes, v, round)
        : v.kind === 'bare-node'
          ? runCurl(bareTarget!, file, bytes, v, round)
          : runTus(file, bytes, v, round);

    // Warm-up for both sides (JIT, connections, directories), and the RSS figure for the smaller file.
    if (flatBytes) {
      flat = await runTus(flatFile, flatBytes, variants[0]!, 0);
      console.log(
        `warm-up/flat: ${flatBytes / MiB} MiB via tus ${chunkLabel(variants[0]!.chunkSize!)} in ${fmtSec(flat.ms)}, server peak RSS ${fmtMB(flat.peakRssBytes!)}`,
      );
      await runCurl(nginxTarget, flatFile, flatBytes, variants.at(-1)!, 0);
    }

    for (let round = 1; round <= runs; round++) {
      // Rotate the order every round so no variant always runs first (or right after another's writeback).
      const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
      for (const v of order) {
        await run('sync', []);
        const m = await measure(mainFile, sizeBytes, v, round);
        measurements.push(m);
        const fin = m.finalize
          ? `; finalize: object in place +${fmtSec(m.finalize.publishedMs)}, tus file removed +${fmtSec(m.finalize.tusFileRemovedMs)}`
          : '';
        console.log(
          `round ${round}  ${v.name.padEnd(32)} ${fmtSec(m.ms).padStart(8)}  ${m.mibPerSec.toFixed(1).padStart(6)} MiB/s  server CPU ${m.serverCpuSec.toFixed(2)} s, client ${(m.clientCpuSec ?? 0).toFixed(2)} s, other processes ${(m.otherCpuSec ?? 0).toFixed(2)} s${m.requests ? `  ${m.requests} requests` : ''}${fin}`,
        );
      }
    }
    endMemory = await memoryBreakdown(server);
  } finally {
    serverRss.stop();
    nginxRss.stop();
    bareRss?.stop();
    await Promise.allSettled([server.stop(), nginx.stop(), bare?.stop()]);
    if (!values.keep) await removeRunDir(runDir);
  }

  // ---- summary ----
  const byVariant = variants.map((v) => ({ v, ms: measurements.filter((m) => m.variant === v.name) }));
  const medianMibps = (name: string) =>
    median(measurements.filter((m) => m.variant === name).map((m) => m.mibPerSec));
  const nginxName = variants.at(-1)!.name;
  const nginxMibps = medianMibps(nginxName);
  console.log(
    `\nupload of ${sizeBytes / MiB} MiB, ${runs} rounds (times per round; medians)\n` +
      `CPU columns: user+sys seconds over the transfer's wall time, in % of one core (this machine has ${os.cpus().length}):\n` +
      `server = vodcloud process or nginx workers, client = tus-js-client (this process) or curl, other = every other process\n` +
      `load average at the end ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  printTable(
    [
      'variant',
      ...Array.from({ length: runs }, (_, i) => `round ${i + 1}`),
      'median',
      'p95',
      'median MiB/s',
      'server CPU',
      'client CPU',
      'other CPU',
      'vs nginx',
    ],
    byVariant.map(({ v, ms }) => {
      const times = ms.map((m) => m.ms);
      const cpuPct = median(ms.map((m) => (m.serverCpuSec / (m.ms / 1000)) * 100));
      const pct = (f: (m: Measurement) => number | undefined) =>
        `${median(ms.map((m) => ((f(m) ?? Number.NaN) / (m.ms / 1000)) * 100)).toFixed(0)}%`;
      return [
        v.name,
        ...times.map(fmtSec),
        fmtSec(median(times)),
        fmtSec(p95(times)),
        medianMibps(v.name).toFixed(1),
        `${cpuPct.toFixed(0)}%`,
        pct((m) => m.clientCpuSec),
        pct((m) => m.otherCpuSec),
        `${(medianMibps(v.name) / nginxMibps).toFixed(2)}×`,
      ];
    }),
  );
  console.log('');
  const ratios: Record<string, number> = {};
  for (const v of variants.filter((x) => x.kind !== 'nginx')) {
    ratios[v.name] = medianMibps(v.name) / nginxMibps;
    console.log(ratioLine(`throughput ${v.name} / nginx`, ratios[v.name]!, THROUGHPUT_GOAL));
  }

  const tusRuns = measurements.filter((m) => m.finalize);
  const peakMain = Math.max(...tusRuns.map((m) => m.peakRssBytes ?? 0));
  const peakFinalize = Math.max(
    ...tusRuns.map((m) => m.finalize!.peakRssBytes),
    flat?.finalize?.peakRssBytes ?? 0,
  );
  const rssLine = (label: string, bytes: number) =>
    `${label}: ${fmtMB(bytes)}, ${fmtMB(bytes - idleRss)} above the RSS after start (goal < ${fmtMB(RSS_GOAL_BYTES)}) ${bytes < RSS_GOAL_BYTES ? 'PASS' : 'MISS'}`;
  console.log('');
  if (flat)
    console.log(
      rssLine(
        `vodcloud peak RSS during the ${flatBytes / MiB} MiB upload (warm-up, first upload)`,
        flat.peakRssBytes!,
      ),
    );
  console.log(
    rssLine(`vodcloud peak RSS during the ${sizeBytes / MiB} MiB uploads (all tus variants)`, peakMain),
  );
  for (const v of variants.filter((x) => x.kind !== 'nginx' && x.kind !== 'bare-node')) {
    const peaks = tusRuns.filter((m) => m.variant === v.name).map((m) => fmtMB(m.peakRssBytes!));
    console.log(`  ${v.name}: per round ${peaks.join(', ')}`);
  }
  console.log(rssLine('vodcloud peak RSS during the finalize jobs', peakFinalize));
  console.log(`vodcloud memory at the end, by its /metrics: ${endMemory}`);
  const bareRuns = measurements.filter((m) => m.variant === 'bare Node http, curl -T');
  if (bareRuns.length)
    console.log(
      `bare Node http peak RSS during curl uploads: ${fmtMB(Math.max(...bareRuns.map((m) => m.peakRssBytes ?? 0)))} (per round ${bareRuns.map((m) => fmtMB(m.peakRssBytes ?? 0)).join(', ')}), ${fmtMB(bareIdleRss)} before`,
    );
  console.log(
    `nginx (master + workers) peak RSS during curl uploads: ${fmtMB(Math.max(...measurements.filter((m) => m.variant === nginxName).map((m) => m.peakRssBytes ?? 0)))}`,
  );

  const pub = tusRuns.map((m) => m.finalize!.publishedMs);
  const removed = tusRuns.map((m) => m.finalize!.tusFileRemovedMs);
  const statuses = [
    ...new Set(tusRuns.map((m) => `${m.finalize!.videoStatus}/${m.finalize!.videoSizeBytes}`)),
  ];
  console.log(
    `\nfinalize (upload.finalize job, ${tusRuns.length} uploads of ${sizeBytes / MiB} MiB), measured from onSuccess by polling the data dir every 20 ms:\n` +
      `  source object in place (objects/objects/<tenant>/<video>/source%o at full size): median ${fmtSec(median(pub))}, p95 ${fmtSec(p95(pub))} (${mibPerSec(sizeBytes, median(pub)).toFixed(0)} MiB/s)\n` +
      `  tus file under uploads/ removed as well (job done with the files):             median ${fmtSec(median(removed))}, p95 ${fmtSec(p95(removed))}\n` +
      `  GET /v1/videos/{id} then: status/sizeBytes = ${statuses.join(', ')}`,
  );

  let profile: Awaited<ReturnType<typeof summarizeCpuProfile>> | undefined;
  if (values['cpu-prof']) {
    // One profile per thread (tsx's loader hooks run on their own thread): the main thread's is the largest.
    const files = await readdir(profileDir).catch(() => [] as string[]);
    const sized = await Promise.all(
      files.map(async (f) => ({ f, size: (await stat(path.join(profileDir, f))).size })),
    );
    const main = sized.sort((a, b) => b.size - a.size)[0];
    if (main) {
      const p = path.join(profileDir, main.f);
      profile = await summarizeCpuProfile(p, REPO_ROOT);
      console.log(
        `\nserver CPU profile ${p} (whole server run incl. start and finalize jobs; ${(profile.totalMs / 1000).toFixed(1)} s sampled):`,
      );
      printTable(
        ['self time by package/module', 'ms', '%'],
        profile.groups.map((g) => [g.group, g.ms.toFixed(0), ((g.ms / profile!.totalMs) * 100).toFixed(1)]),
      );
      console.log('');
      printTable(
        ['self time by function', 'where', 'ms'],
        profile.functions.map((f) => [f.name, f.where, f.ms.toFixed(0)]),
      );
    } else console.log(`no CPU profile found in ${profileDir}`);
  }

  const file = await writeResults('upload', {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      totalMemBytes: os.totalmem(),
      node: process.version,
      nginxVersion,
      curlVersion,
    },
    options: { runs, sizeBytes, flatBytes, variants, server: values.build ? 'build' : 'tsx' },
    goals: { throughputRatio: THROUGHPUT_GOAL, rssBytes: RSS_GOAL_BYTES },
    medianMibPerSec: Object.fromEntries(variants.map((v) => [v.name, medianMibps(v.name)])),
    ratios,
    rss: {
      idleBytes: idleRss,
      flatPeakBytes: flat?.peakRssBytes,
      mainPeakBytes: peakMain,
      finalizePeakBytes: peakFinalize,
    },
    finalize: { medianPublishedMs: median(pub), medianTusFileRemovedMs: median(removed) },
    flat,
    measurements,
    profile,
  });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
