// An upload node killed (SIGKILL) in the middle of a tus PATCH and started again on the same data: the
// bytes it had written stay (the file store's fast path writes them as they arrive; S3 keeps whole parts),
// HEAD on the restarted node gives the offset, and the upload resumes from it and completes byte-exact.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createObjectStore, type S3ObjectStore } from '@vodcloud/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServeHandle, serve, tenantOver } from '../support/cli';
import { engineUrl } from '../support/engines';
import { objectSha, sha256, tusUpload, waitFor } from '../support/uploads';

const s3 = engineUrl('s3', 'upload restart on Ceph RGW (S3)');
const TUS = { 'tus-resumable': '1.0.0' };
const MiB = 1024 * 1024;

const variants = [
  { name: 'file store', available: true, fast: true, storage: () => ({}) },
  {
    name: 'S3 store (Ceph RGW)',
    available: !!s3,
    fast: false,
    storage: () => ({
      VOD_STORAGE_URL: `s3://vodrestart-${Date.now().toString(36)}?endpoint=${s3}`,
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
  describe.skipIf(!v.available)(`an upload survives a restart of its node (${v.name})`, () => {
    it('SIGKILL mid-PATCH, the node restarted on the same data: HEAD gives the stored offset, the upload resumes byte-exact', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vodrestart-'));
      dirs.push(dir);
      const adminKey = `restart-admin-key-${Date.now()}-padding-to-24-chars`;
      const env: Record<string, string> = {
        VOD_DATA_DIR: dir,
        VOD_DB_URL: `sqlite:${path.join(dir, 'vod.db')}`,
        VOD_ADMIN_API_KEY: adminKey,
        VOD_LOG_LEVEL: 'warn',
        VOD_PORT: '0',
        VOD_HOST: '127.0.0.1',
        ...v.storage(),
      };
      const nodes: ServeHandle[] = [];
      try {
        const first = await serve(['--roles', 'api,upload,worker'], env);
        nodes.push(first);
        const t = await tenantOver(first.url, adminKey, 'r');
        const created = await (
          await fetch(`${first.url}/v1/uploads`, { method: 'POST', headers: t.auth, body: '{}' })
        ).json();
        const data = randomBytes(24 * MiB + 333);
        const res = await fetch(created.url, {
          method: 'POST',
          headers: { ...created.headers, ...TUS, 'upload-length': String(data.length) },
        });
        expect(res.status).toBe(201);
        const idPath = new URL(res.headers.get('location')!).pathname;
        // The stored offset as the API reads it: no lock taken (a HEAD would ask the PATCH to stop).
        const stored = async (url: string) =>
          (await (await fetch(`${url}/v1/uploads/${created.id}`, { headers: t.auth })).json())
            .offset as number;

        const u = new URL(`${first.url}${idPath}`);
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
        const sent = 12 * MiB;
        req.write(data.subarray(0, sent));
        const before = await waitFor(
          async () => {
            const o = await stored(first.url);
            return o >= (v.fast ? 11 * MiB : 8 * MiB) ? o : undefined;
          },
          20_000,
          'bytes stored before the kill',
        );
        first.child.kill('SIGKILL');
        await first.exited;
        req.destroy();

        const again = await serve(['--roles', 'api,upload,worker'], env);
        nodes.push(again);
        const head = await fetch(`${again.url}${idPath}`, {
          method: 'HEAD',
          headers: { ...created.headers, ...TUS },
        });
        expect(head.status).toBe(200);
        const offset = Number(head.headers.get('upload-offset'));
        expect(offset).toBeGreaterThanOrEqual(before);
        expect(offset).toBeLessThanOrEqual(sent);
        const progress: number[] = [];
        await tusUpload(data, {
          uploadUrl: `${again.url}${idPath}`,
          headers: created.headers,
          onProgress: (n) => progress.push(n),
        }).promise;
        expect(progress[0]).toBeGreaterThanOrEqual(offset); // resumed, not restarted

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
        const key = `${t.id}/${created.videoId}/source`;
        await waitFor(async () => ((await store.head(key)) ? true : undefined), 30_000, 'the source object');
        expect(await objectSha(store, key)).toBe(sha256(data));
        const video = await waitFor(async () => {
          const x = await (
            await fetch(`${again.url}/v1/videos/${created.videoId}`, { headers: t.auth })
          ).json();
          return x.sizeBytes === data.length ? x : undefined;
        });
        expect(video.sizeBytes).toBe(data.length);
        if (store.kind === 's3') await (store as S3ObjectStore).removeBucket().catch(() => undefined);
        await store.close();
      } finally {
        for (const n of nodes) n.child.kill('SIGKILL');
        await Promise.all(nodes.map((n) => n.exited));
      }
    }, 120_000);
  });
}
