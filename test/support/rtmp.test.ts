// Pins what a real nginx-rtmp (libnginx-mod-rtmp) sends to its hook URL and writes to disk, the facts the live
// recording import relies on. The findings are summarised at the top of ./rtmp.ts.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { packets } from './gapless';
import { pushRtmp, type RtmpServer, rtmpAvailable, startRtmp } from './rtmp';
import { waitFor } from './uploads';

const run = promisify(execFile);

interface Hook {
  url: string;
  contentType?: string;
  form: URLSearchParams;
}

/** A plain HTTP server that records every hook call; `deny` picks the calls answered 403. */
async function hookReceiver(deny: (form: URLSearchParams) => boolean = () => false) {
  const calls: Hook[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      calls.push({ url: req.url!, contentType: req.headers['content-type'], form });
      res.statusCode = deny(form) ? 403 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // nginx-rtmp's own fields come first; the publisher's URL arguments are appended after them (see rtmp.ts).
  const of = (name: string) => calls.filter((c) => c.form.get('name') === name);
  return { url, calls, of, close: () => new Promise((r) => server.close(r)) };
}

async function probe(file: string): Promise<{ duration: number; start: number }> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'format=duration,start_time', '-of', 'json', file],
  ]);
  const { format } = JSON.parse(stdout) as { format: { duration: string; start_time: string } };
  return { duration: Number(format.duration), start: Number(format.start_time) };
}

const calls = (hooks: Hook[]) => hooks.map((h) => h.form.get('call'));

describe.skipIf(!rtmpAvailable())('nginx-rtmp (libnginx-mod-rtmp) as the live recorder', () => {
  const servers: RtmpServer[] = [];
  const receivers: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') for (const s of servers) console.log(s.logs());
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('POSTs publish, publish_done and record_done forms to the one hook URL, keeping its query', async () => {
    const hooks = await hookReceiver((f) => f.get('call') === 'publish' && f.get('name') === 'denied');
    receivers.push(hooks);
    const rtmp = await startRtmp({ hookUrl: `${hooks.url}/hook?token=abc` });
    servers.push(rtmp);

    // The publisher's own arguments try to pass for nginx's fields: a receiver that takes the LAST value of a
    // field (Object.fromEntries) would see a record_done of /etc/passwd in the publish call.
    const spoof = '?key=secret&call=record_done&path=%2Fetc%2Fpasswd&name=evil';
    await pushRtmp(rtmp.rtmpUrl('cam1') + spoof, { seconds: 4 }).done;
    const cam1 = await waitFor(
      async () => {
        const c = hooks.of('cam1');
        return c.some((h) => h.form.get('call') === 'record_done') && c.length >= 3 ? c : undefined;
      },
      10_000,
      'the cam1 hook calls',
    );

    // Observed: publish first; publish_done and record_done arrive together at the end of the push, in that
    // order (but with record_interval a part's record_done can come just before publish_done: see below).
    expect(calls(cam1)).toEqual(['publish', 'publish_done', 'record_done']);
    for (const h of cam1) {
      expect(h.url).toBe('/hook?token=abc');
      expect(h.contentType).toBe('application/x-www-form-urlencoded');
      expect(h.form.get('app')).toBe('live');
      expect(h.form.get('clientid')).toMatch(/^\d+$/);
      expect(h.form.get('addr')).toBe('127.0.0.1');
      expect(`${h.form.get('tcurl')}/cam1`).toBe(rtmp.rtmpUrl('cam1'));
      // the publisher's arguments are appended after nginx's own fields, decoded
      expect(h.form.get('key')).toBe('secret');
      expect(h.form.getAll('name')).toEqual(['cam1', 'evil']);
      expect(h.form.getAll('call')).toEqual([h.form.get('call'), 'record_done']);
    }
    expect(new Set(cam1.map((h) => h.form.get('clientid'))).size).toBe(1);
    expect(cam1[0]!.form.get('type')).toBe('live');
    const done = cam1[2]!.form;
    expect(done.getAll('path')).toEqual([done.get('path'), '/etc/passwd']);
    const flv = done.get('path')!;
    expect(path.dirname(flv)).toBe(rtmp.recDir);
    expect(path.basename(flv)).toMatch(/^cam1-\d{10}\.flv$/);
    expect(existsSync(flv)).toBe(true);
    expect(done.get('recorder')).toBe('');
    expect((await probe(flv)).duration).toBeGreaterThan(3.5);
    expect((await probe(flv)).duration).toBeLessThan(4.5);

    // HLS: the playlist stays "live" after the publisher left; no #EXT-X-ENDLIST is ever written.
    const m3u8 = await fetch(`${rtmp.httpUrl}/hls/cam1.m3u8`);
    expect(m3u8.status).toBe(200);
    const playlist = await m3u8.text();
    expect(playlist).toMatch(/#EXTINF:/);
    expect(playlist).not.toMatch(/#EXT-X-ENDLIST/);

    // on_publish is a gate: a 403 answer makes nginx-rtmp drop the publisher before anything is recorded.
    await expect(pushRtmp(rtmp.rtmpUrl('denied'), { seconds: 2 }).done).rejects.toThrow(/failed/);
    await new Promise((r) => setTimeout(r, 500));
    expect(calls(hooks.of('denied'))).toEqual(['publish']);
    expect(readdirSync(rtmp.recDir).filter((f) => f.startsWith('denied'))).toEqual([]);
  });

  it('with record_interval splits the recording, one record_done per part, each part rebased to 0', async () => {
    const hooks = await hookReceiver();
    receivers.push(hooks);
    const rtmp = await startRtmp({ hookUrl: `${hooks.url}/hook`, recordInterval: '2s', hls: false });
    servers.push(rtmp);
    const started = Math.floor(Date.now() / 1000);
    await pushRtmp(rtmp.rtmpUrl('cam2'), { seconds: 5 }).done;
    const ended = Math.ceil(Date.now() / 1000);
    const cam2 = await waitFor(
      async () => {
        const c = hooks.of('cam2');
        // the final part's record_done comes right after publish_done
        const last = c.at(-1)?.form.get('call');
        return c.some((h) => h.form.get('call') === 'publish_done') && last === 'record_done' ? c : undefined;
      },
      10_000,
      'the cam2 hook calls',
    );
    const parts = cam2.filter((h) => h.form.get('call') === 'record_done').map((h) => h.form.get('path')!);
    expect(calls(cam2)[0]).toBe('publish');
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(parts).size).toBe(parts.length);
    // record_unique's suffix is the Unix time in seconds at which that part was opened; hooks arrive in that order
    const suffixes = parts.map((p) => Number(/^cam2-(\d{10})\.flv$/.exec(path.basename(p))?.[1]));
    expect(suffixes).toEqual([...suffixes].sort((a, b) => a - b));
    expect(suffixes[0]).toBeGreaterThanOrEqual(started);
    expect(suffixes.at(-1)).toBeLessThanOrEqual(ended);
    expect(parts.filter((p) => !existsSync(p))).toEqual([]);
    const probed = await Promise.all(parts.map(probe));
    console.log(`record_interval 2s, 5 s push: ${calls(cam2).join(' ')}`);
    for (const [i, p] of parts.entries()) console.log(`  ${path.basename(p)} ${JSON.stringify(probed[i])}`);
    // every part starts again at timestamp 0: the parts' own timestamps cannot order or place them
    expect(probed[1]!.start).toBeLessThan(0.1);
    // a part with video opens on a keyframe (the last part can be a few-ms stub without any video)
    for (const p of parts) {
      const video = await packets(p, 'v');
      if (video.length) expect(video[0]!.key).toBe(true);
    }
    const total = probed.reduce((s, p) => s + p.duration, 0);
    expect(total).toBeGreaterThan(4.4);
    expect(total).toBeLessThan(5.6);
  });
});
