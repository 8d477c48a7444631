// `npm run bench -- console`: the web console's weight and the library's time to interactive.
//
// 1. Bundle sizes of the built console (apps/console/dist): the initial JavaScript a first visit loads (the
//    shell and the sign-in page, budget 250 KiB gzipped) and every lazily loaded chunk, raw and gzipped.
// 2. Time to interactive of the library, in Debian's Chromium against `vodcloud serve` (its own process,
//    embedded defaults): a tenant with --videos (default 1000) videos vs, side by side in the same run, a
//    tenant with 25 (one page: the reference). Each round opens the library in a fresh browser context
//    with a session cookie (signed in through POST /v1/sessions) and reads, from the page's own clocks:
//    - rows: navigation start → the page's 25 rows are in the DOM;
//    - TTI: the later of `rows` and the end of the last long task (≥ 50 ms, PerformanceObserver) before a
//      quiet window of 500 ms (Lighthouse's definition, simplified: no network-quiet condition).
//    The videos are made with POST /v1/uploads (each a video awaiting its bytes): the library lists them
//    like any other; no transcoding is needed to fill it.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium } from 'playwright-core';
import { buildConsole, CONSOLE_DIST, consoleInitialJs, consoleStale } from '../scripts/build';
import { printTable, writeResults } from './lib/report';
import { median } from './lib/stats';
import { REPO_ROOT, startVodcloud, type VodcloudProcess } from './lib/vodcloud';

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const PASSWORD = 'bench password 1234';

function bundleSizes() {
  const initial = consoleInitialJs();
  const html = readFileSync(path.join(CONSOLE_DIST, 'index.html'), 'utf8');
  const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="\/([^"]+)"/g)].map((m) => m[1]!);
  const initialFiles = new Set([...initial.files.map((f) => f.file.replace(/^\//, '')), ...styles]);
  const dir = path.join(CONSOLE_DIST, 'assets');
  const rows = readdirSync(dir)
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .map((f) => {
      const bytes = readFileSync(path.join(dir, f));
      return {
        file: `assets/${f}`,
        raw: bytes.length,
        gzip: gzipSync(bytes).length,
        initial: initialFiles.has(`assets/${f}`),
      };
    })
    .sort((a, b) => Number(b.initial) - Number(a.initial) || b.gzip - a.gzip);
  return { initialGzip: initial.gzip, rows };
}

function cli(server: VodcloudProcess, args: string[], stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'apps/server/bin/vodcloud.js'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, VOD_DATA_DIR: server.dataDir, VOD_LOG_LEVEL: 'warn' } },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
    child.stdin!.end(stdin);
  });
}

/** A tenant with `videos` videos and an owner; returns the owner's session cookie. */
async function tenantWith(server: VodcloudProcess, name: string, videos: number): Promise<string> {
  const tenant = await server.api<{ id: string }>('POST', '/v1/tenants', server.adminKey, { name });
  const { key } = await server.api<{ key: string }>(
    'POST',
    `/v1/tenants/${tenant.id}/api-keys`,
    server.adminKey,
    { name: 'bench', scopes: ['read', 'write'] },
  );
  const email = `owner@${name}.bench`;
  await cli(
    server,
    ['users', 'create', '--tenant', tenant.id, '--email', email, '--role', 'owner', '--password-stdin'],
    `${PASSWORD}\n`,
  );
  for (let i = 0; i < videos; i += 20)
    await Promise.all(
      Array.from({ length: Math.min(20, videos - i) }, (_, j) =>
        server.api('POST', '/v1/uploads', key, { title: `Video ${String(i + j + 1).padStart(4, '0')}` }),
      ),
    );
  const res = await fetch(`${server.url}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  const cookie = /vod_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error('no session cookie');
  return cookie;
}

interface Round {
  rowsMs: number;
  ttiMs: number;
  longTasks: number;
}

async function openLibrary(browser: Browser, server: VodcloudProcess, cookie: string): Promise<Round> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  await context.addCookies([{ name: 'vod_session', value: cookie, url: server.url }]);
  await context.addInitScript(() => {
    const w = window as unknown as { longTasks: Array<{ start: number; end: number }> };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        w.longTasks.push({ start: e.startTime, end: e.startTime + e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  const page = await context.newPage();
  await page.goto(`${server.url}/library`);
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length >= 25, null, {
    timeout: 30_000,
    polling: 'raf',
  });
  const rowsMs = await page.evaluate(() => performance.now());
  // Quiet window: no long task for 500 ms after the rows.
  await page.waitForTimeout(1000);
  const tasks = await page.evaluate(
    () => (window as unknown as { longTasks: Array<{ start: number; end: number }> }).longTasks,
  );
  await context.close();
  const lastBusy = tasks.reduce((m, t) => Math.max(m, t.end), 0);
  return { rowsMs, ttiMs: Math.max(rowsMs, lastBusy), longTasks: tasks.length };
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    console.log(
      'usage: npm run bench -- console [--videos 1000] [--rounds 7]   (builds the console when stale)',
    );
    return;
  }
  const opt = (name: string, dflt: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const videos = opt('--videos', 1000);
  const rounds = opt('--rounds', 7);
  if (consoleStale()) console.log(await buildConsole());

  const sizes = bundleSizes();
  console.log(`\nconsole bundle (apps/console/dist), gzip level 6:`);
  printTable(
    ['file', 'raw', 'gzip', 'loaded'],
    sizes.rows.map((r) => [r.file, kib(r.raw), kib(r.gzip), r.initial ? 'first visit' : 'lazily']),
  );
  console.log(`initial JS: ${kib(sizes.initialGzip)} gzipped (budget 250.0 KiB)`);

  const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-console-'));
  const server = await startVodcloud({ dataDir });
  const browser = await chromium.launch({
    executablePath: process.env.VOD_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const t0 = Date.now();
    const big = await tenantWith(server, 'big', videos);
    const small = await tenantWith(server, 'small', 25);
    console.log(`\nmade ${videos} + 25 videos in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // One warm-up each (Chromium's caches, the server's first queries), then alternate.
    await openLibrary(browser, server, big);
    await openLibrary(browser, server, small);
    const results: Record<'big' | 'small', Round[]> = { big: [], small: [] };
    for (let i = 0; i < rounds; i++) {
      results.big.push(await openLibrary(browser, server, big));
      results.small.push(await openLibrary(browser, server, small));
    }
    const row = (label: string, rs: Round[]) => [
      label,
      `${median(rs.map((r) => r.rowsMs)).toFixed(0)} ms`,
      `${median(rs.map((r) => r.ttiMs)).toFixed(0)} ms`,
      `${Math.min(...rs.map((r) => r.ttiMs)).toFixed(0)}–${Math.max(...rs.map((r) => r.ttiMs)).toFixed(0)} ms`,
      String(median(rs.map((r) => r.longTasks))),
    ];
    console.log(`\nlibrary at 1366×768, ${rounds} rounds, medians:`);
    printTable(
      ['tenant', 'rows shown', 'TTI', 'TTI spread', 'long tasks'],
      [row(`${videos} videos`, results.big), row('25 videos (reference)', results.small)],
    );
    const ratio =
      median(results.big.map((r) => r.ttiMs)) / Math.max(1, median(results.small.map((r) => r.ttiMs)));
    console.log(`TTI ratio ${videos} / 25 videos: ${ratio.toFixed(2)}×`);
    console.log(`results: ${await writeResults('console', { videos, rounds, sizes, results, ratio })}`);
  } finally {
    await browser.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
