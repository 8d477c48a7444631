import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineUrl } from '../../../test/support/engines';
import { INVALID_KEYS, readAll, runObjectStoreSuite } from './conformance';
import { createObjectStore } from './factory';
import { FileObjectStore } from './file-store';
import { isValidKey, validateKey, validatePrefix } from './keys';
import { createPresignedUrl, verifyPresigned } from './presign';
import { S3ObjectStore } from './s3-store';
import type { ObjectStore } from './types';
import { StorageError } from './types';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** All files (not directories) under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * A minimal stand-in for the `/_storage/` HTTP route (written elsewhere), so the presigned-URL tests of the
 * conformance suite can use plain fetch against the file adapter exactly as against S3.
 */
async function startPresignRoute(getStore: () => ObjectStore, secret: string) {
  const server = createServer(async (req, res) => {
    try {
      const v = verifyPresigned(req.url ?? '', secret, { method: req.method });
      if (!v.ok) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end(v.reason);
        return;
      }
      const store = getStore();
      if (v.method === 'PUT') {
        const sent = req.headers['content-type'];
        if (v.contentType !== undefined && sent !== v.contentType) {
          res.writeHead(403).end('content-type does not match the signature');
          return;
        }
        const out = await store.put(v.key, req, { contentType: sent });
        res.writeHead(200, { etag: `"${out.etag}"` }).end();
        return;
      }
      const obj = await store.get(v.key);
      res.writeHead(200, {
        'content-type': v.responseContentType ?? obj.contentType,
        'content-length': obj.size,
        etag: `"${obj.etag}"`,
      });
      obj.body.pipe(res);
    } catch (err) {
      const code = err instanceof StorageError && err.code === 'not_found' ? 404 : 500;
      res.writeHead(code).end(String(err));
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

// ---------------------------------------------------------------- file adapter

const largeFile = process.env.VOD_TEST_LARGE_BYTES ? Number(process.env.VOD_TEST_LARGE_BYTES) : 2.5 * GiB;

runObjectStoreSuite(
  'file',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vod-storage-'));
    const secret = randomBytes(32).toString('hex');
    let store: ObjectStore | undefined;
    const route = await startPresignRoute(() => store!, secret);
    store = new FileObjectStore({
      root: join(dir, 'root'),
      publicBaseUrl: route.baseUrl,
      signingSecret: secret,
    });
    return {
      store,
      cleanup: async () => {
        await route.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { largeObjectBytes: largeFile },
);

describe('FileObjectStore specifics', () => {
  let dir: string;
  let root: string;
  let store: FileObjectStore;
  const secret = 'test-secret';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vod-storage-file-'));
    root = join(dir, 'root');
    store = new FileObjectStore({
      root,
      publicBaseUrl: 'https://cdn.example.test/base/',
      signingSecret: secret,
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes nothing outside the root for hostile keys, and nothing at all for rejected ones', async () => {
    await writeFile(join(dir, 'sentinel'), 'outside');
    await store.put('ok/inside', 'inside');
    const before = await filesUnder(dir);
    for (const bad of [
      ...INVALID_KEYS,
      '../../etc/x',
      'a/../../../b',
      '..',
      '../',
      '..\\x',
      'a\u0000/../../b',
    ]) {
      await expect(store.put(bad, 'evil')).rejects.toMatchObject({ code: 'invalid_key' });
      const up = store.createMultipart(bad);
      await expect(up).rejects.toMatchObject({ code: 'invalid_key' });
      await expect(store.copy('ok/inside', bad)).rejects.toMatchObject({ code: 'invalid_key' });
      await expect(store.deletePrefix(`${bad}/`)).rejects.toBeInstanceOf(StorageError);
    }
    expect(await filesUnder(dir)).toEqual(before);
    expect(await readFile(join(dir, 'sentinel'), 'utf8')).toBe('outside');
    // an upload id is not a path either
    await expect(store.listParts('ok/inside', '../../root')).rejects.toMatchObject({
      code: 'no_such_upload',
    });
    await expect(store.abortMultipart('ok/inside', '..')).rejects.toMatchObject({ code: 'no_such_upload' });
  });

  it('keeps sidecars and temp files out of listings, and stores a key and a key below it side by side', async () => {
    await store.put('side/a', 'A', { contentType: 'text/a' });
    await store.put('side/a/b', 'B');
    const page = await store.list('side/');
    expect(page.items.map((i) => i.key)).toEqual(['side/a', 'side/a/b']);
    const onDisk = await filesUnder(root);
    expect(onDisk.some((f) => f.includes('%m'))).toBe(true); // the sidecar exists...
    expect(page.items.every((i) => !i.key.includes('%'))).toBe(true); // ...but is never listed
    expect((await store.head('side/a'))?.contentType).toBe('text/a');
  });

  it('leaves no temp files behind after puts, failed puts and multipart uploads', async () => {
    const id = await store.createMultipart('tmpcheck/m');
    const p = await store.uploadPart('tmpcheck/m', id, 1, 'part');
    await store.completeMultipart('tmpcheck/m', id, [{ partNumber: 1, etag: p.etag }]);
    await expect(store.put('tmpcheck/len', 'abc', { contentLength: 5 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
    expect(await readdir(join(root, '.uploads'))).toEqual([]);
    expect(await store.head('tmpcheck/len')).toBeNull();
  });

  it('never serves a torn object while the same key is overwritten concurrently', async () => {
    const versions = Array.from({ length: 4 }, (_, i) => Buffer.alloc(512 * 1024 + i * 1000, 65 + i));
    const etags = new Set<string>();
    for (const v of versions) etags.add((await store.put('race/k', v)).etag);
    let stop = false;
    const writer = (async () => {
      for (let i = 0; i < 60; i++) await store.put('race/k', versions[i % versions.length]!);
      stop = true;
    })();
    let reads = 0;
    while (!stop) {
      const got = await store.get('race/k');
      const bytes = await readAll(got.body);
      const match = versions.find((v) => v.equals(bytes));
      expect(match, 'read bytes must be one whole version').toBeDefined();
      expect(got.size).toBe(bytes.length);
      expect(etags.has(got.etag)).toBe(true);
      // the etag belongs to exactly these bytes
      expect(got.etag).toBe((await new FileObjectStore({ root }).put('race/check', bytes)).etag);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(5);
  });

  it('repairs a sidecar left behind by an interrupted publish', async () => {
    await store.put('repair/k', 'old contents');
    const sidecar = join(root, 'objects', 'repair', 'k%m');
    const meta = JSON.parse(await readFile(sidecar, 'utf8'));
    await writeFile(sidecar, JSON.stringify({ ...meta, ino: meta.ino + 1, etag: 'bogus', size: 3 }));
    const head = await store.head('repair/k');
    expect(head?.size).toBe(12);
    expect(head?.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(head?.etag).not.toBe('bogus');
    const again = await store.put('repair/k2', 'old contents');
    expect(head?.etag).toBe(again.etag);
  });

  it('presigns URLs that verifyPresigned accepts, and rejects expired, tampered and cross-method ones', async () => {
    const url = await store.presignGet('videos/a b/ü.m3u8', {
      expiresIn: 60,
      responseContentType: 'text/plain',
    });
    expect(url.startsWith('https://cdn.example.test/base/_storage/videos/a%20b/%C3%BC.m3u8?')).toBe(true);
    const ok = verifyPresigned(url, secret);
    expect(ok).toMatchObject({
      ok: true,
      key: 'videos/a b/ü.m3u8',
      method: 'GET',
      responseContentType: 'text/plain',
    });
    expect(verifyPresigned(url, 'other-secret')).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyPresigned(url, secret, { method: 'PUT' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyPresigned(url.replace('m3u8', 'ts'), secret)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyPresigned(url.replace('rct=text%2Fplain', 'rct=text%2Fhtml'), secret)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const u = new URL(url);
    const sig = u.searchParams.get('sig')!;
    u.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    expect(verifyPresigned(u, secret)).toEqual({ ok: false, reason: 'bad_signature' });
    u.searchParams.set('sig', sig);
    u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600));
    expect(verifyPresigned(u, secret)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyPresigned('https://x.test/elsewhere?sig=a&expires=1', secret)).toEqual({
      ok: false,
      reason: 'malformed',
    });

    // expiry, with a controllable clock
    const now = Date.UTC(2030, 0, 1);
    const short = createPresignedUrl({
      publicBaseUrl: 'http://h',
      secret,
      method: 'PUT',
      key: 'k/v',
      expiresIn: 10,
      contentType: 'video/mp4',
      now,
    });
    expect(verifyPresigned(short, secret, { method: 'PUT', now: now + 9_000 })).toMatchObject({
      ok: true,
      contentType: 'video/mp4',
    });
    expect(verifyPresigned(short, secret, { method: 'PUT', now: now + 10_000 })).toEqual({
      ok: false,
      reason: 'expired',
    });
    // the same check on the parts of a URL
    const parts = new URL(short);
    const fields = {
      key: 'k/v',
      method: 'PUT',
      expires: Number(parts.searchParams.get('expires')),
      sig: parts.searchParams.get('sig')!,
      contentType: 'video/mp4',
    };
    expect(verifyPresigned(fields, secret, { now })).toMatchObject({ ok: true, key: 'k/v' });
    expect(verifyPresigned({ ...fields, key: 'k/w' }, secret, { now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyPresigned({ ...fields, key: '../etc' }, secret, { now })).toEqual({
      ok: false,
      reason: 'invalid_key',
    });
    expect(verifyPresigned({ ...fields, contentType: undefined }, secret, { now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('needs publicBaseUrl and signingSecret to presign', async () => {
    const bare = new FileObjectStore({ root });
    await expect(bare.presignGet('a', { expiresIn: 1 })).rejects.toThrow(/publicBaseUrl and signingSecret/);
  });

  it('reports unhealthy when the root cannot be created', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    const broken = new FileObjectStore({ root: join(dir, 'a-file', 'root') });
    const h = await broken.health();
    expect(h.ok).toBe(false);
    expect(h.detail).toContain('a-file');
    await expect(broken.put('k', 'v')).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('keys', () => {
  it('accepts ordinary keys and rejects every kind of bad key', () => {
    for (const k of [
      'a',
      'a/b/c.ts',
      'v/123/720p/seg_00001.m4s',
      '.hidden',
      'a..b',
      'x'.repeat(1024),
      'ü/日本',
    ]) {
      expect(validateKey(k)).toBe(k);
    }
    for (const k of INVALID_KEYS) expect(isValidKey(k), JSON.stringify(k)).toBe(false);
    expect(isValidKey('ü'.repeat(513))).toBe(false); // 1026 bytes
    expect(isValidKey('\ud800')).toBe(false);
    expect(() => validateKey('../x')).toThrow(StorageError);
  });

  it('validates prefixes', () => {
    for (const p of ['', 'a', 'a/', 'a/b', 'a/.', 'a/.h']) expect(validatePrefix(p)).toBe(p);
    for (const p of ['/a', '../', 'a//b', 'a/../b', 'a\\b', 'a\u0001']) {
      expect(() => validatePrefix(p), JSON.stringify(p)).toThrow(StorageError);
    }
  });
});

describe('createObjectStore', () => {
  it('parses file: URLs', async () => {
    const abs = await createObjectStore('file:///var/tmp/vod-objects');
    expect(abs).toBeInstanceOf(FileObjectStore);
    expect((abs as FileObjectStore).root).toBe('/var/tmp/vod-objects');
    const rel = await createObjectStore('file:./data/objects', { cwd: '/srv/app' });
    expect((rel as FileObjectStore).root).toBe('/srv/app/data/objects');
  });

  it('parses s3: URLs with credentials from the environment', async () => {
    const store = (await createObjectStore(
      's3://media-bucket?endpoint=http://127.0.0.1:7480&region=eu-west-1',
      {
        env: { VOD_S3_ACCESS_KEY_ID: 'AK', VOD_S3_SECRET_ACCESS_KEY: 'SK', AWS_ACCESS_KEY_ID: 'ignored' },
      },
    )) as S3ObjectStore;
    expect(store).toBeInstanceOf(S3ObjectStore);
    expect(store.bucket).toBe('media-bucket');
    expect(await store.client.config.region()).toBe('eu-west-1');
    expect(await store.client.config.credentials()).toMatchObject({
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
    });
    expect(store.client.config.forcePathStyle).toBe(true);
    await store.close();
    const fallback = (await createObjectStore('s3://b2b?forcePathStyle=false', {
      env: { AWS_ACCESS_KEY_ID: 'A2', AWS_SECRET_ACCESS_KEY: 'S2' },
    })) as S3ObjectStore;
    expect(await fallback.client.config.credentials()).toMatchObject({ accessKeyId: 'A2' });
    expect(fallback.client.config.forcePathStyle).toBe(false);
    await fallback.close();
  });

  it('names VOD_STORAGE_URL when the URL is bad', async () => {
    for (const bad of [
      '',
      'ftp://x',
      'file:',
      'file://host/path',
      'file:///',
      's3://',
      's3://Bad_Bucket',
      's3://bucket/prefix',
      's3://bucket?endpoint=notaurl',
      's3://bucket?forcePathStyle=maybe',
      's3://bucket?bogus=1',
      's3://user:pass@bucket',
    ]) {
      await expect(createObjectStore(bad, { env: {} }), bad).rejects.toThrow(/VOD_STORAGE_URL/);
    }
    await expect(
      createObjectStore('s3://bucket', { env: { VOD_S3_ACCESS_KEY_ID: 'only-half' } }),
    ).rejects.toThrow(/VOD_S3_SECRET_ACCESS_KEY/);
  });
});

// ---------------------------------------------------------------- S3 adapter (real engine)

const s3Endpoint = engineUrl('s3', 'storage S3 conformance');
const s3Credentials = {
  accessKeyId: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
  secretAccessKey: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
};

describe.skipIf(!s3Endpoint)('S3ObjectStore against a real S3 engine', () => {
  const bucket = `vod-test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

  runObjectStoreSuite(
    's3',
    async () => {
      const store = new S3ObjectStore({ bucket, endpoint: s3Endpoint!, credentials: s3Credentials });
      await store.ensureBucket();
      await store.ensureBucket(); // idempotent
      return { store, cleanup: () => store.removeBucket().finally(() => store.close()) };
    },
    { largeObjectBytes: Number(process.env.VOD_TEST_S3_LARGE_BYTES ?? 300 * MiB) },
  );

  it('is built by createObjectStore from an s3:// URL', async () => {
    const store = (await createObjectStore(`s3://${bucket}-factory?endpoint=${s3Endpoint}&region=us-east-1`, {
      env: {
        VOD_S3_ACCESS_KEY_ID: s3Credentials.accessKeyId,
        VOD_S3_SECRET_ACCESS_KEY: s3Credentials.secretAccessKey,
      },
    })) as S3ObjectStore;
    expect((await store.health()).ok).toBe(false); // bucket not created yet
    await store.ensureBucket();
    try {
      expect(await store.health()).toMatchObject({ ok: true });
      await store.put('x/y', 'via factory');
      expect((await readAll((await store.get('x/y')).body)).toString()).toBe('via factory');
    } finally {
      await store.removeBucket();
      await store.close();
    }
  });

  it('reports unavailable when the endpoint is down', async () => {
    const down = new S3ObjectStore({
      bucket,
      endpoint: 'http://127.0.0.1:9',
      credentials: s3Credentials,
      maxAttempts: 1,
      connectTimeoutMs: 1000,
    });
    const h = await down.health();
    expect(h.ok).toBe(false);
    await expect(down.get('k')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(down.put('k', 'v')).rejects.toMatchObject({ code: 'unavailable' });
    await down.close();
  });

  it('reports unavailable when the bucket is missing', async () => {
    const missing = new S3ObjectStore({
      bucket: `${bucket}-missing`,
      endpoint: s3Endpoint!,
      credentials: s3Credentials,
    });
    await expect(missing.put('k', 'v')).rejects.toMatchObject({ code: 'unavailable' });
    expect((await missing.health()).ok).toBe(false);
    await missing.close();
  });
});

describe('S3ObjectStore against a server that accepts and never answers', () => {
  it('fails requests after the socket inactivity timeout instead of hanging (a full Ceph OSD blocks writes)', async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
      s.resume(); // reads the request, never answers
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const stuck = new S3ObjectStore({
      bucket: 'stuck',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
      socketTimeoutMs: 700,
    });
    try {
      const started = Date.now();
      const outcome = await Promise.race([
        stuck.head('k').then(
          () => 'answered',
          (err: { code?: string }) => err.code ?? 'error',
        ),
        new Promise((r) => setTimeout(() => r('still waiting'), 10_000)),
      ]);
      expect(outcome).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(stuck.put('k', 'v')).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await stuck.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
