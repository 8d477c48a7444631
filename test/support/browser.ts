// Real-browser helpers: headless Chromium via playwright-core, and a tiny static page server (its own
// origin, so requests to the vodcloud server are cross-origin) serving a player page with hls.js.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.VOD_CHROMIUM ?? '/usr/bin/chromium';
/** True when Debian's Chromium is installed; otherwise prints one SKIP line (or fails under VOD_TEST_REQUIRE_ENGINES=1). */
export const hasChromium = () => {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.VOD_TEST_REQUIRE_ENGINES === '1')
    throw new Error(`${CHROMIUM} is missing but VOD_TEST_REQUIRE_ENGINES=1 (apt-get install chromium)`);
  console.log(`SKIP browser playback tests: install Debian's chromium (${CHROMIUM})`);
  return false;
};

/** Headless Chromium (Debian's package; scripts/install-system-deps.sh installs it). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** What the page records in window.vod; tests read it with page.evaluate. */
export interface PlayerState {
  errors: Array<{
    type: string;
    details: string;
    fatal: boolean;
    url?: string;
    status?: number;
    reason?: string;
  }>;
  events: string[];
  levelSwitched: number[];
  mediaErrors: Array<{ code: number; message: string }>;
}

// The page: one muted <video>, and two entry points, playHls(url) (hls.js, MSE) and playMp4(url)
// (progressive, the browser's own Range requests). hls.js is exposed as window.hls.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>vodcloud player test</title>
<style>body{margin:0;background:#111;color:#eee;font:14px sans-serif}video{display:block;width:640px;height:360px;background:#000}</style>
<script src="/hls.min.js"></script></head>
<body><video id="v" muted playsinline></video><div id="status">idle</div>
<script>
const video = document.getElementById('v');
video.muted = true;
window.vod = { errors: [], events: [], levelSwitched: [], mediaErrors: [] };
video.addEventListener('error', () => {
  const e = video.error;
  window.vod.mediaErrors.push({ code: e ? e.code : 0, message: e ? e.message : '' });
});
for (const ev of ['loadedmetadata', 'playing', 'seeking', 'seeked', 'ended', 'waiting'])
  video.addEventListener(ev, () => window.vod.events.push(ev));
window.playHls = (url) => {
  if (!Hls.isSupported()) throw new Error('hls.js: MSE not supported in this browser');
  const hls = new Hls({ debug: false });
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_e, d) => {
    window.vod.errors.push({
      type: d.type, details: d.details, fatal: d.fatal,
      url: (d.frag && d.frag.url) || (d.context && d.context.url) || (d.url) || undefined,
      status: d.response ? d.response.code : undefined,
      reason: d.reason || (d.error ? String(d.error) : undefined),
    });
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => window.vod.levelSwitched.push(d.level));
  hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch((e) => window.vod.errors.push({ type: 'play', details: String(e), fatal: false })); });
  hls.loadSource(url);
  hls.attachMedia(video);
  document.getElementById('status').textContent = 'hls: ' + url;
};
window.playMp4 = (url) => {
  video.src = url;
  video.play().catch((e) => window.vod.errors.push({ type: 'play', details: String(e), fatal: false }));
  document.getElementById('status').textContent = 'mp4: ' + url;
};
</script></body></html>`;

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the player page at / and hls.js at /hls.min.js from node_modules, on 127.0.0.1:<random>. */
export async function startPageServer(): Promise<PageServer> {
  const hlsJs = readFileSync(path.join(ROOT, 'node_modules/hls.js/dist/hls.min.js'));
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (p === '/' || p === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (p === '/hls.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(hlsJs);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
