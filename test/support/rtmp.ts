// A real nginx-rtmp (Debian's libnginx-mod-rtmp) per test, and an ffmpeg publisher for it.
//
// What nginx-rtmp 1.2.2 (Debian 12) does, pinned by ./rtmp.test.ts; the live-recording import relies on it:
// - Hooks: one POST per event, `Content-Type: application/x-www-form-urlencoded`, to the configured URL with
//   its query string kept (`?token=abc` arrives on every call). The form says which event in `call`:
//     publish:      app flashver swfurl tcurl pageurl addr clientid call=publish name type=live
//     publish_done: app flashver swfurl tcurl pageurl addr clientid call=publish_done name
//     record_done:  app flashver swfurl tcurl pageurl addr clientid call=record_done recorder= name path
//   `recorder` is the record block's name ('' for the application's own `record all`); `path` is absolute.
//   The same `clientid` on all calls of one publish.
// - The publisher's URL arguments (rtmp://…/live/cam1?key=secret) are appended to that form AFTER nginx's
//   fields, decoded, and can repeat them (`call`, `name`, `path`): read the FIRST value of a field
//   (URLSearchParams.get), never the last (Object.fromEntries); better, trust only the URL's own token.
// - Order without record_interval: publish … publish_done, record_done (within a millisecond of each other,
//   publish_done first). With record_interval: publish, record_done per finished part, then at the end
//   publish_done and the last part's record_done (seen: publish rd rd publish_done rd).
// - on_publish gates the publish: a 403 makes nginx drop the publisher (ffmpeg exits 1 with 'Input/output
//   error'); nothing is recorded and neither publish_done nor record_done is sent.
// - Files: record_unique names each file <name>-<Unix seconds when the file was opened>.flv (two parts opened
//   in the same second would collide). Each split part is rebased: its timestamps start at 0 again (format
//   start_time 0), so parts are ordered by record_done order / suffix, never by their timestamps. A part is cut
//   on a video keyframe once the interval has passed, and opens on that keyframe; with a GOP equal to the
//   interval a part can hold two intervals (2 s interval, 2 s GOP, 5 s push: parts of 2.02 + 1.99 + 0.96 s, or
//   2.02 + 2.99 + 0.003 s). The last part can be a stub of a few ms without any video: skip such parts.
//   Without record_interval a 4 s push gives one FLV of 3.98 s (H.264 + AAC).
// - HLS (hls on): <hlsDir>/<name>.m3u8 + <name>-N.ts; the playlist starts with #EXT-X-DISCONTINUITY and gets
//   no #EXT-X-ENDLIST when the publisher leaves (it stays a "live" playlist).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, NGINX, startNginxProcess } from './nginx-process';

export const RTMP_MODULE = process.env.VOD_RTMP_MODULE ?? '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/**
 * True when nginx and its RTMP module are installed; otherwise prints one SKIP line, or throws under
 * VOD_TEST_REQUIRE_ENGINES=1 (CI installs both with scripts/install-system-deps.sh).
 */
export function rtmpAvailable(): boolean {
  const missing = [NGINX, RTMP_MODULE].filter((f) => !existsSync(f));
  if (!missing.length) return true;
  const why = `${missing.join(' and ')} missing (apt-get install nginx-light libnginx-mod-rtmp)`;
  if (process.env.VOD_TEST_REQUIRE_ENGINES === '1') throw new Error(`${why} but VOD_TEST_REQUIRE_ENGINES=1`);
  console.log(`SKIP nginx-rtmp tests: ${why}`);
  return false;
}

export interface RtmpServer {
  /** rtmp://127.0.0.1:<port>/<app>/<stream>: where a publisher pushes. */
  rtmpUrl(stream: string, app?: string): string;
  recDir: string;
  hlsDir: string;
  /** http://127.0.0.1:<port>: serves hlsDir under /hls/ (and the module's stats under /stat). */
  httpUrl: string;
  /** nginx's error log (level info: every publish, hook call and record) and its own output. */
  logs(): string;
  stop(): Promise<void>;
}

function config(o: {
  dir: string;
  rtmpPort: number;
  httpPort: number;
  hookUrl: string;
  app: string;
  hls: boolean;
  recordInterval?: string;
}): string {
  const d = o.dir;
  // One URL for all three hooks: nginx-rtmp says which event it is in the form body (call=publish,
  // publish_done, record_done), and keeps the URL's query string (a token, say) on every call.
  return `load_module ${RTMP_MODULE};
daemon off;
master_process on;
worker_processes 1;
pid ${d}/logs/nginx.pid;
error_log ${d}/logs/error.log info;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${o.rtmpPort};
    chunk_size 4096;
    application ${o.app} {
      live on;
      record all;
      record_path ${d}/rec;
      record_unique on;
${o.recordInterval ? `      record_interval ${o.recordInterval};\n` : ''}      on_publish ${o.hookUrl};
      on_publish_done ${o.hookUrl};
      on_record_done ${o.hookUrl};
${o.hls ? `      hls on;\n      hls_path ${d}/hls;\n      hls_fragment 2s;\n      hls_playlist_length 20s;\n      hls_cleanup off;\n` : ''}    }
  }
}
http {
  access_log ${d}/logs/access.log;
  client_body_temp_path ${d}/tmp/body; proxy_temp_path ${d}/tmp/proxy; fastcgi_temp_path ${d}/tmp/fcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi; scgi_temp_path ${d}/tmp/scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  server {
    listen 127.0.0.1:${o.httpPort};
    location /hls/ { root ${d}; add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }
    location /stat { rtmp_stat all; }
  }
}
`;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => resolve(clearTimeout(t) === undefined));
  });
}

/** Starts nginx-rtmp on free ports, recording every publish to `app` (default 'live') into its own directory. */
export async function startRtmp(o: {
  hookUrl: string;
  dir?: string;
  recordInterval?: string;
  hls?: boolean;
  app?: string;
}): Promise<RtmpServer> {
  const own = !o.dir;
  const dir = o.dir ?? mkdtempSync(path.join(os.tmpdir(), 'vod-rtmp-'));
  const app = o.app ?? 'live';
  for (const sub of ['rec', 'hls', 'logs', 'tmp']) {
    mkdirSync(path.join(dir, sub), { recursive: true });
    // nginx's workers run as 'nobody' when the master is root: they write recordings, segments and temp files.
    chmodSync(path.join(dir, sub), 0o777);
  }
  chmodSync(dir, 0o755);
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, config({ ...o, dir, rtmpPort, httpPort, app, hls: o.hls ?? true }));
  const { child, logs } = await startNginxProcess(dir, conf, rtmpPort, 'nginx-rtmp');
  return {
    rtmpUrl: (stream, a = app) => `rtmp://127.0.0.1:${rtmpPort}/${a}/${stream}`,
    recDir: path.join(dir, 'rec'),
    hlsDir: path.join(dir, 'hls'),
    httpUrl: `http://127.0.0.1:${httpPort}`,
    logs,
    async stop() {
      // QUIT: graceful (workers finish their recordings); TERM, then KILL, when that takes too long.
      for (const [signal, ms] of [
        ['SIGQUIT', 5_000],
        ['SIGTERM', 3_000],
        ['SIGKILL', 3_000],
      ] as const) {
        if (child.exitCode !== null || child.signalCode !== null) break;
        child.kill(signal);
        if (await waitExit(child, ms)) break;
      }
      // a directory of its own goes with it; one the caller gave stays, recordings and all
      if (own) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Publishes ffmpeg's testsrc2 + a sine tone (H.264 + AAC in FLV) to `url` for `seconds`. `done` resolves when
 * ffmpeg exits with 0 or by a signal sent through kill(); it rejects with ffmpeg's output when the push fails.
 */
export function pushRtmp(
  url: string,
  o: { seconds: number; size?: string; fps?: number; realtime?: boolean; tone?: number },
): { done: Promise<void>; kill(signal?: NodeJS.Signals): void } {
  const { seconds, size = '320x240', fps = 25, realtime = true, tone = 440 } = o;
  const args = [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
    ...(realtime ? ['-re'] : []),
    ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${fps}`],
    ...(realtime ? ['-re'] : []),
    ...['-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=44100`],
    ...['-t', String(seconds)],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
    ...['-g', String(2 * fps), '-c:a', 'aac', '-b:a', '96k', '-ar', '44100'],
    ...['-f', 'flv', url],
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  let killed = false;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0 || killed)
        resolve(); // ffmpeg exits 255 on SIGTERM/SIGINT
      else reject(new Error(`ffmpeg push to ${url} failed (${code ?? signal}):\n${err}`));
    });
  });
  return {
    done,
    kill(signal = 'SIGTERM') {
      killed = true;
      child.kill(signal);
    },
  };
}
