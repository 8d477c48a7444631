// Live recordings end to end, with a real nginx-rtmp (Debian's libnginx-mod-rtmp) recording what ffmpeg pushes
// over RTMP and calling the platform's hook URL (on_publish, on_publish_done and on_record_done all pointing at
// it). A broadcast becomes one video named after the stream, playable from its first part; a reconnect within
// the hook's window is merged into the same video; the HLS playlist nginx-rtmp wrote (no #EXT-X-ENDLIST) is
// imported by URL. Runs on SQLite with the embedded queue and on a server database with BullMQ.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { VodCloud } from '@vodcloud/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import { databaseEngines } from '../support/databases';
import { deleteRedisKeys, engineUrl } from '../support/engines';
import { pushRtmp, type RtmpServer, rtmpAvailable, startRtmp } from '../support/rtmp';
import { waitFor } from '../support/uploads';

const run = promisify(execFile);

/** Webhook receiver on 127.0.0.1 (allow-listed through VOD_FETCH_ALLOW_HOSTS). */
async function receiver() {
  const got: Array<{ type: string; data: Record<string, unknown> }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { got, url: `http://127.0.0.1:${port}/hook`, close: () => new Promise((r) => server.close(r)) };
}

export function api(s: TestServer, auth: Record<string, string>) {
  return async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${s.url}${url}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
}

type Call = ReturnType<typeof api>;
interface RecordingJson {
  id: string;
  videoId: string;
  status: string;
  parts: number;
  live: boolean;
  mergeMode: string | null;
  streamName: string;
  startedAt: string;
  endedAt: string;
  error: unknown;
}

/** The stream's recordings once none is still collecting or importing (and at least `min` exist). */
async function settled(call: Call, stream: string, min = 1, timeoutMs = 90_000): Promise<RecordingJson[]> {
  return waitFor(
    async () => {
      const list = (await call('GET', `/v1/recordings?streamName=${encodeURIComponent(stream)}`)).json
        .data as RecordingJson[];
      return list.length >= min && list.every((r) => ['imported', 'failed'].includes(r.status))
        ? list
        : undefined;
    },
    timeoutMs,
    `recordings of ${stream}`,
  );
}

async function readyVideo(call: Call, id: string, duration?: number) {
  return waitFor(
    async () => {
      const v = (await call('GET', `/v1/videos/${id}`)).json;
      if (v.status === 'errored') return v; // asserted below (waitFor would swallow a throw)
      // After a merge the video is transcoded again: wait for the merged duration too.
      const long = duration === undefined || (v.duration !== null && v.duration > duration - 1.5);
      return v.status === 'ready' && long ? v : undefined;
    },
    120_000,
    `video ${id} ready`,
  ).then((v) => {
    expect(v.status, JSON.stringify(v.error)).toBe('ready');
    return v;
  });
}

async function frames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}

const near = (value: number, expected: number, tolerance: number) =>
  expect(Math.abs(value - expected), `${value} vs ${expected} ± ${tolerance}`).toBeLessThanOrEqual(tolerance);

const redisUrl = engineUrl('redis', 'live recordings on BullMQ');
// SQLite with the embedded queue, and the first server database available (MariaDB here) with BullMQ.
const all = databaseEngines('live recordings');
const server = all.find((e) => e.engine !== 'sqlite' && e.available);
const engines = all.filter((e) => e.engine === 'sqlite' || (e === server && redisUrl));

describe.skipIf(!rtmpAvailable())('live recordings from nginx-rtmp', () => {
  for (const engine of engines) {
    describe(`${engine.engine}${engine.engine === 'sqlite' ? ', embedded queue' : ', BullMQ'}`, () => {
      let s: TestServer;
      let dir: string;
      let wh: Awaited<ReturnType<typeof receiver>>;
      let drop: (() => Promise<void>) | undefined;
      const rtmps: RtmpServer[] = [];
      const prefix = `vod-rec-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      let call: Call;
      let auth: () => Record<string, string>;
      let key: () => string;

      beforeAll(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'vodrec-'));
        chmodSync(dir, 0o755); // nginx's workers run as nobody: they write and serve below it
        wh = await receiver();
        const db = await engine.create();
        drop = db.drop;
        const queue: Record<string, string> =
          engine.engine === 'sqlite' ? {} : { VOD_QUEUE_URL: redisUrl!, VOD_QUEUE_PREFIX: prefix };
        s = await startTestServer({
          VOD_DB_URL: db.url,
          VOD_RECORDING_DIRS: dir,
          VOD_FETCH_ALLOW_HOSTS: '127.0.0.1',
          VOD_RECORDING_HLS_IDLE_SEC: '3',
          VOD_DETECTION: 'off',
          ...queue,
        });
        const t = await s.tenant('broadcaster');
        call = api(s, t.auth);
        auth = () => t.auth;
        key = () => t.key;
        const sub = await call('POST', '/v1/webhooks', { url: wh.url, events: ['recording.imported'] });
        expect(sub.status).toBe(201);
      }, 60_000);
      afterAll(async () => {
        for (const r of rtmps) await r.stop();
        await s?.close();
        await wh?.close();
        await drop?.();
        if (engine.engine !== 'sqlite') await deleteRedisKeys(`${prefix}:*`, { url: redisUrl! });
        rmSync(dir, { recursive: true, force: true });
      });

      const rtmpFor = async (name: string, body: Record<string, unknown>, hls = false) => {
        const hook = await call('POST', '/v1/recording-hooks', { name, ...body });
        expect(hook.status, JSON.stringify(hook.json)).toBe(201);
        const own = path.join(dir, name);
        mkdirSync(own, { recursive: true });
        const r = await startRtmp({ hookUrl: hook.json.nginxRtmpUrl, dir: own, hls });
        rtmps.push(r);
        return { rtmp: r, hook: hook.json };
      };

      it('a 10 s broadcast becomes a ready video named after its stream, playable from its part; recording.imported sent', async () => {
        const { rtmp, hook } = await rtmpFor('studio', {
          reconnectWindowSec: 2,
          titleTemplate: '{app}/{name}',
        });
        expect(hook.token).toMatch(/^vrh_/);
        expect(hook.srsUrl).toContain('/hooks/srs/dvr?token=');
        const listed = await call('GET', '/v1/recording-hooks');
        expect(JSON.stringify(listed.json)).not.toContain(hook.token);
        // The publisher's own URL arguments reach the hook's form after nginx-rtmp's fields: they must not count.
        const spoof = '?call=record_done&path=%2Fetc%2Fpasswd&name=evil&app=evil';
        const push = pushRtmp(rtmp.rtmpUrl('studio-a') + spoof, { seconds: 10 });
        await push.done;
        const [rec] = await settled(call, 'studio-a');
        expect(rec!.status, JSON.stringify(rec!.error)).toBe('imported');
        expect(rec!.parts).toBe(1);
        expect(rec!.mergeMode).toBe('single');
        const v = await readyVideo(call, rec!.videoId);
        expect(v.title).toBe('live/studio-a');
        near(v.duration, 10, 1);
        expect(v.meta.recording).toMatchObject({ app: 'live', streamName: 'studio-a', id: rec!.id });
        expect((await call('GET', '/v1/recordings?streamName=evil')).json.data).toEqual([]);
        const event = await waitFor(
          async () => wh.got.find((e) => e.type === 'recording.imported' && e.data.streamName === 'studio-a'),
          20_000,
          'recording.imported',
        );
        expect(event.data).toMatchObject({
          videoId: rec!.videoId,
          recordingId: rec!.id,
          app: 'live',
          parts: 1,
        });
        near(
          (Date.parse(String(event.data.endedAt)) - Date.parse(String(event.data.startedAt))) / 1000,
          10,
          1.5,
        );
      }, 120_000);

      it('a reconnect within the window is one video of both parts (frames of the merge = frames of the parts)', async () => {
        const { rtmp } = await rtmpFor('reconnect', { reconnectWindowSec: 8 });
        // The broadcaster's connection drops (its ffmpeg killed 5 s in), then it comes back on the same name.
        const first = pushRtmp(rtmp.rtmpUrl('cam-r'), { seconds: 60 });
        await new Promise((r) => setTimeout(r, 5000));
        first.kill('SIGKILL');
        await first.done;
        await pushRtmp(rtmp.rtmpUrl('cam-r'), { seconds: 5 }).done;
        const list = await settled(call, 'cam-r', 1, 120_000);
        expect(list).toHaveLength(1);
        const rec = list[0]!;
        expect(rec.status, JSON.stringify(rec.error)).toBe('imported');
        expect(rec.parts).toBe(2);
        expect(rec.mergeMode).toBe('copy');
        const v = await readyVideo(call, rec.videoId, 10);
        near(v.duration, 10, 1);
        const flvs = (await run('sh', ['-c', `ls ${rtmp.recDir}/cam-r*.flv`])).stdout.trim().split('\n');
        expect(flvs).toHaveLength(2);
        const partFrames = (await Promise.all(flvs.map(frames))).reduce((a, b) => a + b, 0);
        const res = await fetch(`${s.url}/v1/videos/${rec.videoId}/source`, { headers: auth() });
        expect(res.status).toBe(200);
        const merged = path.join(dir, 'cam-r-merged.mp4');
        writeFileSync(merged, Buffer.from(await res.arrayBuffer()));
        expect(await frames(merged)).toBe(partFrames);
        // Demuxed and decoded without one error: nginx-rtmp's AAC config (5 bytes) survives the merge.
        const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', merged, '-f', 'null', '-']);
        expect(stderr.trim()).toBe('');
        console.log(
          `reconnect merge: ${flvs.length} parts, ${partFrames} frames; merged source ${partFrames} frames`,
        );
      }, 150_000);

      // The rest once, on SQLite with the embedded queue.
      if (engine.engine !== 'sqlite') return;

      it('a broadcast the recorder splits (record_interval) stays one video while it is live', async () => {
        const hook = (await call('POST', '/v1/recording-hooks', { name: 'split', reconnectWindowSec: 2 }))
          .json;
        const own = path.join(dir, 'split');
        mkdirSync(own, { recursive: true });
        const rtmp = await startRtmp({
          hookUrl: hook.nginxRtmpUrl,
          dir: own,
          hls: false,
          recordInterval: '3s',
        });
        rtmps.push(rtmp);
        await pushRtmp(rtmp.rtmpUrl('long'), { seconds: 10 }).done;
        const list = await settled(call, 'long', 1, 120_000);
        expect(list).toHaveLength(1);
        const rec = list[0]!;
        expect(rec.status, JSON.stringify(rec.error)).toBe('imported');
        const flvs = (await run('sh', ['-c', `ls ${rtmp.recDir}/long*.flv`])).stdout.trim().split('\n');
        expect(flvs.length).toBeGreaterThanOrEqual(3);
        // Every file the recorder wrote joined the recording (a sliver of a few ms may be left out of the merge).
        expect(rec.parts).toBe(flvs.length);
        expect(rec.mergeMode).toBe('copy');
        near((await readyVideo(call, rec.videoId, 10)).duration, 10, 1);
      }, 150_000);

      it('a reconnect after the window is two videos', async () => {
        const { rtmp } = await rtmpFor('apart', { reconnectWindowSec: 1 });
        await pushRtmp(rtmp.rtmpUrl('cam-o'), { seconds: 3 }).done;
        await settled(call, 'cam-o');
        await pushRtmp(rtmp.rtmpUrl('cam-o'), { seconds: 3 }).done;
        const list = await settled(call, 'cam-o', 2);
        expect(list).toHaveLength(2);
        expect(new Set(list.map((r) => r.videoId)).size).toBe(2);
        for (const r of list) {
          expect(r.parts).toBe(1);
          near((await readyVideo(call, r.videoId)).duration, 3, 1);
        }
      }, 120_000);

      it('imports the HLS playlist nginx-rtmp wrote (no #EXT-X-ENDLIST) through POST /v1/recordings', async () => {
        const { rtmp } = await rtmpFor('hls', { reconnectWindowSec: 1 }, true);
        await pushRtmp(rtmp.rtmpUrl('hls-cam'), { seconds: 8 }).done;
        const url = `${rtmp.httpUrl}/hls/hls-cam.m3u8`;
        const playlist = await (await fetch(url)).text();
        expect(playlist).toContain('#EXTINF');
        expect(playlist).not.toContain('#EXT-X-ENDLIST');
        const created = await call('POST', '/v1/recordings', {
          source: { url },
          streamName: 'hls-import',
          startedAt: '2026-12-06T10:00:00Z',
        });
        expect(created.status, JSON.stringify(created.json)).toBe(201);
        expect(created.json).toMatchObject({ origin: 'api', status: 'importing', streamName: 'hls-import' });
        const [rec] = await settled(call, 'hls-import');
        expect(rec!.status, JSON.stringify(rec!.error)).toBe('imported');
        const v = await readyVideo(call, created.json.videoId);
        expect(v.title).toBe('hls-import');
        near(v.duration, 8, 1.2);
        const refused = await call('POST', '/v1/recordings', { source: { url: 'file:///etc/passwd' } });
        expect(refused.status).toBe(400);
      }, 120_000);

      it('refuses callbacks without a valid token (401/403) and paths outside VOD_RECORDING_DIRS (400), reading nothing', async () => {
        const hook = (await call('POST', '/v1/recording-hooks', { name: 'guarded' })).json;
        const post = (token: string | null, form: Record<string, string>) =>
          fetch(`${s.url}/hooks/nginx-rtmp/record-done${token === null ? '' : `?token=${token}`}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(form).toString(),
          });
        const form = { call: 'record_done', app: 'live', name: 'intruder', clientid: '7' };
        const inside = path.join(dir, 'guarded.flv');
        writeFileSync(inside, 'not a video at all');
        expect((await post(null, { ...form, path: inside })).status).toBe(401);
        expect((await post(`${hook.token}x`, { ...form, path: inside })).status).toBe(403);
        expect((await post('vrh_nope', { ...form, path: inside })).status).toBe(403);
        const link = path.join(dir, 'escape.flv');
        symlinkSync('/etc/passwd', link);
        mkdirSync(path.join(dir, 'sub'), { recursive: true });
        for (const p of [
          '/etc/passwd',
          `${dir}/../../etc/passwd`,
          `${dir}/sub/../../../etc/passwd`,
          link,
          'relative.flv',
          `${dir}/missing.flv`,
        ]) {
          const res = await post(hook.token, { ...form, path: p });
          expect(res.status, p).toBe(400);
          expect((await res.json()).code).toBe('validation_failed');
        }
        // Nothing was noted for the stream: no part, no recording, no video.
        expect((await call('GET', '/v1/recordings?streamName=intruder')).json.data).toEqual([]);
        // A file inside that is not media: noted, then refused by the probe; no video is made.
        expect((await post(hook.token, { ...form, path: inside })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 3000));
        expect((await call('GET', '/v1/recordings?streamName=intruder')).json.data).toEqual([]);
        // Another tenant's key sees nothing of this tenant's hooks.
        const other = api(s, (await s.tenant('other')).auth);
        expect((await other('GET', `/v1/recording-hooks/${hook.id}`)).status).toBe(404);
        // A deleted hook's token stops working.
        expect((await call('DELETE', `/v1/recording-hooks/${hook.id}`)).status).toBe(204);
        expect((await post(hook.token, { ...form, path: inside })).status).toBe(403);
      }, 60_000);

      it("handles SRS's on_dvr callback body (JSON, file relative to cwd) and answers {code: 0}", async () => {
        // Through the SDK, as an application would.
        const vc = new VodCloud({ baseUrl: s.url, apiKey: key() });
        const hook = await vc.recordings.createHook({ name: 'srs', reconnectWindowSec: 1 });
        expect((await vc.recordings.hooks()).data.map((h) => h.id)).toContain(hook.id);
        const cwd = path.join(dir, 'srs');
        mkdirSync(path.join(cwd, 'objs/nginx/html/live'), { recursive: true });
        const file = 'objs/nginx/html/live/srs-cam.1733400000000.flv';
        await run('ffmpeg', [
          '-v',
          'error',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=size=320x240:rate=25:duration=4',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=440:duration=4',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-g',
          '50',
          '-c:a',
          'aac',
          '-f',
          'flv',
          path.join(cwd, file),
        ]);
        const body = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/srs-on-dvr.json'), 'utf8'));
        const res = await fetch(hook.srsUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...body, app: 'live', stream: 'srs-cam', cwd, file }),
        });
        expect(res.status).toBe(200);
        expect((await res.json()).code).toBe(0);
        const [rec] = await settled(call, 'srs-cam');
        expect(rec).toMatchObject({ status: 'imported', origin: 'srs', parts: 1 });
        expect(await vc.recordings.get(rec!.id)).toMatchObject({
          streamName: 'srs-cam',
          clientId: body.client_id,
        });
        expect((await vc.recordings.list({ streamName: 'srs-cam' })).data).toHaveLength(1);
        near((await readyVideo(call, rec!.videoId)).duration, 4, 0.5);
      }, 90_000);
    });
  }
});
