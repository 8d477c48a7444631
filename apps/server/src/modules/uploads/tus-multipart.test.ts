// Chaos findings C and D: no S3 multipart upload is left open by an upload whose creation was retried —
// while the Redis behind the tus metadata cache and locks restarts (C), or while the first creation is
// still inside the store (D). Against Ceph RGW and a Redis this test starts (and stops) on its own port.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3ObjectStore } from '@vodcloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { engineUrl } from '../../../../../test/support/engines';
import { createUploadVia, objectSha, sha256, waitFor } from '../../../../../test/support/uploads';
import { sweepMultiparts } from './jobs';

const s3 = engineUrl('s3', 'tus multipart leaks on Ceph RGW (S3)');
const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!haveRedisServer && process.env.VOD_TEST_REQUIRE_ENGINES === '1')
  throw new Error('tus multipart leaks: redis-server is not installed but VOD_TEST_REQUIRE_ENGINES=1');
const TUS = { 'tus-resumable': '1.0.0' };
const OCTETS = { 'content-type': 'application/offset+octet-stream' };
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A Redis of this test's own (append-only, as the chaos suite runs it), stopped and started at will. */
class OwnRedis {
  private proc?: ChildProcess;
  readonly dir = mkdtempSync(path.join(tmpdir(), 'vod-redis-'));
  constructor(readonly port: number) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start() {
    this.proc = spawn(
      'redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''],
        ...['--appendonly', 'yes', '--appendfsync', 'everysec'],
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () =>
        spawnSync('redis-cli', ['-p', String(this.port), 'ping'])
          .stdout?.toString()
          .trim() === 'PONG'
          ? true
          : undefined,
      15_000,
      'redis to answer',
    );
  }
  async stop() {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }
}

type Tenant = { id: string; auth: Record<string, string> };
type Created = { url: string; headers: Record<string, string>; videoId: string };

const create = (c: Created, length: number, body?: Buffer) =>
  fetch(c.url, {
    method: 'POST',
    headers: { ...c.headers, ...TUS, ...(body ? OCTETS : {}), 'upload-length': String(length) },
    body: body ? new Uint8Array(body) : undefined,
  });

/** Resumes as a tus client does (HEAD, then PATCH the rest) until the upload is complete. */
async function resume(location: string, headers: Record<string, string>, data: Buffer) {
  const head = await waitFor(async () => {
    const res = await fetch(location, { method: 'HEAD', headers: { ...headers, ...TUS } });
    return res.status === 200 ? res : undefined;
  }, 20_000);
  const offset = Number(head.headers.get('upload-offset'));
  const patch = await fetch(location, {
    method: 'PATCH',
    headers: { ...headers, ...TUS, ...OCTETS, 'upload-offset': String(offset) },
    body: new Uint8Array(data.subarray(offset)),
  });
  expect(patch.status, await patch.clone().text()).toBe(204);
  expect(patch.headers.get('upload-offset')).toBe(String(data.length));
}

const finalized = (s: TestServer, videoId: string) =>
  waitFor(
    async () =>
      (await s.ctx.ports.queue.getJob(`finalize.${videoId}`))?.state === 'completed' ? true : undefined,
    30_000,
    'upload.finalize',
  );

/**
 * Finding D: two creations of one upload token, the second arriving while the first is still inside
 * (held here by holding the upload's tus lock: the first has marked its row started, its store upload is
 * not there yet). The first sends half the data with it (creation-with-upload). Answers both statuses.
 */
async function raceCreations(s: TestServer, tenant: Tenant, data: Buffer) {
  const c = await createUploadVia(s.url, tenant.auth);
  const key = `${tenant.id}/${c.videoId}/source`;
  const held = await s.ctx.ports.cache.acquireLock(`tus-lock:${key}`, { leaseMs: 30_000 });
  expect(held).toBeTruthy();
  const firstPost = create(c, data.length, data.subarray(0, data.length / 2));
  await waitFor(async () => ((await s.ctx.uploads.byTusId(key))?.status === 'uploading' ? true : undefined));
  const secondPost = create(c, data.length);
  await sleep(1500); // the second creation waits on the lock too
  await held!.release();
  const statuses = [(await firstPost).status, (await secondPost).status].sort();
  return { c, key, location: `${s.url}/tus/${tenant.id}.${c.videoId}`, statuses };
}

describe('tus on the file store: a creation retried while the first is inside truncates nothing (chaos D)', () => {
  let s: TestServer;
  let tenant: Tenant;
  beforeAll(async () => {
    s = await startTestServer({ VOD_RATE_LIMIT_PER_MINUTE: '100000' });
    tenant = await s.tenant('tus-race');
  });
  afterAll(async () => s?.close());

  it('D: one creation wins, the other is refused 409; the upload completes byte-exact', async () => {
    const data = randomBytes(2 * MiB);
    const { c, key, location, statuses } = await raceCreations(s, tenant, data);
    expect(statuses).toEqual([201, 409]);
    await resume(location, c.headers, data);
    await finalized(s, c.videoId);
    expect(await objectSha(s.ctx.ports.storage, key)).toBe(sha256(data));
  }, 60_000);
});

describe.skipIf(!s3 || !haveRedisServer)('tus on S3: no multipart upload leaks (chaos C, D)', () => {
  let s: TestServer;
  let redis: OwnRedis;
  let client: S3Client;
  let bucket: string;
  let tenant: Tenant;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    bucket = `vodtusmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const accessKeyId = process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess';
    const secretAccessKey = process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret';
    s = await startTestServer({
      VOD_STORAGE_URL: `s3://${bucket}?endpoint=${s3}`,
      VOD_S3_ACCESS_KEY_ID: accessKeyId,
      VOD_S3_SECRET_ACCESS_KEY: secretAccessKey,
      VOD_CACHE_URL: redis.url,
      VOD_RATE_LIMIT_PER_MINUTE: '100000',
    });
    client = new S3Client({
      endpoint: s3,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    tenant = await s.tenant('tus-mp');
  }, 60_000);
  afterAll(async () => {
    const storage = s?.ctx.ports.storage;
    await s?.close();
    if (storage?.kind === 's3') await (storage as S3ObjectStore).removeBucket().catch(() => undefined);
    client?.destroy();
    await redis?.stop();
    if (redis) rmSync(redis.dir, { recursive: true, force: true });
  });

  const openMultiparts = async (key?: string) =>
    ((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? [])
      .filter((u) => key === undefined || u.Key === key)
      .map((u) => u.UploadId);
  const infoUploadId = async (key: string) =>
    (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${key}.info` }))).Metadata?.[
      'upload-id'
    ];
  /** A created upload with its first 6 MiB stored (one part of its multipart upload). */
  const started = async (data: Buffer) => {
    const c = await createUploadVia(s.url, tenant.auth);
    const key = `${tenant.id}/${c.videoId}/source`;
    const created = await create(c, data.length);
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    const first = await fetch(location, {
      method: 'PATCH',
      headers: { ...c.headers, ...TUS, ...OCTETS, 'upload-offset': '0' },
      body: new Uint8Array(data.subarray(0, 6 * MiB)),
    });
    expect(first.status).toBe(204);
    const original = await openMultiparts(key);
    expect(original).toHaveLength(1);
    return { c, key, location, original };
  };

  it("C, the cause: a creation retried while the upload's metadata cache cannot be read is refused, not created anew", async () => {
    const data = randomBytes(12 * MiB);
    const { c, key, location, original } = await started(data);
    // The cached metadata cannot be read (as while Redis is away: the store then answers 404 for the
    // upload), while the lock works. A key of the wrong type makes every read fail, deterministically.
    const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(redis.port), ...args]);
    cli('DEL', `vod:tus:${key}`);
    cli('HSET', `vod:tus:${key}`, 'broken', '1');
    const retried = await create(c, data.length);
    expect(await openMultiparts(key)).toEqual(original);
    expect(retried.status, await retried.clone().text()).toBe(409);
    expect(await infoUploadId(key)).toBe(original[0]);
    // A HEAD meanwhile answers the upload's offset (the cache is read as a cache), not 404.
    const head = await fetch(location, { method: 'HEAD', headers: { ...c.headers, ...TUS } });
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe(String(6 * MiB));
    await resume(location, c.headers, data);
    await finalized(s, c.videoId);
    expect(await openMultiparts(key)).toEqual([]);
    expect(await objectSha(s.ctx.ports.storage, key)).toBe(sha256(data));
  }, 60_000);

  it('C: a creation retried while Redis restarts (tus-js-client re-creates after a 5xx HEAD) opens no second multipart', async () => {
    const data = randomBytes(12 * MiB);
    const { c, key, location, original } = await started(data);

    await redis.stop();
    // The client's HEAD fails (the lock is on Redis); tus-js-client then sends the creation again.
    const head = await fetch(location, { method: 'HEAD', headers: { ...c.headers, ...TUS } });
    expect(head.status).toBeGreaterThanOrEqual(500);
    const again = create(c, data.length);
    // Back soon enough that the retry, past its failed read of the metadata cache, still gets the lock
    // (how the chaos run's retries got through: timing decides, the test before pins the cause down).
    await sleep(500);
    await redis.start();
    const retried = await again;
    // The upload exists: the retried creation is refused, or fails while Redis is away; never created anew.
    expect(retried.status, await retried.clone().text()).not.toBe(201);
    expect(await openMultiparts(key)).toEqual(original);
    expect(await infoUploadId(key)).toBe(original[0]);

    await resume(location, c.headers, data);
    await finalized(s, c.videoId);
    expect(await openMultiparts(key)).toEqual([]);
    expect(await objectSha(s.ctx.ports.storage, key)).toBe(sha256(data));
  }, 90_000);

  it('D: a creation retried while the first is still inside the store opens no second multipart', async () => {
    const data = randomBytes(12 * MiB);
    const { c, key, location, statuses } = await raceCreations(s, tenant, data);
    expect(statuses).toEqual([201, 409]);
    const open = await openMultiparts(key);
    expect(open).toHaveLength(1);
    expect(await infoUploadId(key)).toBe(open[0]);
    await resume(location, c.headers, data);
    await finalized(s, c.videoId);
    expect(await openMultiparts(key)).toEqual([]);
    expect(await objectSha(s.ctx.ports.storage, key)).toBe(sha256(data));
  }, 60_000);

  it('defence: finalize aborts a multipart left open under a finished upload; the sweep aborts stale ones with no live upload', async () => {
    const storage = s.ctx.ports.storage as S3ObjectStore;
    const data = randomBytes(100_000);
    const c = await createUploadVia(s.url, tenant.auth);
    const key = `${tenant.id}/${c.videoId}/source`;
    expect((await create(c, data.length)).status).toBe(201);
    const leaked = await storage.createMultipart(key);
    await resume(`${s.url}/tus/${tenant.id}.${c.videoId}`, c.headers, data);
    await finalized(s, c.videoId);
    expect(await openMultiparts(key)).toEqual([]);
    expect(await objectSha(storage, key)).toBe(sha256(data));
    expect(leaked).toBeTruthy();

    // The sweep: a source key's multipart with no live upload goes once older than the upload expiry;
    // a live upload's stays, and so does a multipart outside the source layout.
    const live = await createUploadVia(s.url, tenant.auth);
    const liveKey = `${tenant.id}/${live.videoId}/source`;
    expect((await create(live, 10 * MiB)).status).toBe(201);
    const stray = `${tenant.id}/01ARZ3NDEKTSV4RRFFQ69G5FAV/source`;
    const other = `${tenant.id}/01ARZ3NDEKTSV4RRFFQ69G5FAV/01ARZ3NDEKTSV4RRFFQ69G5FAW/mp4/high.mp4`;
    await storage.createMultipart(stray);
    await storage.createMultipart(other);
    const deps = {
      tus: s.ctx.loadTus,
      uploads: s.ctx.uploads,
      uploadExpiresInSec: s.ctx.config.uploadExpiresInSec,
    };
    expect(await sweepMultiparts(deps)).toBe(0); // nothing is that old yet
    const later = new Date(Date.now() + (s.ctx.config.uploadExpiresInSec + 3600) * 1000);
    expect(await sweepMultiparts(deps, later)).toBe(1);
    expect(await openMultiparts(stray)).toEqual([]);
    expect(await openMultiparts(liveKey)).toEqual([await infoUploadId(liveKey)]);
    expect(await openMultiparts(other)).toHaveLength(1);
  }, 60_000);
});
