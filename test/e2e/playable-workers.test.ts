// A worker machine dies mid-chunk: one `vodcloud serve --roles api,upload,stream` process and two
// `--roles worker` processes share one SQLite database, one file store and a ZooKeeper registry. While a
// chunk's ffmpeg runs on one worker, that worker and its ffmpeg are SIGKILLed (as a dead machine would
// vanish); the chunk's lease expires, the other worker takes it over, the video becomes ready and every
// rendition is gapless.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServeHandle, serve } from '../support/cli';
import { engineUrl } from '../support/engines';
import { audioTrack, fetchSegments, masterVariants, mediaPlaylist, videoTrack } from '../support/gapless';
import { makeMpeg2 } from '../support/sources';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { createTemplate } from '../support/videos';

const run = promisify(execFile);
const zk = engineUrl('zookeeper', 'playable: a worker dies mid-chunk (ZooKeeper registry)');

/** Child processes of `pid` (pid and command line). */
async function children(pid: number): Promise<Array<{ pid: number; args: string }>> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(pid)]).catch(() => ({
    stdout: '',
  }));
  return stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), args: m[2]! }));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!zk)('playable: a worker dies mid-chunk (api,upload,stream + 2 workers)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodplayw-'));
  const nodes: ServeHandle[] = [];
  afterAll(async () => {
    for (const n of nodes) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL of the worker running a chunk (and its ffmpeg): the other worker finishes, every rendition gapless', async () => {
    const source = path.join(dir, 'mpeg2-60s.mp4');
    const made = makeMpeg2(source, { duration: 60 });
    const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const adminKey = `playable-workers-admin-${runId}-padding`;
    const env: Record<string, string> = {
      VOD_DATA_DIR: dir,
      VOD_DB_URL: `sqlite:${path.join(dir, 'shared.db')}`,
      VOD_ADMIN_API_KEY: adminKey,
      VOD_SECRET: `playable-workers-secret-${runId}-0123456789abcdef`,
      VOD_LOG_LEVEL: 'warn',
      VOD_PORT: '0',
      VOD_HOST: '127.0.0.1',
      VOD_REGISTRY_URL: `${zk!.replace(/\/$/, '')}/vodcloud-playable-${runId}?sessionTimeoutMs=3000`,
      VOD_QUEUE_LEASE_MS: '4000',
      VOD_JIT_WAIT_MS: '60000',
    };
    const front = await serve(['--roles', 'api,upload,stream'], env, 60_000);
    nodes.push(front);
    const workerEnv = { ...env, VOD_WORKER_CONCURRENCY: 'cpu=1,io=2,fast=2' };
    const workers = await Promise.all([
      serve(['--roles', 'worker'], workerEnv, 60_000),
      serve(['--roles', 'worker'], workerEnv, 60_000),
    ]);
    nodes.push(...workers);

    const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const tenant = (await (
      await fetch(`${front.url}/v1/tenants`, { method: 'POST', headers: admin, body: '{"name":"w"}' })
    ).json()) as { id: string };
    const { key } = (await (
      await fetch(`${front.url}/v1/tenants/${tenant.id}/api-keys`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'k', scopes: ['read', 'write'] }),
      })
    ).json()) as { key: string };
    const auth = { authorization: `Bearer ${key}` };
    const templateId = await createTemplate(front.url, auth, {
      name: '480-360',
      renditions: [
        { name: '480p', height: 480, videoBitrate: 1_000_000 },
        { name: '360p', height: 360, videoBitrate: 600_000 },
      ],
      audio: { bitrate: 128_000 },
      hls: { segmentDuration: 2, encryption: 'none' },
      mp4: 'none',
    });
    await made;
    const created = await createUploadVia(front.url, auth, { templateId, title: 'dies mid-chunk' });
    await tusUpload(await readFile(source), { endpoint: created.url, headers: created.headers }).promise;
    const getVideo = async () =>
      (await (await fetch(`${front.url}/v1/videos/${created.videoId}`, { headers: auth })).json()) as {
        status: string;
        playable: boolean;
        playback: { hlsUrl: string };
      };

    // A chunk's ffmpeg (its work directory is <video>-<generation>-c<k>-…) running under one of the workers.
    const chunkRe = new RegExp(`${created.videoId}-[0-9A-Z]+-c(\\d+)-`);
    const found = await waitFor(
      async () => {
        const v = await getVideo();
        if (v.status === 'errored' || v.status === 'ready')
          throw new Error(`video ${v.status} before a chunk was seen running`);
        for (const w of workers) {
          const ff = (await children(w.child.pid!)).find(
            (c) => /ffmpeg/.test(c.args) && chunkRe.test(c.args),
          );
          if (ff) return { worker: w, ffmpeg: ff.pid, chunk: Number(chunkRe.exec(ff.args)![1]) };
        }
        return undefined;
      },
      180_000,
      'a chunk ffmpeg running on a worker',
    );
    const survivor = workers.find((w) => w !== found.worker)!;
    const before = await getVideo();
    expect(before.status).toBe('processing');
    expect(before.playable).toBe(true);
    // The dead machine: the worker and its ffmpeg (which leads its own process group) vanish at once.
    const killedAt = performance.now();
    try {
      process.kill(-found.ffmpeg, 'SIGKILL');
    } catch {
      process.kill(found.ffmpeg, 'SIGKILL');
    }
    found.worker.child.kill('SIGKILL');
    expect(await found.worker.exited).toBeNull();
    await waitFor(
      async () => (alive(found.ffmpeg) ? undefined : true),
      5_000,
      'the killed ffmpeg to be gone',
    );

    const v = await waitFor(
      async () => {
        const x = await getVideo();
        return x.status === 'ready' || x.status === 'errored' ? x : undefined;
      },
      900_000,
      'the video to be ready on the surviving worker',
    );
    const readyAfterKillSec = (performance.now() - killedAt) / 1000;
    expect(v.status, JSON.stringify(v)).toBe('ready');
    expect(survivor.child.exitCode).toBeNull(); // the survivor did the rest

    // Gapless, on what the stream role serves: per rendition, 60 s × 25 fps frames, one-frame PTS steps,
    // audio ending within one frame of the video.
    const masterUrl = v.playback.hlsUrl;
    const variants = masterVariants(await (await fetch(masterUrl)).text(), masterUrl);
    expect(variants.map((x) => x.name).sort()).toEqual(['360p', '480p']);
    const base = masterUrl.replace(/master\.m3u8$/, '');
    const playlist = await mediaPlaylist(`${base}480p/index.m3u8`);
    const planned = playlist.reduce((a, s) => a + s.duration, 0);
    expect(planned).toBeCloseTo(60, 2);
    const audio = await audioTrack(dir, await fetchSegments(`${base}audio/index.m3u8`));
    expect(audio.worstStepError).toBeLessThan(0.0002);
    const report: string[] = [];
    for (const r of variants) {
      expect(r.fps).toBe(25);
      const segs = await fetchSegments(r.url);
      expect(segs).toHaveLength(playlist.length);
      const track = await videoTrack(dir, r.name, segs, r.fps);
      expect(track.frames, `${r.name} frames`).toBe(Math.round(planned * r.fps));
      expect(track.worstStepError, `${r.name} PTS steps`).toBeLessThan(0.0002);
      const drift = Math.abs(audio.endPts - track.endPts);
      expect(drift, `${r.name} A/V end drift`).toBeLessThan(1 / r.fps);
      report.push(
        `${r.name}: ${track.frames} frames, worst PTS step error ${(track.worstStepError * 1e6).toFixed(1)} µs, A/V end drift ${(drift * 1000).toFixed(1)} ms`,
      );
    }
    console.log(
      `worker killed while encoding chunk ${found.chunk} (ffmpeg pid ${found.ffmpeg}); ready ${readyAfterKillSec.toFixed(1)} s later on the other worker\n  ${report.join('\n  ')}`,
    );
  }, 1_200_000);
});
