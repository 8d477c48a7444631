// Issue 13: an animated GIF was refused as "a still image". Through the real pipeline: uploaded with tus to
// a listening server with its worker, a 20-frame GIF ends ready (transcoded like any other video) and
// plays; a one-frame GIF is still errored `non_video`.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';

const run = promisify(execFile);

describe('finding: an animated GIF (20 frames) is rejected as "a still image"', () => {
  let s: TestServer;
  let t: Awaited<ReturnType<TestServer['tenant']>>;
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vodgif-e2e-'));
    s = await startTestServer({ VOD_RATE_LIMIT_PER_MINUTE: '100000' });
    t = await s.tenant('gif');
  });
  afterAll(async () => {
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const gif = async (name: string, frames: number) => {
    const file = path.join(dir, name);
    await run('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=10'],
      ...['-frames:v', String(frames), file],
    ]);
    return readFileSync(file);
  };
  const settle = async (data: Buffer) => {
    const c = await createUploadVia(s.url, t.auth, { title: 'gif' });
    await tusUpload(data, { endpoint: c.url, headers: c.headers, metadata: { filename: 'x.gif' } }).promise;
    return waitFor(
      async () => {
        const v = await (await fetch(`${s.url}/v1/videos/${c.videoId}`, { headers: t.auth })).json();
        return v.status === 'ready' || v.status === 'errored' ? v : undefined;
      },
      90_000,
      'the GIF video to settle',
    );
  };

  it('a 20-frame GIF becomes a 2 s video that plays; a one-frame GIF is non_video', async () => {
    const v = await settle(await gif('x.gif', 20));
    expect(v.status, JSON.stringify(v.error)).toBe('ready');
    expect(v.duration).toBeGreaterThan(1.8);
    expect(v.duration).toBeLessThan(2.2);
    expect([v.width, v.height]).toEqual([160, 90]);
    expect(v.renditions.length).toBeGreaterThan(0);
    expect(v.renditions.every((r: { status: string }) => r.status === 'ready')).toBe(true);
    const master = await fetch(v.playback.hlsUrl);
    expect(master.status).toBe(200);
    expect(await master.text()).toContain('#EXT-X-STREAM-INF');
    expect(v.source.videoCodec).toBe('gif');

    const still = await settle(await gif('one.gif', 1));
    expect(still.status).toBe('errored');
    expect(still.error.code).toBe('non_video');
    expect(still.error.message).toMatch(/still image/);
  }, 150_000);
});
