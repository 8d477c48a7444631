// `npm run bench -- seek`: a viewer seeks into a video that is still processing (issue 21).
//
// One vodcloud on the embedded defaults. Per round: an upload of a generated 60 s 1080p30 clip that must be
// re-encoded (HEVC, MPEG-2 without libx265; `--kind h264` for a web-ready one); as soon as the API says
// `playable`, headless Chromium plays it with hls.js at its defaults (adaptive bitrate free, as real players
// run it: nothing pinned), and once it plays, seeks to `--at` seconds. The figure is seek → playing: from
// setting currentTime to currentTime passing the target by 0.5 s. Idle rounds run alone (the previous video
// ready); backlog rounds first upload `--backlog-uploads` other clips back to back, so their ladders encode
// while the viewer seeks. Goals: median ≤ 3 s idle, ≤ 5 s under a backlog.

import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, type PageServer, type PlayerState, startPageServer } from '../test/support/browser';
import { ensureClip, tusUpload } from './lib/clips';
import { sleep } from './lib/proc';
import { printTable, writeResults } from './lib/report';
import { median } from './lib/stats';
import { createTenantKey, startVodcloud, type VodcloudProcess } from './lib/vodcloud';
import { codecOf, SERVER_ENV, type VideoView } from './playable';

const HELP = `usage: npm run bench -- seek [options]
  --runs N              rounds per mode (default 3)
  --modes LIST          idle,backlog (default both)
  --kind K              hevc (re-encode; MPEG-2 without libx265), mpeg2 or h264 (web-ready) (default hevc)
  --at S                seek target in seconds (default 41)
  --backlog-uploads N   uploads (web-ready clips) made back to back before a backlog round's video (default 2)
  --timeout S           a seek that has not played after this counts as failed (default 30)
  --trace               print the player's fragment requests and switches (always printed for a failed seek)
  --work-dir DIR        where clips are cached and the run's data goes (default /tmp/vodcloud-bench)`;

const GOAL_SEC = { idle: 3, backlog: 5 } as const;

interface SeekRound {
  mode: 'idle' | 'backlog';
  round: number;
  /** Seconds from setting currentTime to playback passing the target by 0.5 s; NaN = not within the timeout. */
  seekSec: number;
  /** The video's status when the seek started (should be processing). */
  statusAtSeek: string;
  startSec: number;
  hlsErrors: string[];
  levels: number[];
}

const vod = (page: Page) => page.evaluate(() => (window as unknown as { vod: PlayerState }).vod);
const currentTime = (page: Page) => page.evaluate(() => document.querySelector('video')!.currentTime);

async function upload(server: VodcloudProcess, key: string, file: string): Promise<string> {
  const created = await server.api<{ videoId: string; url: string; headers: Record<string, string> }>(
    'POST',
    '/v1/uploads',
    key,
    {},
  );
  await tusUpload(file, created);
  return created.videoId;
}

async function untilStatus(
  server: VodcloudProcess,
  key: string,
  id: string,
  done: (v: VideoView) => boolean,
  timeoutMs: number,
): Promise<VideoView> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await server.api<VideoView>('GET', `/v1/videos/${id}`, key);
    if (['errored', 'blocked'].includes(v.status)) throw new Error(`video ${id} ${v.status}`);
    if (done(v)) return v;
    if (performance.now() > end) throw new Error(`video ${id}: still ${v.status} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function seekRound(
  browser: Browser,
  pages: PageServer,
  server: VodcloudProcess,
  key: string,
  o: {
    mode: 'idle' | 'backlog';
    round: number;
    clip: string;
    filler: string;
    backlog: number;
    at: number;
    timeoutSec: number;
    trace: boolean;
  },
): Promise<SeekRound> {
  const others: string[] = [];
  if (o.mode === 'backlog')
    for (let i = 0; i < o.backlog; i++) others.push(await upload(server, key, o.filler));
  const id = await upload(server, key, o.clip);
  const t0 = performance.now();
  const v = await untilStatus(server, key, id, (x) => x.playable, 120_000);
  const page = await browser.newPage({ viewport: { width: 660, height: 400 } });
  try {
    await page.goto(pages.url);
    await page.evaluate(
      (u) => (window as unknown as { playHls(u: string): void }).playHls(u),
      v.playback.hlsUrl,
    );
    // The player's timeline (fragment requests, switches, errors), printed when a seek fails or with --trace.
    await page.evaluate(() => {
      const w = window as unknown as {
        hls: { on(e: string, f: (e: string, d: Record<string, unknown>) => void): void };
        Hls: { Events: Record<string, string> };
        trace: string[];
      };
      w.trace = [];
      const t0 = performance.now();
      const E = w.Hls.Events;
      for (const ev of [
        E.FRAG_LOADING,
        E.FRAG_LOADED,
        E.FRAG_LOAD_EMERGENCY_ABORTED,
        E.LEVEL_SWITCHING,
        E.ERROR,
      ])
        w.hls.on(ev!, (_e, d) => {
          const frag = d.frag as { level?: number; sn?: number; type?: string } | undefined;
          const where = frag
            ? ` ${frag.type} L${frag.level} #${frag.sn}`
            : d.level !== undefined
              ? ` L${d.level}`
              : '';
          w.trace.push(
            `${((performance.now() - t0) / 1000).toFixed(2)} ${ev}${where}${d.details ? ` ${d.details}` : ''}`,
          );
        });
    });
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, null, {
      timeout: 60_000,
      polling: 50,
    });
    const startSec = (performance.now() - t0) / 1000;
    const statusAtSeek = (await server.api<VideoView>('GET', `/v1/videos/${id}`, key)).status;
    const seekAt = performance.now();
    await page.evaluate((t) => {
      document.querySelector('video')!.currentTime = t;
    }, o.at);
    let seekSec = Number.NaN;
    try {
      await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t + 0.5, o.at, {
        timeout: o.timeoutSec * 1000,
        polling: 25,
      });
      seekSec = (performance.now() - seekAt) / 1000;
    } catch {
      console.log(
        `  seek to ${o.at} s did not play within ${o.timeoutSec} s (at ${await currentTime(page)} s)`,
      );
    }
    const st = await vod(page);
    if (o.trace || Number.isNaN(seekSec)) {
      const trace = await page.evaluate(() => (window as unknown as { trace: string[] }).trace);
      console.log(
        `  seek ${((seekAt - t0) / 1000 - startSec).toFixed(2)} s after playing started; player:\n    ${trace.join('\n    ')}`,
      );
    }
    return {
      mode: o.mode,
      round: o.round,
      seekSec,
      statusAtSeek,
      startSec,
      hlsErrors: st.errors.map((e) => `${e.details}${e.fatal ? ' (fatal)' : ''}`),
      levels: st.levelSwitched,
    };
  } finally {
    await page.close();
    // The next round starts on a machine without this round's work (idle), or with only its own backlog.
    for (const x of [...others, id]) await untilStatus(server, key, x, (w) => w.status === 'ready', 900_000);
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      modes: { type: 'string', default: 'idle,backlog' },
      kind: { type: 'string', default: 'hevc' },
      at: { type: 'string', default: '41' },
      'backlog-uploads': { type: 'string', default: '2' },
      timeout: { type: 'string', default: '30' },
      trace: { type: 'boolean', default: false },
      'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'vodcloud-bench') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const runs = Number(values.runs);
  const at = Number(values.at);
  const backlog = Number(values['backlog-uploads']);
  const timeoutSec = Number(values.timeout);
  const modes = values.modes.split(',').filter(Boolean) as Array<'idle' | 'backlog'>;
  if (!(runs >= 1) || !(at > 1 && at < 58) || !(backlog >= 1) || !(timeoutSec > 0))
    throw new Error('--runs ≥ 1, 1 < --at < 58, --backlog-uploads ≥ 1, --timeout > 0');
  if (modes.some((m) => !(m in GOAL_SEC))) throw new Error('--modes: idle, backlog');
  const workDir = path.resolve(values['work-dir']);
  const { codec, label } = await codecOf(values.kind);
  const clip = (await ensureClip(workDir, codec, 60)).file;
  const filler = (await ensureClip(workDir, 'h264', 60)).file;
  console.log(`${os.cpus().length} CPUs; ${label}, 60 s 1080p30; seek to ${at} s with hls.js defaults`);
  const server = await startVodcloud({
    dataDir: path.join(workDir, `seek-${Date.now()}`),
    env: SERVER_ENV,
  });
  const [pages, browser] = await Promise.all([startPageServer(), launchBrowser()]);
  const rounds: SeekRound[] = [];
  try {
    const { key } = await createTenantKey(server, 'bench-seek');
    for (const mode of modes)
      for (let round = 1; round <= runs; round++) {
        const r = await seekRound(browser, pages, server, key, {
          mode,
          round,
          clip,
          filler,
          backlog,
          at,
          timeoutSec,
          trace: values.trace,
        });
        rounds.push(r);
        console.log(
          `${mode.padEnd(7)} round ${round}: upload complete → playing ${r.startSec.toFixed(2)} s; seek to ${at} s (video ${r.statusAtSeek}) → playing ${Number.isNaN(r.seekSec) ? 'FAILED' : `${r.seekSec.toFixed(2)} s`}; levels ${JSON.stringify(r.levels)}; hls.js errors ${JSON.stringify(r.hlsErrors)}`,
        );
      }
  } finally {
    await browser.close();
    await pages.close();
    await server.stop();
  }
  const rows = modes.map((mode) => {
    const xs = rounds.filter((r) => r.mode === mode).map((r) => r.seekSec);
    const ok = xs.filter((x) => !Number.isNaN(x));
    const m = ok.length === xs.length ? median(ok) : Number.NaN;
    return [
      `${mode}: seek → playing`,
      `${ok.length}/${xs.length}`,
      Number.isNaN(m) ? 'failed' : m.toFixed(2),
      xs.map((x) => (Number.isNaN(x) ? '∞' : x.toFixed(2))).join(', '),
      `≤ ${GOAL_SEC[mode]} s`,
      m <= GOAL_SEC[mode] ? 'PASS' : 'MISS',
    ];
  });
  printTable(['figure', 'played', 'median', 'rounds', 'goal', ''], rows);
  const file = await writeResults('seek', { date: new Date().toISOString(), label, at, backlog, rounds });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
