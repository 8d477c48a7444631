// Regression tests of issue 13's tus findings, against a real listening server (file store, and Ceph RGW
// when it runs here).
import { randomBytes } from 'node:crypto';
import type { S3ObjectStore } from '@vodcloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { engineUrl } from '../../../../../test/support/engines';
import { createUploadVia, objectSha, sha256, waitFor } from '../../../../../test/support/uploads';
import { createTemplate } from '../../../../../test/support/videos';

const s3 = engineUrl('s3', 'tus findings on Ceph RGW (S3)');
const stores = [
  { name: 'file store', available: true, env: () => ({}) },
  {
    name: 'S3 store (Ceph RGW)',
    available: !!s3,
    env: () => ({
      VOD_STORAGE_URL: `s3://vodtusf-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}?endpoint=${s3}`,
      VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
      VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
    }),
  },
];

type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
const TUS = { 'tus-resumable': '1.0.0' };
const OCTETS = { 'content-type': 'application/offset+octet-stream' };
/** tus Upload-Metadata: `key base64(value)` pairs. */
const metadata = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');

for (const store of stores) {
  describe.skipIf(!store.available)(`tus findings of issue 13 on the ${store.name}`, () => {
    let s: TestServer;
    let a: Tenant;
    let b: Tenant;
    beforeAll(async () => {
      s = await startTestServer({ ...store.env(), VOD_RATE_LIMIT_PER_MINUTE: '100000' });
      a = await s.tenant('tus-a');
      b = await s.tenant('tus-b');
    });
    afterAll(async () => {
      const storage = s?.ctx.ports.storage;
      await s?.close();
      if (storage?.kind === 's3') await (storage as S3ObjectStore).removeBucket().catch(() => undefined);
    });

    const videoCount = async (t: Tenant) =>
      ((await (await fetch(`${s.url}/v1/videos?limit=100`, { headers: t.auth })).json()).data as unknown[])
        .length;
    const sourceStored = (t: Tenant, videoId: string) =>
      waitFor(
        async () => ((await s.ctx.ports.storage.head(`${t.id}/${videoId}/source`)) ? true : undefined),
        20_000,
        'the source object',
      );
    /** A finished upload of `data` (token, creation then one PATCH), once its source is stored. */
    const finished = async (data: Buffer) => {
      const c = await createUploadVia(s.url, a.auth);
      const created = await fetch(c.url, {
        method: 'POST',
        headers: { ...c.headers, ...TUS, 'upload-length': String(data.length) },
      });
      const location = created.headers.get('location')!;
      const done = await fetch(location, {
        method: 'PATCH',
        headers: { ...c.headers, ...TUS, ...OCTETS, 'upload-offset': '0' },
        body: new Uint8Array(data),
      });
      expect(done.status).toBe(204);
      await sourceStored(a, c.videoId);
      await waitFor(async () =>
        (await s.ctx.ports.queue.getJob(`finalize.${c.videoId}`))?.state === 'completed' ? true : undefined,
      );
      return { ...c, location };
    };

    it('finding: tus creation-with-upload that completes inside the POST answers 201 with Location and Upload-Offset', async () => {
      for (const auth of ['token', 'key'] as const) {
        const data = randomBytes(70_000);
        const c = auth === 'token' ? await createUploadVia(s.url, a.auth) : undefined;
        const res = await fetch(c?.url ?? `${s.url}/tus`, {
          method: 'POST',
          headers: {
            ...(c?.headers ?? a.auth),
            ...TUS,
            ...OCTETS,
            'upload-length': String(data.length),
          },
          body: new Uint8Array(data),
        });
        expect(res.status, await res.clone().text()).toBe(201);
        const location = res.headers.get('location');
        expect(location).toMatch(new RegExp(`^${s.url}/tus/${a.id}\\.[0-9A-Z]{26}$`));
        expect(res.headers.get('upload-offset')).toBe(String(data.length));
        const videoId = c?.videoId ?? location!.split('.').pop()!;
        expect(res.headers.get('x-video-id')).toBe(videoId);
        await sourceStored(a, videoId);
        expect(await objectSha(s.ctx.ports.storage, `${a.id}/${videoId}/source`)).toBe(sha256(data));
        // A client that did not see the answer asks for the offset: the upload is complete, nothing to resend.
        const head = await fetch(location!, {
          method: 'HEAD',
          headers: { ...(c?.headers ?? a.auth), ...TUS },
        });
        expect(head.status).toBe(200);
        expect(head.headers.get('upload-offset')).toBe(String(data.length));
      }
    });

    it('finding: tus Upload-Length: 0 answers a 400 problem (an empty file is not a video), creating nothing', async () => {
      const c = await createUploadVia(s.url, a.auth);
      const before = await videoCount(a);
      for (const headers of [c.headers, a.auth]) {
        const res = await fetch(c.url, {
          method: 'POST',
          headers: { ...headers, ...TUS, 'upload-length': '0' },
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        const body = await res.json();
        expect(body).toMatchObject({ status: 400, code: 'validation_failed' });
        expect(body.errors).toEqual([{ path: 'headers.upload-length', message: 'must be at least 1' }]);
      }
      expect(await videoCount(a)).toBe(before);
      // The token's upload is still waiting: a real creation with it works.
      const ok = await fetch(c.url, {
        method: 'POST',
        headers: { ...c.headers, ...TUS, 'upload-length': '5' },
      });
      expect(ok.status).toBe(201);
    });

    it("finding: tus POST with a bad or another tenant's templateId in Upload-Metadata answers 400 validation_failed", async () => {
      const theirs = await createTemplate(s.url, b.auth, {
        name: 'b-only',
        renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
      });
      const before = await videoCount(a);
      const post = (templateId: string) =>
        fetch(`${s.url}/tus`, {
          method: 'POST',
          headers: { ...a.auth, ...TUS, 'upload-length': '10', 'upload-metadata': metadata({ templateId }) },
        });
      const malformed = await post('not-a-template-id');
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('content-type')).toContain('application/problem+json');
      expect(await malformed.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ path: 'metadata.templateId' }],
      });
      const missing = await post('01ARZ3NDEKTSV4RRFFQ69G5FAV');
      const other = await post(theirs);
      expect([missing.status, other.status]).toEqual([400, 400]);
      const [m, o] = [await missing.json(), await other.json()];
      expect(o.code).toBe('validation_failed');
      expect(o.errors).toEqual([{ path: 'metadata.templateId', message: 'unknown template' }]);
      // Another tenant's template looks exactly like one that does not exist.
      expect({ ...o, requestId: undefined }).toEqual({ ...m, requestId: undefined });
      expect(await videoCount(a)).toBe(before);
    });

    it('finding: a title given in tus Upload-Metadata is validated like POST /v1/uploads (length, NUL, RLO)', async () => {
      const before = await videoCount(a);
      for (const title of ['x'.repeat(9000), 'a\u0000b', 'invoice\u202Efdp.exe']) {
        const tus = await fetch(`${s.url}/tus`, {
          method: 'POST',
          headers: { ...a.auth, ...TUS, 'upload-length': '10', 'upload-metadata': metadata({ title }) },
        });
        expect(tus.status).toBe(400);
        const problem = await tus.json();
        expect(problem.code).toBe('validation_failed');
        expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['metadata.title']);
        const rest = await fetch(`${s.url}/v1/uploads`, {
          method: 'POST',
          headers: { ...a.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ title }),
        });
        expect(rest.status).toBe(400);
        const restProblem = await rest.json();
        expect(restProblem.errors.map((e: { message: string }) => e.message)).toEqual(
          problem.errors.map((e: { message: string }) => e.message),
        );
      }
      expect(await videoCount(a)).toBe(before);
      // A valid title (trimmed as the API trims it) and a file name that only names the file are accepted.
      const ok = await fetch(`${s.url}/tus`, {
        method: 'POST',
        headers: {
          ...a.auth,
          ...TUS,
          'upload-length': '10',
          'upload-metadata': metadata({
            title: '  My talk  ',
            filename: 'talk.mov',
            filetype: 'video/quicktime',
          }),
        },
      });
      expect(ok.status).toBe(201);
      const videoId = ok.headers.get('location')!.split('.').pop()!;
      const v = await (await fetch(`${s.url}/v1/videos/${videoId}`, { headers: a.auth })).json();
      expect(v.title).toBe('My talk');
    });

    it('finding: HEAD on a just-completed upload answers offset = length, not 410', async () => {
      const data = randomBytes(50_000);
      const u = await finished(data);
      const head = await fetch(u.location, { method: 'HEAD', headers: { ...u.headers, ...TUS } });
      expect(head.status).toBe(200);
      expect(head.headers.get('upload-offset')).toBe(String(data.length));
      expect(head.headers.get('upload-length')).toBe(String(data.length));
    });

    it('finding: an extra byte PATCHed at the final offset of a complete upload is refused with 413, not dropped', async () => {
      const data = randomBytes(40_000);
      const u = await finished(data);
      const extra = await fetch(u.location, {
        method: 'PATCH',
        headers: { ...u.headers, ...TUS, ...OCTETS, 'upload-offset': String(data.length) },
        body: new Uint8Array([7]),
      });
      expect(extra.status).toBe(413);
      // An empty retry of the final PATCH is still answered as the first was.
      const retry = await fetch(u.location, {
        method: 'PATCH',
        headers: { ...u.headers, ...TUS, ...OCTETS, 'upload-offset': String(data.length) },
        body: new Uint8Array(0),
      });
      expect(retry.status).toBe(204);
      expect(retry.headers.get('upload-offset')).toBe(String(data.length));
      expect(await objectSha(s.ctx.ports.storage, `${a.id}/${u.videoId}/source`)).toBe(sha256(data));
    });
  });
}
