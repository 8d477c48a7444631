// Issue 13: `GET /v1/videos/{id}/source` (docs/api.md) answered 404 "No route". Against a real server.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3ObjectStore } from '@vodcloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { engineUrl } from '../../../../../test/support/engines';
import { createUploadVia, sha256, tusUpload, waitFor } from '../../../../../test/support/uploads';
import { makeClip } from '../../../../../test/support/videos';
import { attachment, sourceType } from './source-routes';

type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
const s3 = engineUrl('s3', 'the source endpoint on Ceph RGW (S3)');

/** Uploads `data` with tus (with `filename` metadata when given) and waits until the video settles. */
async function upload(s: TestServer, t: Tenant, data: Buffer, filename?: string) {
  const c = await createUploadVia(s.url, t.auth);
  await tusUpload(data, {
    endpoint: c.url,
    headers: c.headers,
    metadata: filename ? { filename } : {},
  }).promise;
  await waitFor(
    async () => {
      const v = await (await fetch(`${s.url}/v1/videos/${c.videoId}`, { headers: t.auth })).json();
      return v.status === 'ready' || v.status === 'errored' ? v : undefined;
    },
    90_000,
    'the video to settle',
  );
  return c.videoId;
}

describe('finding: GET /v1/videos/{id}/source (in the contract) does not exist', () => {
  let s: TestServer;
  let a: Tenant;
  let b: Tenant;
  let clip: Buffer;
  let videoId: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'vodsource-'));
  beforeAll(async () => {
    s = await startTestServer({ VOD_RATE_LIMIT_PER_MINUTE: '100000' });
    a = await s.tenant('source-a');
    b = await s.tenant('source-b');
    clip = readFileSync(await makeClip(path.join(dir, 'c.mp4'), { duration: 1, size: '160x90' }));
    videoId = await upload(s, a, clip, 'Ma vidéo "test".mp4');
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (id: string, headers: Record<string, string> = a.auth, method = 'GET') =>
    fetch(`${s.url}/v1/videos/${id}/source`, { method, headers });

  it('serves the original byte-exact, typed from the probe, as an attachment with a safe file name', async () => {
    const res = await get(videoId);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(sha256(clip));
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-length')).toBe(String(clip.length));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="Ma vid_o test.mp4"; filename*=UTF-8''Ma%20vid%C3%A9o%20test.mp4`,
    );
  });

  it('answers Range with 206, an unsatisfiable one with 416, and HEAD without a body', async () => {
    const part = await get(videoId, { ...a.auth, range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${clip.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(clip.subarray(100, 200))).toBe(true);
    const tail = await get(videoId, { ...a.auth, range: 'bytes=-10' });
    expect(Buffer.from(await tail.arrayBuffer()).equals(clip.subarray(clip.length - 10))).toBe(true);
    const outside = await get(videoId, { ...a.auth, range: `bytes=${clip.length + 5}-` });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${clip.length}`);
    expect((await outside.json()).code).toBe('range_not_satisfiable');
    const head = await get(videoId, a.auth, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(clip.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("needs a read key of the video's tenant: another tenant's video is a 404 like a missing one", async () => {
    const theirs = await get(videoId, b.auth);
    const missing = await get('01ARZ3NDEKTSV4RRFFQ69G5FAV', b.auth);
    expect([theirs.status, missing.status]).toEqual([404, 404]);
    const [t, m] = [await theirs.json(), await missing.json()];
    expect({ ...t, requestId: undefined }).toEqual({ ...m, requestId: undefined });
    expect((await get(videoId, {})).status).toBe(401);
    const ro = await s.tenant('source-ro', ['read']);
    expect((await get(videoId, ro.auth)).status).toBe(404); // another tenant's read key
    const c = await createUploadVia(s.url, a.auth);
    expect((await get(videoId, c.headers)).status).toBe(401); // an upload token is not an API key
  });

  it('answers 404 not_found while the source is not stored yet, and octet-stream for what the probe refused', async () => {
    const waiting = await createUploadVia(s.url, a.auth);
    const res = await get(waiting.videoId);
    expect(res.status).toBe(404);
    const problem = await res.json();
    expect(problem.code).toBe('not_found');
    expect(problem.detail).toMatch(/not stored yet/);
    const junk = randomBytes(30_000);
    const junkId = await upload(s, a, junk, '../../etc/pa\u202Eyl\u0000.mp4');
    const got = await get(junkId);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('content-disposition')).toBe(
      `attachment; filename="payl.mp4"; filename*=UTF-8''payl.mp4`,
    );
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(junk));
  });

  it('is in the OpenAPI document, for the read scope', async () => {
    const doc = await (await fetch(`${s.url}/openapi.json`)).json();
    expect(doc.paths['/v1/videos/{id}/source']?.get?.tags).toEqual(['videos']);
  });

  it('names the file safely whatever the client called it', () => {
    expect(attachment(undefined, 'V1', '.mp4')).toBe(
      `attachment; filename="V1.mp4"; filename*=UTF-8''V1.mp4`,
    );
    expect(attachment('a\r\nSet-Cookie: x=1', 'V1', '')).toBe(
      `attachment; filename="aSet-Cookie x_1"; filename*=UTF-8''aSet-Cookie%20x%3D1`,
    );
    expect(attachment('...', 'V1', '.ts')).toContain('filename="V1.ts"');
    expect(sourceType(JSON.stringify({ container: 'mov,mp4,m4a,3gp,3g2,mj2' })).type).toBe('video/mp4');
    expect(sourceType(JSON.stringify({ container: 'matroska,webm' })).type).toBe('video/x-matroska');
    expect(sourceType(null).type).toBe('application/octet-stream');
  });
});

describe.skipIf(!s3)('the source endpoint with S3 and VOD_STREAM_REDIRECT=presigned', () => {
  let s: TestServer;
  let a: Tenant;
  beforeAll(async () => {
    s = await startTestServer({
      VOD_STORAGE_URL: `s3://vodsrc-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}?endpoint=${s3}`,
      VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
      VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
      VOD_STREAM_REDIRECT: 'presigned',
      VOD_RATE_LIMIT_PER_MINUTE: '100000',
    });
    a = await s.tenant('source-s3');
  });
  afterAll(async () => {
    const storage = s?.ctx.ports.storage;
    await s?.close();
    await (storage as S3ObjectStore | undefined)?.removeBucket().catch(() => undefined);
  });

  it('redirects GET to a presigned URL of the byte-exact original; HEAD is answered directly', async () => {
    const data = randomBytes(20_000);
    const id = await upload(s, a, data);
    const res = await fetch(`${s.url}/v1/videos/${id}/source`, { headers: a.auth, redirect: 'manual' });
    expect(res.status).toBe(302);
    const moved = await fetch(res.headers.get('location')!);
    expect(sha256(Buffer.from(await moved.arrayBuffer()))).toBe(sha256(data));
    const head = await fetch(`${s.url}/v1/videos/${id}/source`, { method: 'HEAD', headers: a.auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
  });
});
