import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createObjectStore, type S3ObjectStore } from '@vodcloud/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServeHandle, serve } from '../support/cli';
import { engineUrl } from '../support/engines';
import { objectSha, sha256, tusUpload, waitFor } from '../support/uploads';

const s3 = engineUrl('s3', 'upload failover on Ceph RGW (S3)');
const redis = engineUrl('redis', 'upload failover with a Redis lock');
const TUS = { 'tus-resumable': '1.0.0' };
const MiB = 1024 * 1024;

const variants = [
  { name: 'file store', available: true, storage: (_dir: string) => ({}) },
  {
    name: 'S3 store (Ceph RGW)',
    available: !!s3,
    storage: (_dir: string) => ({
      VOD_STORAGE_URL: `s3://vodfail-${Date.now().toString(36)}?endpoint=${s3}`,
      VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
      VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
    }),
  },
];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const v of variants) {
  describe.skipIf(!v.available)(`an upload survives the death of its upload node (${v.name})`, () => {
    it('SIGKILL of node A mid-PATCH, then the same upload resumes and completes on node B, byte-exact', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vodfail-'));
      dirs.push(dir);
      const adminKey = `failover-admin-key-${Date.now()}-padding-to-24-chars`;
      const env: Record<string, string> = {
        VOD_DATA_DIR: dir,
        VOD_DB_URL: `sqlite:${path.join(dir, 'shared.db')}`,
        VOD_ADMIN_API_KEY: adminKey,
        VOD_LOG_LEVEL: 'warn',
        VOD_PORT: '0',
        VOD_HOST: '127.0.0.1',
        VOD_CACHE_URL: redis ?? 'memory',
        ...v.storage(dir),
      };
      const nodes: ServeHandle[] = [];
      try {
        const A = await serve(['--roles', 'api,upload,worker'], env);
        nodes.push(A);
        const B = await serve(['--roles', 'api,upload,worker'], env);
        nodes.push(B);
        const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
        const tenant = await (
          await fetch(`${A.url}/v1/tenants`, {
            method: 'POST',
            headers: admin,
            body: JSON.stringify({ name: 'f' }),
          })
        ).json();
        const { key } = await (
          await fetch(`${A.url}/v1/tenants/${tenant.id}/api-keys`, {
            method: 'POST',
            headers: admin,
            body: JSON.stringify({ name: 'k', scopes: ['read', 'write'] }),
          })
        ).json();
        const auth = { authorization: `Bearer ${key}` };
        const created = await (
          await fetch(`${A.url}/v1/uploads`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: '{}',
          })
        ).json();
        const data = randomBytes(24 * MiB + 333);
        const res = await fetch(created.url, {
          method: 'POST',
          headers: { ...created.headers, ...TUS, 'upload-length': String(data.length) },
        });
        expect(res.status).toBe(201);
        const location = res.headers.get('location')!;
        const idPath = new URL(location).pathname;

        // Stream 12 MiB to node A and keep the request open, as a client on a slow link would.
        const u = new URL(location);
        const req = http.request({
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'PATCH',
          headers: {
            ...created.headers,
            ...TUS,
            'upload-offset': '0',
            'content-type': 'application/offset+octet-stream',
            'content-length': String(data.length),
          },
        });
        req.on('error', () => undefined); // the node is about to die
        req.write(data.subarray(0, 12 * MiB));
        const headOnB = async () => {
          const h = await fetch(`${B.url}${idPath}`, {
            method: 'HEAD',
            headers: { ...created.headers, ...TUS },
          });
          return Number(h.headers.get('upload-offset') ?? 0);
        };
        // Node B sees the bytes node A has stored so far (S3: whole 8 MiB parts).
        const stored = await waitFor(
          async () => ((await headOnB()) >= 8 * MiB ? headOnB() : undefined),
          20_000,
          'bytes stored through node A',
        );
        A.child.kill('SIGKILL');
        await A.exited;
        req.destroy();

        const offsetAfterKill = await headOnB();
        expect(offsetAfterKill).toBeGreaterThanOrEqual(stored);
        expect(offsetAfterKill).toBeLessThan(data.length);
        const progress: number[] = [];
        await tusUpload(data, {
          uploadUrl: `${B.url}${idPath}`,
          headers: created.headers,
          onProgress: (sent) => progress.push(sent),
        }).promise;
        expect(progress[0]).toBeGreaterThanOrEqual(offsetAfterKill); // resumed, not restarted

        const videoUrl = `${B.url}/v1/videos/${created.videoId}`;
        const video = await waitFor(
          async () => {
            const x = await (await fetch(videoUrl, { headers: auth })).json();
            // random bytes: past the upload, the pipeline errors them as non_video
            return x.status === 'errored' ? x : undefined;
          },
          30_000,
          'the video to be processed',
        );
        expect(video.sizeBytes).toBe(data.length);
        const store = await createObjectStore(env.VOD_STORAGE_URL ?? `file:${path.join(dir, 'objects')}`, {
          s3: env.VOD_S3_ACCESS_KEY_ID
            ? {
                credentials: {
                  accessKeyId: env.VOD_S3_ACCESS_KEY_ID,
                  secretAccessKey: env.VOD_S3_SECRET_ACCESS_KEY ?? '',
                },
              }
            : undefined,
        });
        const key2 = `${tenant.id}/${created.videoId}/source`;
        await waitFor(async () => ((await store.head(key2)) ? true : undefined), 30_000, 'the source object');
        expect(await objectSha(store, key2)).toBe(sha256(data));
        if (store.kind === 's3') await (store as S3ObjectStore).removeBucket().catch(() => undefined);
        await store.close();
      } finally {
        for (const n of nodes) n.child.kill('SIGKILL');
        await Promise.all(nodes.map((n) => n.exited));
      }
    }, 120_000);
  });
}
