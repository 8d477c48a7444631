import { randomBytes } from 'node:crypto';
import type { S3ObjectStore } from '@vodcloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { engineUrl } from '../../../../../test/support/engines';
import { createUploadVia, objectSha, sha256, tusUpload, waitFor } from '../../../../../test/support/uploads';

const s3 = engineUrl('s3', 'upload suite on Ceph RGW (S3)');
const s3Env = () => ({
  VOD_STORAGE_URL: `s3://vodup-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}?endpoint=${s3}`,
  VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
  VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
});

const stores = [
  { name: 'file store', available: true, env: () => ({}) },
  { name: 'S3 store (Ceph RGW)', available: !!s3, env: s3Env },
];

type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
const TUS = { 'tus-resumable': '1.0.0' };
const bytes = (n: number) => new Blob([new Uint8Array(n)]);

for (const store of stores) {
  describe.skipIf(!store.available)(`uploads on the ${store.name}`, () => {
    let s: TestServer;
    let a: Tenant;
    let b: Tenant;
    beforeAll(async () => {
      s = await startTestServer({
        ...store.env(),
        VOD_RATE_LIMIT_PER_MINUTE: '100000',
        VOD_UPLOAD_MAX_BYTES: String(200 * 1024 * 1024),
      });
      a = await s.tenant('uploader-a');
      b = await s.tenant('uploader-b');
    });
    afterAll(async () => {
      const storage = s?.ctx.ports.storage;
      await s?.close();
      if (storage?.kind === 's3') await (storage as S3ObjectStore).removeBucket().catch(() => undefined);
    });

    const sourceKey = (t: Tenant, videoId: string) => `${t.id}/${videoId}/source`;
    const storedSha = (t: Tenant, videoId: string) =>
      waitFor(
        async () =>
          (await s.ctx.ports.storage.head(sourceKey(t, videoId)))
            ? objectSha(s.ctx.ports.storage, sourceKey(t, videoId))
            : undefined,
        20_000,
        'the source object',
      );
    const video = async (t: Tenant, id: string) =>
      (await fetch(`${s.url}/v1/videos/${id}`, { headers: t.auth })).json();

    it('takes a tus-js-client upload byte-exact into storage, then queues the video and records upload.completed once', async () => {
      const data = randomBytes(13 * 1024 * 1024 + 123);
      const created = await createUploadVia(s.url, a.auth, { title: 'first' });
      expect(created.url).toBe(`${s.url}/tus`);
      expect(created.headers.Authorization).toMatch(/^Bearer vut_/);
      const up = tusUpload(data, {
        endpoint: created.url,
        headers: created.headers,
        metadata: { filename: 'clip.mp4' },
      });
      const url = await up.promise;
      expect(url).toBe(`${s.url}/tus/${a.id}.${created.videoId}`);
      expect(await storedSha(a, created.videoId)).toBe(sha256(data));
      const v = await waitFor(async () => {
        const x = await video(a, created.videoId);
        // Random bytes: once queued, the pipeline takes it and errors it as non_video.
        return x.status === 'errored' ? x : undefined;
      });
      // Random bytes are not a video; now and then they start like some container by chance (seen once in CI:
      // malformed_media), so either refusal is right here: this test is about the upload.
      expect(['non_video', 'malformed_media']).toContain(v.error.code);
      expect(v.sizeBytes).toBe(data.length);
      const status = await (await fetch(`${s.url}/v1/uploads/${created.id}`, { headers: a.auth })).json();
      expect(status).toMatchObject({
        status: 'complete',
        offset: data.length,
        size: data.length,
        videoId: created.videoId,
      });
      await waitFor(async () =>
        (await s.ctx.ports.queue.getJob(`process.${created.videoId}`))?.state === 'completed'
          ? true
          : undefined,
      );

      // A retried final PATCH changes nothing: still one event, one finalize job.
      const again = await fetch(url, {
        method: 'PATCH',
        headers: {
          ...created.headers,
          ...TUS,
          'upload-offset': String(data.length),
          'content-type': 'application/offset+octet-stream',
        },
        body: bytes(0),
      });
      expect([204, 404, 410]).toContain(again.status);
      const events = (await s.ctx.events.list(a.id, { videoId: created.videoId })).filter(
        (e) => e.type === 'upload.completed',
      );
      expect(events).toHaveLength(1);
      expect((await s.ctx.ports.queue.getJob(`finalize.${created.videoId}`))?.state).toBe('completed');
    });

    it('resumes after the client aborts mid-upload', async () => {
      const data = randomBytes(16 * 1024 * 1024);
      const created = await createUploadVia(s.url, a.auth);
      let aborted = false;
      const first = tusUpload(data, {
        endpoint: created.url,
        headers: created.headers,
        chunkSize: 6 * 1024 * 1024,
        onChunkComplete: (_c, sent) => {
          if (!aborted && sent >= 6 * 1024 * 1024) {
            aborted = true;
            first.upload.abort();
          }
        },
      });
      await waitFor(async () => (aborted ? true : undefined));
      const offset = (await (await fetch(`${s.url}/v1/uploads/${created.id}`, { headers: a.auth })).json())
        .offset;
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(data.length);
      const resumedFrom: number[] = [];
      const second = tusUpload(data, {
        uploadUrl: first.upload.url!,
        headers: created.headers,
        onProgress: (sent) => resumedFrom.push(sent),
      });
      await second.promise;
      expect(resumedFrom[0]).toBeGreaterThanOrEqual(offset);
      expect(await storedSha(a, created.videoId)).toBe(sha256(data));
    });

    it('takes a creation sent again with the same token when the first was cut off after the upload was marked started', async () => {
      // The chaos suite's Redis restart: the lock or the store failed inside the creation POST, after the
      // upload row had left `waiting`; the retried POST answered 409 (token spent) and the URL 404.
      const data = randomBytes(300 * 1024);
      const created = await createUploadVia(s.url, a.auth, { title: 'cut off' });
      const store = s.ctx.tus!.datastore;
      const create = store.create.bind(store);
      let calls = 0;
      store.create = async (upload) => {
        if (calls++ === 0) throw new Error('the store is unavailable (test)');
        return create(upload);
      };
      try {
        await tusUpload(data, { endpoint: created.url, headers: created.headers, retryDelays: [0, 100, 200] })
          .promise;
      } finally {
        store.create = create;
      }
      expect(calls).toBe(2);
      expect(await storedSha(a, created.videoId)).toBe(sha256(data));
      // A token whose upload exists is still spent.
      const again = await fetch(created.url, {
        method: 'POST',
        headers: { ...TUS, ...created.headers, 'upload-length': String(data.length) },
      });
      expect(again.status).toBe(409);
    });

    it('takes 20 uploads in parallel, all byte-exact', async () => {
      const items = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const data = randomBytes(256 * 1024 + i * 7919);
          const created = await createUploadVia(s.url, a.auth, { title: `p${i}` });
          return { data, created };
        }),
      );
      await Promise.all(
        items.map(
          ({ data, created }) => tusUpload(data, { endpoint: created.url, headers: created.headers }).promise,
        ),
      );
      for (const { data, created } of items) expect(await storedSha(a, created.videoId)).toBe(sha256(data));
    });

    it('accepts an API key on the tus endpoint and creates the video from Upload-Metadata', async () => {
      const data = randomBytes(300_000);
      const url = await tusUpload(data, {
        endpoint: `${s.url}/tus`,
        headers: a.auth,
        metadata: { filename: 'talk.mov', title: 'My talk' },
      }).promise;
      const videoId = /\.([0-9A-Z]{26})$/.exec(url)![1]!;
      expect(await storedSha(a, videoId)).toBe(sha256(data));
      expect((await video(a, videoId)).title).toBe('My talk');
      const ro = await s.tenant('readonly-uploader', ['read']);
      const refused = await fetch(`${s.url}/tus`, {
        method: 'POST',
        headers: { ...ro.auth, ...TUS, 'upload-length': '10' },
      });
      expect(refused.status).toBe(403);
    });

    describe('the tus protocol', () => {
      const createTus = async (length: number) => {
        const created = await createUploadVia(s.url, a.auth);
        const res = await fetch(created.url, {
          method: 'POST',
          headers: { ...created.headers, ...TUS, 'upload-length': String(length) },
        });
        expect(res.status).toBe(201);
        return { ...created, location: res.headers.get('location')! };
      };
      const patch = (url: string, headers: Record<string, string>, body: Blob) =>
        fetch(url, { method: 'PATCH', headers, body });

      it('advertises its version, extensions and limit on OPTIONS', async () => {
        const res = await fetch(`${s.url}/tus`, { method: 'OPTIONS', headers: TUS });
        expect(res.status).toBe(204);
        expect(res.headers.get('tus-version')).toContain('1.0.0');
        const ext = res.headers.get('tus-extension') ?? '';
        for (const e of ['creation', 'creation-with-upload', 'termination', 'expiration'])
          expect(ext).toContain(e);
        expect(Number(res.headers.get('tus-max-size'))).toBe(200 * 1024 * 1024);
      });

      it('exposes the tus headers to browsers (CORS), and answers preflights', async () => {
        const t = await createTus(10);
        const pre = await fetch(t.location, {
          method: 'OPTIONS',
          headers: {
            origin: 'https://app.example',
            'access-control-request-method': 'PATCH',
            'access-control-request-headers': 'authorization,upload-offset,tus-resumable,content-type',
          },
        });
        expect(pre.status).toBe(204);
        expect(pre.headers.get('access-control-allow-methods')).toContain('PATCH');
        expect((pre.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain(
          'upload-offset',
        );
        const res = await fetch(t.location, {
          method: 'HEAD',
          headers: { ...t.headers, ...TUS, origin: 'https://app.example' },
        });
        const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
        for (const h of ['location', 'upload-offset', 'upload-length', 'tus-resumable'])
          expect(exposed).toContain(h);
      });

      it('answers protocol errors with the statuses tus defines', async () => {
        const t = await createTus(100);
        const ok = { ...t.headers, ...TUS, 'content-type': 'application/offset+octet-stream' };
        expect((await patch(t.location, { ...ok, 'upload-offset': '5' }, bytes(10))).status).toBe(409);
        const noTus: Record<string, string> = { ...ok, 'upload-offset': '0' };
        delete noTus['tus-resumable'];
        expect((await patch(t.location, noTus, bytes(10))).status).toBe(412);
        expect(
          (
            await patch(
              t.location,
              { ...ok, 'upload-offset': '0', 'content-type': 'application/json' },
              bytes(10),
            )
          ).status,
        ).toBe(415);
        expect((await patch(t.location, { ...ok, 'upload-offset': '0' }, bytes(150))).status).toBe(413);
        expect((await patch(t.location, { ...ok, 'upload-offset': '0' }, bytes(40))).status).toBe(204);
        const head = await fetch(t.location, { method: 'HEAD', headers: { ...t.headers, ...TUS } });
        expect(head.headers.get('upload-offset')).toBe('40');
        expect(head.headers.get('upload-length')).toBe('100');
        const unknown = `${s.url}/tus/${a.id}.01ARZ3NDEKTSV4RRFFQ69G5FAV`;
        expect((await patch(unknown, { ...ok, 'upload-offset': '0' }, bytes(1))).status).toBe(404);
        expect(
          (await fetch(`${s.url}/tus/garbage`, { method: 'HEAD', headers: { ...t.headers, ...TUS } })).status,
        ).toBe(404);
        // termination
        const del = await fetch(t.location, { method: 'DELETE', headers: { ...t.headers, ...TUS } });
        expect(del.status).toBe(204);
        expect([404, 410]).toContain(
          (await patch(t.location, { ...ok, 'upload-offset': '40' }, bytes(1))).status,
        );
        const status = await (await fetch(`${s.url}/v1/uploads/${t.id}`, { headers: a.auth })).json();
        expect(status.status).toBe('cancelled');
        expect((await fetch(`${s.url}/v1/videos/${t.videoId}`, { headers: a.auth })).status).toBe(404);
      });

      it('refuses a second creation with the same upload token', async () => {
        const t = await createTus(10);
        const again = await fetch(t.url, {
          method: 'POST',
          headers: { ...t.headers, ...TUS, 'upload-length': '10' },
        });
        expect(again.status).toBe(409);
      });
    });

    describe('limits, tokens and tenants', () => {
      it('refuses sizes above the upload, the platform or the tenant quota with 413 before storing bytes', async () => {
        const small = await createUploadVia(s.url, a.auth, { maxSizeBytes: 1000 });
        const over = await fetch(small.url, {
          method: 'POST',
          headers: { ...small.headers, ...TUS, 'upload-length': '1001' },
        });
        expect(over.status).toBe(413);
        const fits = await fetch(small.url, {
          method: 'POST',
          headers: { ...small.headers, ...TUS, 'upload-length': '1000' },
        });
        expect(fits.status).toBe(201);

        const platform = await createUploadVia(s.url, a.auth);
        const tooBig = await fetch(platform.url, {
          method: 'POST',
          headers: { ...platform.headers, ...TUS, 'upload-length': String(201 * 1024 * 1024) },
        });
        expect(tooBig.status).toBe(413);
        const askTooMuch = await fetch(`${s.url}/v1/uploads`, {
          method: 'POST',
          headers: { ...a.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ maxSizeBytes: 300 * 1024 * 1024 }),
        });
        expect(askTooMuch.status).toBe(413);

        const q = await s.tenant('quota');
        const admin = { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' };
        const set = await fetch(`${s.url}/v1/tenants/${q.id}`, {
          method: 'PATCH',
          headers: admin,
          body: JSON.stringify({ storageQuotaBytes: 1_000_000 }),
        });
        expect((await set.json()).storageQuotaBytes).toBe(1_000_000);
        const u1 = await createUploadVia(s.url, q.auth);
        await tusUpload(randomBytes(600_000), { endpoint: u1.url, headers: u1.headers }).promise;
        const u2 = await createUploadVia(s.url, q.auth);
        const overQuota = await fetch(u2.url, {
          method: 'POST',
          headers: { ...u2.headers, ...TUS, 'upload-length': '500000' },
        });
        expect(overQuota.status).toBe(413);
        const withinQuota = await fetch(u2.url, {
          method: 'POST',
          headers: { ...u2.headers, ...TUS, 'upload-length': '300000' },
        });
        expect(withinQuota.status).toBe(201);
        // API-key uploads are held to the quota too, and leave no placeholder video when refused.
        const before = (await (await fetch(`${s.url}/v1/videos?limit=100`, { headers: q.auth })).json()).data
          .length;
        const keyOver = await fetch(`${s.url}/tus`, {
          method: 'POST',
          headers: { ...q.auth, ...TUS, 'upload-length': '500000' },
        });
        expect(keyOver.status).toBe(413);
        expect(
          (await (await fetch(`${s.url}/v1/videos?limit=100`, { headers: q.auth })).json()).data.length,
        ).toBe(before);
      });

      it('refuses wrong and expired tokens with 401 without saying whether the upload exists', async () => {
        const t = await createUploadVia(s.url, a.auth);
        const created = await fetch(t.url, {
          method: 'POST',
          headers: { ...t.headers, ...TUS, 'upload-length': '10' },
        });
        const location = created.headers.get('location')!;
        const wrong = { authorization: 'Bearer vut_wrongwrongwrongwrongwrongwrongwrongwrong123' };
        const r1 = await fetch(location, { method: 'HEAD', headers: { ...wrong, ...TUS } });
        const r2 = await fetch(`${s.url}/tus/${a.id}.01ARZ3NDEKTSV4RRFFQ69G5FAV`, {
          method: 'HEAD',
          headers: { ...wrong, ...TUS },
        });
        expect(r1.status).toBe(401);
        expect(r2.status).toBe(401);
        expect((await fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(401);
        await s.ctx.db.primary
          .updateTable('uploads')
          .set({ expires_at: '2000-01-01T00:00:00.000Z' })
          .where('id', '=', t.id)
          .execute();
        expect((await fetch(location, { method: 'HEAD', headers: { ...t.headers, ...TUS } })).status).toBe(
          401,
        );
      });

      it('keeps tenants apart: 404 for another tenant’s upload, by token, by key and on the API', async () => {
        const t = await createUploadVia(s.url, a.auth);
        const created = await fetch(t.url, {
          method: 'POST',
          headers: { ...t.headers, ...TUS, 'upload-length': '10' },
        });
        const location = created.headers.get('location')!;
        // tenant B's API key on A's upload
        expect((await fetch(location, { method: 'HEAD', headers: { ...b.auth, ...TUS } })).status).toBe(404);
        const patchAsB = await fetch(location, {
          method: 'PATCH',
          headers: {
            ...b.auth,
            ...TUS,
            'upload-offset': '0',
            'content-type': 'application/offset+octet-stream',
          },
          body: bytes(10),
        });
        expect(patchAsB.status).toBe(404);
        // another upload's token on this upload
        const other = await createUploadVia(s.url, b.auth);
        expect(
          (await fetch(location, { method: 'HEAD', headers: { ...other.headers, ...TUS } })).status,
        ).toBe(404);
        expect((await fetch(`${s.url}/v1/uploads/${t.id}`, { headers: b.auth })).status).toBe(404);
        expect(
          (await fetch(`${s.url}/v1/uploads/${t.id}`, { method: 'DELETE', headers: b.auth })).status,
        ).toBe(404);
        // and A's upload is untouched
        expect(
          (await fetch(location, { method: 'HEAD', headers: { ...t.headers, ...TUS } })).headers.get(
            'upload-offset',
          ),
        ).toBe('0');
      });

      it('cancels an upload on request, and the expiry sweep removes stale ones with their data', async () => {
        const c = await createUploadVia(s.url, a.auth);
        const cancelled = await fetch(`${s.url}/v1/uploads/${c.id}`, { method: 'DELETE', headers: a.auth });
        expect((await cancelled.json()).status).toBe('cancelled');
        expect((await fetch(`${s.url}/v1/videos/${c.videoId}`, { headers: a.auth })).status).toBe(404);

        const t = await createUploadVia(s.url, a.auth);
        // a partial upload that then goes stale
        const created = await fetch(t.url, {
          method: 'POST',
          headers: { ...t.headers, ...TUS, 'upload-length': '1000' },
        });
        const part = await fetch(created.headers.get('location')!, {
          method: 'PATCH',
          headers: {
            ...t.headers,
            ...TUS,
            'upload-offset': '0',
            'content-type': 'application/offset+octet-stream',
          },
          body: bytes(400),
        });
        expect(part.status).toBe(204);
        expect((await (await fetch(`${s.url}/v1/uploads/${t.id}`, { headers: a.auth })).json()).offset).toBe(
          400,
        );
        await s.ctx.db.primary
          .updateTable('uploads')
          .set({ expires_at: '2000-01-01T00:00:00.000Z' })
          .where('id', '=', t.id)
          .execute();
        const tusId = `${a.id}/${t.videoId}/source`;
        const removed = await s.ctx.uploads.expire((id) => s.ctx.tus!.remove(id));
        expect(removed).toBeGreaterThanOrEqual(1);
        expect((await (await fetch(`${s.url}/v1/uploads/${t.id}`, { headers: a.auth })).json()).status).toBe(
          'expired',
        );
        expect((await fetch(`${s.url}/v1/videos/${t.videoId}`, { headers: a.auth })).status).toBe(404);
        await expect(s.ctx.tus!.datastore.getUpload(tusId)).rejects.toBeDefined();
      });
    });
  });
}
