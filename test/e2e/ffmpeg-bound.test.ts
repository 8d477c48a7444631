// Issue 13, part 5: the ffmpeg processes of a node are bounded whatever clients ask. One server
// (VOD_FFMPEG_MAX_PROCESSES=2, one just-in-time encode at a time) processes a video that needs re-encoding
// while anonymous clients ask at once for many segments nobody encoded yet and for many new thumbnails:
// ps never sees more than two ffmpeg children, every answer is 200 or 503 + Retry-After, the server
// stays responsive, and the video still becomes ready.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentName } from '../../apps/server/src/modules/videos';
import { startTestServer, type TestServer } from '../support/app';
import { makeMpeg2 } from '../support/sources';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { createTemplate } from '../support/videos';

const exec = promisify(execFile);
const MAX = 2;

async function ffmpegChildren(): Promise<number> {
  const { stdout } = await exec('ps', ['-o', 'comm=', '--ppid', String(process.pid)]).catch(() => ({
    stdout: '',
  }));
  return stdout.split('\n').filter((c) => c.trim() === 'ffmpeg').length;
}

interface Video {
  id: string;
  status: string;
  playable: boolean;
  playback: { id: string; hlsUrl: string };
}

describe('ffmpeg processes per node are bounded (issue 13, part 5)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodbound-'));
  const file = path.join(dir, 'mpeg2.mp4');
  let s: TestServer;
  let auth: Record<string, string>;
  let templateId: string;

  beforeAll(async () => {
    [s] = await Promise.all([
      startTestServer({
        VOD_FFMPEG_MAX_PROCESSES: String(MAX),
        VOD_JIT_MAX_CONCURRENT: '1',
        VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4',
        VOD_THUMB_GENERATE_PER_MINUTE: '0',
        VOD_JIT_WAIT_MS: '20000',
      }),
      makeMpeg2(file, { duration: 40, size: '640x360' }),
    ]);
    auth = (await s.tenant('bound')).auth;
    templateId = await createTemplate(s.url, auth, {
      name: '360-240',
      renditions: [
        { name: '360p', height: 360, videoBitrate: 700_000 },
        { name: '240p', height: 240, videoBitrate: 300_000 },
      ],
      audio: { bitrate: 96_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'none',
    });
  }, 120_000);

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const getVideo = async (id: string) =>
    (await (await fetch(`${s.url}/v1/videos/${id}`, { headers: auth })).json()) as Video;

  it('many segments and thumbnails asked at once: at most the bound of ffmpeg processes, 200 or 503 + Retry-After, and the video becomes ready', async () => {
    const created = await createUploadVia(s.url, auth, { templateId, title: 'bound' });
    await tusUpload(await readFile(file), { endpoint: created.url, headers: created.headers }).promise;
    const video = await waitFor(
      async () => {
        const v = await getVideo(created.videoId);
        if (v.status === 'errored') throw new Error('errored');
        return v.playable ? v : undefined;
      },
      120_000,
      'playable',
    );

    let maxSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxSeen = Math.max(maxSeen, await ffmpegChildren());
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const base = video.playback.hlsUrl.replace(/master\.m3u8$/, '');
    // 20 segments, two apart (each its own just-in-time run: its read-ahead stops at the next one in flight), from the end backwards
    // so that the background encode has not reached them, and 20 new thumbnails.
    const segments = [];
    for (const name of ['360p', '240p'])
      for (let i = 19; i >= 0; i -= 2) segments.push(`${base}${name}/${segmentName(i)}`);
    const thumbs = Array.from(
      { length: 20 },
      (_, i) => `${s.url}/thumb/${video.playback.id}.jpg?time=${i + 0.5}&width=${160 + i * 8}`,
    );
    const ask = async (url: string) => {
      const r = await fetch(url);
      await r.arrayBuffer();
      return { url, status: r.status, retryAfter: r.headers.get('retry-after') };
    };
    const livez: number[] = [];
    const probe = setInterval(() => {
      const t0 = performance.now();
      fetch(`${s.url}/livez`).then(() => livez.push(performance.now() - t0));
    }, 200);
    const answers = await Promise.all([...segments, ...thumbs].map(ask));
    clearInterval(probe);

    const ready = await waitFor(
      async () => {
        const v = await getVideo(created.videoId);
        return v.status === 'ready' || v.status === 'errored' ? v : undefined;
      },
      600_000,
      'ready',
    );
    sampling = false;
    await sampler;

    const by = (ok: (a: (typeof answers)[number]) => boolean) => answers.filter(ok).length;
    console.log(
      `ffmpeg bound ${MAX}: max seen ${maxSeen}; ${answers.length} requests: ${by((a) => a.status === 200)} × 200, ${by((a) => a.status === 503)} × 503; livez worst ${Math.max(...livez).toFixed(0)} ms over ${livez.length}`,
    );
    expect(maxSeen, 'ffmpeg processes seen at once').toBeLessThanOrEqual(MAX);
    expect(maxSeen, 'the bound was reached (the check could fail)').toBe(MAX);
    for (const a of answers) {
      expect([200, 503], a.url).toContain(a.status);
      if (a.status === 503) expect(a.retryAfter, a.url).toMatch(/^\d+$/);
    }
    expect(by((a) => a.status === 200)).toBeGreaterThan(0);
    expect(livez.length).toBeGreaterThan(0);
    expect(ready.status).toBe('ready');
  }, 900_000);
});
