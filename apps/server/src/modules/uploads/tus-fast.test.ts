// tus PATCH on a real listening server: the fast path on the file store (tus-fast.ts) and the library on S3
// (Ceph RGW when it runs here) answer the same: bytes stored byte-exact, a broken-off PATCH keeps what
// arrived, a second PATCH on a busy upload, a wrong offset, a body past the declared length.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { S3ObjectStore } from '@vodcloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { engineUrl } from '../../../../../test/support/engines';
import { createUploadVia, objectSha, sha256, waitFor } from '../../../../../test/support/uploads';

const s3 = engineUrl('s3', 'tus PATCH on Ceph RGW (S3)');
const stores = [
  { name: 'file store', fast: true, available: true, env: () => ({}) },
  {
    name: 'S3 store (Ceph RGW)',
    fast: false,
    available: !!s3,
    env: () => ({
      VOD_STORAGE_URL: `s3://vodfast-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}?endpoint=${s3}`,
      VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
      VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
    }),
  },
];

const MiB = 1024 * 1024;
const TUS = { 'tus-resumable': '1.0.0' };
const OCTETS = { 'content-type': 'application/offset+octet-stream' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A PATCH whose body the test sends piece by piece (`send`), then ends (`end`) or breaks off (`cut`).
 * `answer` settles with the response, or with status 0 when the connection closed without one.
 */
function openPatch(location: string, headers: Record<string, string>) {
  const u = new URL(location);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers });
  const answer = new Promise<Answer>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', () => resolve({ status: 0, headers: {}, body: '' }));
  });
  req.flushHeaders();
  return {
    answer,
    send: (b: Buffer) => new Promise<void>((r) => (req.write(b) ? r() : req.once('drain', () => r()))),
    end: (b?: Buffer) => {
      req.end(b);
      return answer;
    },
    cut: () => req.destroy(),
  };
}

for (const store of stores) {
  describe.skipIf(!store.available)(`tus PATCH on the ${store.name}`, () => {
    let s: TestServer;
    let a: Awaited<ReturnType<TestServer['tenant']>>;
    /** PATCHes whose bytes went through @tus/server's store write (the library path). */
    let libraryWrites = 0;
    beforeAll(async () => {
      s = await startTestServer({ ...store.env(), VOD_RATE_LIMIT_PER_MINUTE: '100000' });
      a = await s.tenant('fast');
      const ds = s.ctx.tus!.datastore;
      const write = ds.write.bind(ds);
      ds.write = (stream, id, offset) => {
        libraryWrites++;
        return write(stream, id, offset);
      };
    });
    afterAll(async () => {
      const storage = s?.ctx.ports.storage;
      await s?.close();
      if (storage?.kind === 's3') await (storage as S3ObjectStore).removeBucket().catch(() => undefined);
    });

    const create = async (length: number) => {
      const c = await createUploadVia(s.url, a.auth);
      const res = await fetch(c.url, {
        method: 'POST',
        headers: { ...c.headers, ...TUS, 'upload-length': String(length) },
      });
      expect(res.status).toBe(201);
      const location = res.headers.get('location')!;
      const head = async () => {
        const h = await fetch(location, { method: 'HEAD', headers: { ...c.headers, ...TUS } });
        return Number(h.headers.get('upload-offset'));
      };
      const patch = (offset: number, body: Buffer, extra: Record<string, string> = {}) =>
        fetch(location, {
          method: 'PATCH',
          headers: { ...c.headers, ...TUS, ...OCTETS, 'upload-offset': String(offset), ...extra },
          body: new Uint8Array(body),
        });
      const raw = (offset: number, extra: Record<string, string> = {}) =>
        openPatch(location, { ...c.headers, ...TUS, ...OCTETS, 'upload-offset': String(offset), ...extra });
      // The offset without the lock (a HEAD takes the upload's lock, so it would stop a PATCH under way).
      const stored = async () =>
        (await (await fetch(`${s.url}/v1/uploads/${c.id}`, { headers: a.auth })).json()).offset as number;
      return { ...c, location, head, stored, patch, raw };
    };
    const storedSha = (videoId: string) =>
      waitFor(
        async () => {
          const key = `${a.id}/${videoId}/source`;
          return (await s.ctx.ports.storage.head(key)) ? objectSha(s.ctx.ports.storage, key) : undefined;
        },
        30_000,
        'the source object',
      );
    /** vod_upload_received_bytes_total, from GET /metrics. */
    const receivedBytes = async () => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return Number(/^vod_upload_received_bytes_total(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const statusOf = async (uploadId: string) =>
      (await (await fetch(`${s.url}/v1/uploads/${uploadId}`, { headers: a.auth })).json()).status;

    it(`stores PATCHed bytes byte-exact and finishes the upload as the library does (${store.fast ? 'fast path' : 'library'})`, async () => {
      const writesBefore = libraryWrites;
      const bytesBefore = await receivedBytes();
      const data = randomBytes(20 * MiB + 7);
      const u = await create(data.length);
      const first = await u.patch(0, data.subarray(0, 7 * MiB + 3));
      expect(first.status).toBe(204);
      expect(first.headers.get('upload-offset')).toBe(String(7 * MiB + 3));
      expect(first.headers.get('tus-resumable')).toBe('1.0.0');
      expect(Date.parse(first.headers.get('upload-expires') ?? '')).toBeGreaterThan(Date.now());
      expect(first.headers.get('access-control-expose-headers')).toContain('Upload-Offset');
      expect(await statusOf(u.id)).toBe('uploading');
      const last = await u.patch(7 * MiB + 3, data.subarray(7 * MiB + 3));
      expect(last.status).toBe(204);
      expect(last.headers.get('upload-offset')).toBe(String(data.length));
      expect(last.headers.get('upload-expires')).toBeNull();
      expect(last.headers.get('x-video-id')).toBe(u.videoId);
      expect(last.headers.get('x-upload-id')).toBe(u.id);
      expect(await statusOf(u.id)).toBe('complete');
      expect(await storedSha(u.videoId)).toBe(sha256(data));
      // The finish hooks: the source is published, the pipeline's job queued, one upload.completed event.
      await waitFor(async () =>
        (await s.ctx.ports.queue.getJob(`finalize.${u.videoId}`))?.state === 'completed' ? true : undefined,
      );
      expect(await s.ctx.ports.queue.getJob(`process.${u.videoId}`)).toBeDefined();
      const events = (await s.ctx.events.list(a.id, { videoId: u.videoId })).filter(
        (e) => e.type === 'upload.completed',
      );
      expect(events).toHaveLength(1);
      expect(libraryWrites - writesBefore).toBe(store.fast ? 0 : 2);
      expect((await receivedBytes()) - bytesBefore).toBe(data.length);
    });

    it('keeps the bytes of a PATCH the client broke off, and the upload resumes from the offset HEAD gives', async () => {
      const data = randomBytes(24 * MiB + 11);
      const u = await create(data.length);
      const p = u.raw(0, { 'content-length': String(data.length) });
      const sent = 10 * MiB;
      await p.send(data.subarray(0, sent));
      // The file store writes as bytes arrive; S3 stores whole 8 MiB parts while the PATCH goes on.
      await waitFor(
        async () => ((await u.stored()) >= (store.fast ? sent : 8 * MiB) ? true : undefined),
        20_000,
        'the bytes sent so far to be stored',
      );
      p.cut();
      expect((await p.answer).status).toBe(0);
      // The PATCH's end is stored (S3: its last piece as the incomplete part): HEAD settles on what arrived.
      const offset = await waitFor(async () => {
        const o = await u.head();
        await sleep(300);
        return o === (await u.head()) && o >= 8 * MiB ? o : undefined;
      });
      if (store.fast) expect(offset).toBe(sent);
      expect(offset).toBeLessThanOrEqual(sent);
      expect(await statusOf(u.id)).toBe('uploading');
      const rest = await u.patch(offset, data.subarray(offset));
      expect(rest.status).toBe(204);
      expect(rest.headers.get('upload-offset')).toBe(String(data.length));
      expect(await storedSha(u.videoId)).toBe(sha256(data));
    });

    it('answers a PATCH at a wrong offset 409 and stores nothing of it', async () => {
      const data = randomBytes(3 * MiB);
      const u = await create(data.length);
      expect((await u.patch(0, data.subarray(0, MiB))).status).toBe(204);
      for (const offset of [0, MiB - 1, MiB + 1]) {
        const wrong = await u.patch(offset, Buffer.alloc(1000, 0xee));
        expect(wrong.status).toBe(409);
        expect(await wrong.text()).toBe('Upload-Offset conflict\n');
      }
      expect(await u.head()).toBe(MiB);
      expect((await u.patch(MiB, data.subarray(MiB))).status).toBe(204);
      expect(await storedSha(u.videoId)).toBe(sha256(data));
    });

    it('refuses bytes past the declared length with 413: by Content-Length before any is stored, and chunked', async () => {
      const data = randomBytes(2 * MiB);
      const u = await create(data.length);
      const tooLong = await u.patch(0, Buffer.concat([data, Buffer.from([1])]));
      expect(tooLong.status).toBe(413);
      expect(await u.head()).toBe(0);
      // No Content-Length (chunked): the body is cut where it passes the length.
      const p = u.raw(0, { 'transfer-encoding': 'chunked' });
      await p.send(data.subarray(0, MiB));
      await p.send(Buffer.concat([data.subarray(MiB), Buffer.from([1, 2, 3])]));
      const answer = await p.end();
      expect(answer.status).toBe(413);
      const offset = await u.head();
      expect(offset).toBeLessThan(data.length);
      expect(await statusOf(u.id)).toBe('uploading');
      expect((await u.patch(offset, data.subarray(offset))).status).toBe(204);
      expect(await storedSha(u.videoId)).toBe(sha256(data));
    });

    it('lets a second PATCH take a busy upload over as before: the first stops, keeping its bytes; the second, at its stale offset, gets 409', async () => {
      const data = randomBytes(12 * MiB);
      const u = await create(data.length);
      const p = u.raw(0, { 'content-length': String(data.length) });
      await p.send(data.subarray(0, 9 * MiB));
      await waitFor(
        async () => ((await u.stored()) >= (store.fast ? 9 * MiB : 8 * MiB) ? true : undefined),
        20_000,
        'the first PATCH to be under way',
      );
      // Another client (or the same one, reconnected) sends from where it last knew: offset 0.
      const started = Date.now();
      const second = await u.patch(0, data.subarray(0, MiB));
      const waited = Date.now() - started;
      expect(second.status).toBe(409);
      // The holder was asked to let go and stopped reading after the lock's drain time (3 s).
      expect(waited).toBeGreaterThanOrEqual(2500);
      const first = await p.answer;
      expect(first.status).toBe(204);
      expect(first.headers.connection).toBe('close');
      const offset = Number(first.headers['upload-offset']);
      expect(offset).toBeGreaterThanOrEqual(8 * MiB);
      expect(offset).toBeLessThanOrEqual(9 * MiB);
      p.cut();
      expect(await u.head()).toBe(offset);
      expect((await u.patch(offset, data.subarray(offset))).status).toBe(204);
      expect(await storedSha(u.videoId)).toBe(sha256(data));
    });

    it('sends a PATCH with headers the fast path does not take (Upload-Length) to the library', async () => {
      const writesBefore = libraryWrites;
      const u = await create(100);
      const res = await u.patch(0, Buffer.alloc(10), { 'upload-length': '100' });
      // The store does not offer creation-defer-length (lengths are declared at creation).
      expect(res.status).toBe(501);
      expect(await u.head()).toBe(0);
      expect(libraryWrites).toBe(writesBefore);
    });
  });
}
