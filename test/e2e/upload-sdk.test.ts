// @vodcloud/upload in Node against a real listening server: real bytes, checked with sha256 against
// the object the server stored.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type CreatedUpload,
  createUpload,
  type UploadProgress,
  type VodUpload,
  VodUploadError,
} from '@vodcloud/upload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';

const MiB = 1024 * 1024;
const CHILD = path.resolve(import.meta.dirname, '../../packages/upload/test/upload-child.ts');

let server: TestServer;
let tenant: { id: string; key: string; auth: { authorization: string } };
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'vodupsdk-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.tenant('sdk');
});
afterAll(async () => {
  await server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A file of random bytes; returns its path and sha256. */
async function makeFile(size: number, name = 'clip.bin') {
  const file = path.join(tempDir(), name);
  const hash = createHash('sha256');
  let left = size;
  await pipeline(
    (async function* () {
      while (left > 0) {
        const block = randomBytes(Math.min(left, MiB));
        left -= block.length;
        hash.update(block);
        yield block;
      }
    })(),
    createWriteStream(file),
  );
  return { file, sha: hash.digest('hex') };
}

/** The sha256 of the video's stored source; the file store publishes it from a job, so wait for it. */
async function storedSha(videoId: string, timeoutMs = 30_000) {
  const key = `${tenant.id}/${videoId}/source`;
  const storage = server.ctx.ports.storage;
  const until = Date.now() + timeoutMs;
  while (!(await storage.head(key))) {
    if (Date.now() > until) throw new Error(`${key} was not stored within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const hash = createHash('sha256');
  for await (const chunk of (await storage.get(key)).body as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: { ...tenant.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json().catch(() => null)) as Record<string, unknown> };
}

function recordProgress(u: VodUpload) {
  const events: UploadProgress[] = [];
  u.on('progress', (p) => events.push(p));
  return events;
}

function expectMonotonicToTotal(events: UploadProgress[], total: number) {
  expect(events.length).toBeGreaterThan(1);
  for (let i = 1; i < events.length; i++)
    expect(events[i]!.bytesUploaded).toBeGreaterThanOrEqual(events[i - 1]!.bytesUploaded);
  expect(events.at(-1)).toMatchObject({ bytesUploaded: total, bytesTotal: total, percent: 100, eta: 0 });
  expect(events.every((e) => e.bytesTotal === total)).toBe(true);
}

describe('@vodcloud/upload in Node', () => {
  it('uploads a 20 MB file with {apiBase, apiKey}: byte-exact, monotonic progress to the total, store emptied', async () => {
    const size = 20 * MiB + 12_345;
    const { file, sha } = await makeFile(size, 'holiday.mp4');
    const store = path.join(tempDir(), 'uploads.json');
    const u = createUpload(file, {
      apiBase: `${server.url}/`,
      apiKey: tenant.key,
      storePath: store,
      chunkSize: 4 * MiB,
      description: 'from the SDK',
      tags: ['sdk'],
    });
    const progress = recordProgress(u);
    const successes: unknown[] = [];
    u.on('success', (r) => successes.push(r));
    expect(u.state).toBe('idle');
    const result = await u.start();

    expect(u.state).toBe('complete');
    expect(successes).toEqual([result]);
    expect(result.videoId).toMatch(/^[0-9A-Z]{26}$/);
    expect(result.uploadId).toMatch(/^[0-9A-Z]{26}$/);
    expect(result.url).toContain(`/tus/${tenant.id}.${result.videoId}`);
    expectMonotonicToTotal(progress, size);

    expect(await storedSha(result.videoId)).toBe(sha);
    const up = await api('GET', `/v1/uploads/${result.uploadId}`);
    expect(up.json).toMatchObject({ status: 'complete', size, offset: size, videoId: result.videoId });
    const video = await api('GET', `/v1/videos/${result.videoId}`);
    expect(video.json).toMatchObject({ title: 'holiday.mp4', description: 'from the SDK', tags: ['sdk'] });
    // A finished upload is forgotten, so uploading the same file again makes a new video.
    expect(JSON.parse(readFileSync(store, 'utf8'))).toEqual({});
  });

  it('uploads a Buffer with a POST /v1/uploads response ({upload}) and reports that upload and video', async () => {
    const bytes = randomBytes(20 * MiB);
    const created = await api('POST', '/v1/uploads', { title: 'from a backend' });
    expect(created.status).toBe(201);
    const upload = created.json as unknown as CreatedUpload;
    expect(upload.headers.Authorization).toMatch(/^Bearer vut_/);
    const u = createUpload(bytes, { upload, storePath: path.join(tempDir(), 'u.json'), chunkSize: 8 * MiB });
    const progress = recordProgress(u);
    const result = await u.done();
    expect(result).toMatchObject({ videoId: upload.videoId, uploadId: upload.id });
    expectMonotonicToTotal(progress, bytes.length);
    expect(await storedSha(result.videoId)).toBe(sha256(bytes));
  });

  it('pauses (no bytes move, the server keeps the offset) and resumes to a byte-exact result', async () => {
    const size = 24 * MiB;
    const { file, sha } = await makeFile(size);
    const u = createUpload(file, {
      apiBase: server.url,
      apiKey: tenant.key,
      storePath: path.join(tempDir(), 'u.json'),
      chunkSize: 2 * MiB,
    });
    const progress = recordProgress(u);
    const paused = new Promise<void>((resolve) => {
      const off = u.on('progress', (p) => {
        if (p.bytesUploaded >= 6 * MiB) {
          off();
          u.pause();
          resolve();
        }
      });
    });
    u.start();
    await paused;
    expect(u.state).toBe('paused');
    await new Promise((r) => setTimeout(r, 500));
    const seen = progress.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(progress.length).toBe(seen); // nothing moves while paused
    const videoId = /\.(\w+)$/.exec(u.url!)?.[1];
    expect(videoId).toBeDefined();
    const list = await api('GET', `/v1/videos/${videoId}`);
    expect(list.json.status).toBe('uploading');

    u.resume();
    expect(u.state).toBe('uploading');
    const result = await u.promise;
    const afterResume = progress.slice(seen);
    // It continued from the server's offset, not from zero.
    expect(afterResume[0]!.bytesUploaded).toBeGreaterThan(0);
    expectMonotonicToTotal(progress, size);
    expect(await storedSha(result.videoId)).toBe(sha);
  });

  it('resumes in a new SDK instance from the URL store without creating another upload', async () => {
    const size = 16 * MiB;
    const { file, sha } = await makeFile(size);
    const storePath = path.join(tempDir(), 'u.json');
    const opts = { apiBase: server.url, apiKey: tenant.key, storePath, chunkSize: 2 * MiB };
    const first = createUpload(file, opts);
    await new Promise<void>((resolve) => {
      first.on('progress', (p) => {
        if (p.bytesUploaded >= 5 * MiB && first.state === 'uploading') {
          first.pause();
          resolve();
        }
      });
      first.start();
    });
    const firstUrl = first.url!;
    const stored = Object.values(JSON.parse(readFileSync(storePath, 'utf8'))) as Array<{
      uploadUrl: string;
      vodcloud: { uploadId: string; videoId: string; headers: Record<string, string> };
    }>;
    expect(stored).toHaveLength(1);
    expect(stored[0]!.uploadUrl).toBe(firstUrl);
    expect(stored[0]!.vodcloud.headers.Authorization).toMatch(/^Bearer vut_/);
    const videosBefore = (await api('GET', '/v1/videos?limit=100')).json.data as unknown[];

    const second = createUpload(file, opts); // as after a reload or a restart
    const resumed: unknown[] = [];
    second.on('resumed', (r) => resumed.push(r));
    const progress = recordProgress(second);
    const result = await second.done();
    expect(resumed).toEqual([
      { url: firstUrl, videoId: stored[0]!.vodcloud.videoId, uploadId: stored[0]!.vodcloud.uploadId },
    ]);
    expect(progress[0]!.bytesUploaded).toBeGreaterThan(0);
    expect(result).toEqual({
      url: firstUrl,
      videoId: stored[0]!.vodcloud.videoId,
      uploadId: stored[0]!.vodcloud.uploadId,
    });
    const videosAfter = (await api('GET', '/v1/videos?limit=100')).json.data as unknown[];
    expect(videosAfter.length).toBe(videosBefore.length); // no POST /v1/uploads this time
    expect(await storedSha(result.videoId)).toBe(sha);
  });

  it('abort() stops, cancels the upload on the server and rejects with an AbortError', async () => {
    const { file } = await makeFile(12 * MiB);
    const storePath = path.join(tempDir(), 'u.json');
    const u = createUpload(file, { apiBase: server.url, apiKey: tenant.key, storePath, chunkSize: 1 * MiB });
    await new Promise<void>((resolve) => {
      u.on('progress', (p) => p.bytesUploaded > 2 * MiB && resolve());
      u.start();
    });
    const videoId = /\.(\w+)$/.exec(u.url!)![1]!;
    await u.abort();
    expect(u.state).toBe('aborted');
    const err = await u.promise.catch((e) => e);
    expect(err).toBeInstanceOf(VodUploadError);
    expect(err).toMatchObject({ name: 'AbortError', code: 'aborted' });
    expect((await api('GET', `/v1/videos/${videoId}`)).status).toBe(404); // placeholder removed
    expect(JSON.parse(readFileSync(storePath, 'utf8'))).toEqual({});
  });

  it('fails clearly on a bad API key, and on a read-only key at the tus endpoint', async () => {
    const u = createUpload(Buffer.from('x'), {
      apiBase: server.url,
      apiKey: `vk_${'A'.repeat(43)}`,
      urlStorage: false,
      retryDelays: [],
    });
    const errors: Error[] = [];
    u.on('error', (e) => errors.push(e));
    const err = await u.done().catch((e) => e);
    expect(err).toBeInstanceOf(VodUploadError);
    expect(err).toMatchObject({ code: 'http', status: 401 });
    expect(err.message).toMatch(/POST \/v1\/uploads failed: .*unknown or revoked.*\(HTTP 401\)/);
    expect(errors).toEqual([err]);
    expect(u.state).toBe('failed');

    const reader = await server.tenant('ro', ['read']);
    const direct = createUpload(Buffer.from('x'), {
      endpoint: `${server.url}/tus`,
      headers: { Authorization: `Bearer ${reader.key}` },
      urlStorage: false,
    });
    const err2 = await direct.done().catch((e) => e);
    expect(err2).toMatchObject({ code: 'http', status: 403 });
    expect(err2.message).toMatch(/read-only/);
  });

  it('uploads straight to the tus endpoint with an API key ({endpoint, headers}) with a title in metadata', async () => {
    const bytes = randomBytes(3 * MiB + 7);
    const u = createUpload(bytes, {
      endpoint: `${server.url}/tus`,
      headers: tenant.auth.authorization ? { Authorization: tenant.auth.authorization } : {},
      metadata: { title: 'direct' },
      urlStorage: false,
    });
    const result = await u.done();
    expect(result.uploadId).toMatch(/^[0-9A-Z]{26}$/);
    expect((await api('GET', `/v1/videos/${result.videoId}`)).json.title).toBe('direct');
    expect(await storedSha(result.videoId)).toBe(sha256(bytes));
  });
});

/** A TCP proxy that slows client→server bytes, so an upload can be killed while it is under way. */
async function startSlowProxy(target: string, bytesPerSec: number) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    const slow = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        this.push(chunk);
        setTimeout(cb, (chunk.length / bytesPerSec) * 1000);
      },
    });
    client.pipe(slow).pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    /** Drops the open connections (the listener stays): requests under way fail. */
    drop: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

interface ChildLine {
  type: 'progress' | 'resumed' | 'retry' | 'success' | 'error';
  bytes?: number;
  rate?: number;
  eta?: number | null;
  url?: string | null;
  videoId?: string;
  uploadId?: string;
  message?: string;
}

function runChild(env: Record<string, string>, onLine: (l: ChildLine, child: ChildProcess) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: ChildLine[] = [];
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, i)) as ChildLine;
      buf = buf.slice(i + 1);
      lines.push(line);
      onLine(line, child);
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('close', (code, signal) => r({ code, signal })),
  );
  return { child, lines, exited, stderr: () => stderr };
}

describe('retries', () => {
  it('retries with backoff when the connection drops mid-upload, then continues from the server offset', async () => {
    const size = 24 * MiB;
    const { file, sha } = await makeFile(size);
    const proxy = await startSlowProxy(server.url, 16 * MiB);
    try {
      const u = createUpload(file, {
        apiBase: proxy.url,
        apiKey: tenant.key,
        urlStorage: false,
        chunkSize: 4 * MiB,
        retryDelays: [50, 200, 500],
      });
      const retries: Array<{ attempt: number; delayMs: number; message: string }> = [];
      u.on('retry', (r) =>
        retries.push({ attempt: r.attempt, delayMs: r.delayMs, message: r.error.message }),
      );
      let dropped = false;
      u.on('progress', (p) => {
        if (!dropped && p.bytesUploaded > 6 * MiB) {
          dropped = true;
          proxy.drop();
        }
      });
      const result = await u.done();
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 50 });
      expect(await storedSha(result.videoId)).toBe(sha);
    } finally {
      await proxy.close();
    }
  });
});

describe('resuming after the uploading process is killed', () => {
  it('a second process continues the upload where the SIGKILLed one stopped; the result is byte-exact', async () => {
    const size = 60 * MiB;
    const { file, sha } = await makeFile(size, 'big.mov');
    const proxy = await startSlowProxy(server.url, 12 * MiB);
    try {
      const env = {
        FILE: file,
        API: proxy.url,
        KEY: tenant.key,
        STORE: path.join(tempDir(), 'uploads.json'),
        CHUNK: String(5 * MiB),
      };
      // First process: killed once it has sent ~15 MB (mid-chunk, a PATCH under way).
      const first = runChild(env, (l, child) => {
        if (l.type === 'progress' && l.bytes! >= 15 * MiB) child.kill('SIGKILL');
      });
      const end1 = await first.exited;
      expect(end1.signal, first.stderr()).toBe('SIGKILL');
      const lastUrl = first.lines.findLast((l) => l.url)?.url;
      expect(lastUrl).toMatch(/\/tus\//);
      const videoId = /\.(\w+)$/.exec(lastUrl!)![1]!;
      expect(first.lines.some((l) => l.type === 'success')).toBe(false);

      // What the server holds now: part of the file.
      const uploads = await api('GET', `/v1/videos/${videoId}`);
      expect(uploads.json.status).toBe('uploading');

      // Second process, same store: resumes.
      const second = runChild(env, () => {});
      const end2 = await second.exited;
      expect(end2.code, `${JSON.stringify(second.lines.slice(-3))}\n${second.stderr()}`).toBe(0);
      const resumed = second.lines.find((l) => l.type === 'resumed');
      expect(resumed).toMatchObject({ videoId, url: lastUrl });
      const firstProgress = second.lines.find((l) => l.type === 'progress')!;
      expect(firstProgress.bytes).toBeGreaterThan(0); // it did not start from zero
      expect(firstProgress.bytes).toBeLessThan(size);
      // Over the slowed link the rate is measurable, and gives an ETA.
      expect(second.lines.some((l) => l.type === 'progress' && l.rate! > 0 && l.eta !== null)).toBe(true);
      const success = second.lines.find((l) => l.type === 'success')!;
      expect(success).toMatchObject({ videoId, url: lastUrl });
      expect(await storedSha(videoId)).toBe(sha);
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
