// A whole cluster on the real engines: 1 api, 2 upload, 2 stream, 2 worker and 1 monitor processes of
// vodcloud, started by the same launcher as `npm run cluster` (scripts/cluster/launcher.ts), on MariaDB,
// S3 (Ceph RGW), BullMQ on Redis, ZooKeeper and the Redis cache. A clip goes in through the api and an
// upload node, is processed by the workers, is served byte-identically by both stream nodes and plays in
// headless Chromium; then every process stops cleanly.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createObjectStore, type S3ObjectStore } from '@vodcloud/storage';
import zookeeper from 'node-zookeeper-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cluster,
  dropDatabase,
  enginesFromEnv,
  logTail,
  type ProcessExit,
  startCluster,
} from '../../scripts/cluster/launcher';
import {
  hasChromium,
  launchBrowser,
  type PageServer,
  type PlayerState,
  startPageServer,
} from '../support/browser';
import { deleteRedisKeys, ENGINES } from '../support/engines';
import { createUploadVia, sha256, tusUpload, waitFor } from '../support/uploads';
import { createTemplate, makeClip } from '../support/videos';

const SUITE = 'cluster (8 processes on MariaDB, Redis, ZooKeeper, S3)';
const needed = (['mysql', 'redis', 'zookeeper', 's3'] as const).filter((e) => !process.env[ENGINES[e].env]);
if (needed.length) {
  const names = needed.map((e) => ENGINES[e].env).join(', ');
  if (process.env.VOD_TEST_REQUIRE_ENGINES === '1')
    throw new Error(`${SUITE}: ${names} not set but VOD_TEST_REQUIRE_ENGINES=1`);
  console.log(`SKIP ${SUITE}: set ${names} (scripts/services-up.sh writes them to test.env)`);
}

interface Video {
  id: string;
  status: string;
  playback: { id: string; hlsUrl: string };
}

/** URIs a playlist refers to: its non-tag lines and the URI="…" attributes of its tags. */
function playlistUris(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = /URI="([^"]+)"/.exec(line);
      if (m) out.push(m[1]!);
    } else out.push(line);
  }
  return out;
}

/** Deletes a znode and everything under it (the client's removeRecursive answers NOT_EMPTY here). */
async function removeZkTree(zkUrl: string, root: string): Promise<void> {
  const zk = zookeeper.createClient(new URL(zkUrl.replace(/^zookeeper:/, 'http:')).host);
  const call = <T>(fn: (cb: (err: Error | null, v: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
  const remove = async (p: string): Promise<void> => {
    const children = await call<string[]>((cb) => zk.getChildren(p, undefined, (e, c) => cb(e, c)));
    for (const c of children) await remove(`${p}/${c}`);
    await call<void>((cb) => zk.remove(p, -1, (e) => cb(e, undefined)));
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no connection within 5 s')), 5000);
      zk.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      zk.connect();
    });
    await remove(root);
  } finally {
    zk.close();
  }
}

async function get(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

describe.skipIf(needed.length > 0)(SUITE, () => {
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const name = `vodcl-${runId}`;
  const database = `vodcl_${runId}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'vodcluster-'));
  const engines = enginesFromEnv();
  const unexpected: string[] = [];
  let cluster: Cluster;
  let exits: ProcessExit[] | undefined;
  let auth: { authorization: string };
  let video: Video;
  let browser: Browser | undefined;
  let pages: PageServer | undefined;
  const withChromium = needed.length === 0 && hasChromium();
  const clip = path.join(dir, 'clip.mp4');

  beforeAll(async () => {
    const t0 = Date.now();
    const [c] = await Promise.all([
      startCluster({
        dir: path.join(dir, 'cluster'),
        name,
        database,
        engines,
        services: false,
        basePort: 0,
        shutdownTimeoutMs: 10_000,
        readyTimeoutMs: 240_000,
        env: { VOD_LOG_LEVEL: 'info', VOD_WORKER_CONCURRENCY: 'cpu=1,io=2,fast=4' },
        onUnexpectedExit: (p, code, signal) =>
          unexpected.push(`${p.name} exited (code ${code}, signal ${signal}):\n${logTail(p.logFile)}`),
      }),
      makeClip(clip, { size: '640x360', rate: 30, duration: 6, audio: true }),
      withChromium
        ? Promise.all([launchBrowser(), startPageServer()]).then(([b, p]) => {
            browser = b;
            pages = p;
          })
        : undefined,
    ]);
    cluster = c;
    console.log(`cluster of ${c.processes.length} processes ready in ${Date.now() - t0} ms (${c.dir})`);
    const admin = { authorization: `Bearer ${c.adminKey}`, 'content-type': 'application/json' };
    const api = c.urls.api[0]!;
    const tenant = (await (
      await fetch(`${api}/v1/tenants`, { method: 'POST', headers: admin, body: '{"name":"cluster"}' })
    ).json()) as { id: string };
    const key = (await (
      await fetch(`${api}/v1/tenants/${tenant.id}/api-keys`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'test', scopes: ['read', 'write'] }),
      })
    ).json()) as { key: string };
    auth = { authorization: `Bearer ${key.key}` };
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await pages?.close();
    if (cluster && !exits) await cluster.stop();
    // Leave nothing behind on the shared engines: database, bucket, queue keys, ZooKeeper chroot.
    await dropDatabase(engines.mysqlUrl!, database).catch(() => undefined);
    const store = await createObjectStore(`s3://${name}?endpoint=${engines.s3!.endpoint}`, {
      s3: {
        credentials: { accessKeyId: engines.s3!.accessKey, secretAccessKey: engines.s3!.secretKey },
      },
    } as never);
    await (store as S3ObjectStore).removeBucket().catch(() => undefined);
    await store.close();
    await deleteRedisKeys(`${name}:*`, { url: engines.redisUrl! });
    await removeZkTree(engines.zookeeperUrl!, `/${name}`).catch((err) => console.warn(`zookeeper: ${err}`));
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('the api hands out a tus endpoint on an upload node; the clip uploaded there becomes ready', async () => {
    const api = cluster.urls.api[0]!;
    const templateId = await createTemplate(api, auth, {
      name: 'cluster',
      renditions: [
        { name: '360p', height: 360, videoBitrate: 600_000 },
        { name: '240p', height: 240, videoBitrate: 300_000 },
      ],
      audio: { bitrate: 96_000 },
      // Encrypted: the keys a stream node serves were sealed by a worker, with the cluster's one secret.
      hls: { segmentDuration: 2, encryption: 'aes-128' },
    });
    const created = await createUploadVia(api, auth, { templateId, title: 'cluster clip' });
    const endpoint = new URL(created.url);
    expect(cluster.urls.upload).toContain(endpoint.origin);
    expect(endpoint.pathname).toBe('/tus');
    const uploadUrl = await tusUpload(readFileSync(clip), { endpoint: created.url, headers: created.headers })
      .promise;
    expect(new URL(uploadUrl).origin).toBe(endpoint.origin);
    video = await waitFor(
      async () => {
        const v = (await (
          await fetch(`${api}/v1/videos/${created.videoId}`, { headers: auth })
        ).json()) as Video;
        if (v.status === 'errored') throw new Error(`video errored: ${JSON.stringify(v)}`);
        return v.status === 'ready' ? v : undefined;
      },
      240_000,
      `video ${created.videoId} to be ready`,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\n${cluster.processes
          .filter((p) => p.role === 'worker')
          .map((p) => `--- ${p.name}\n${logTail(p.logFile, 10)}`)
          .join('\n')}`,
      );
    });
    expect(video.playback.id).toBeTruthy();
    // LBS: the api (which does not stream) hands out a stream node in playback URLs.
    expect(cluster.urls.stream).toContain(new URL(video.playback.hlsUrl).origin);
  }, 300_000);

  it('both stream nodes serve the master playlist, a child playlist, the key and byte-identical segments', async () => {
    expect(video, 'the upload test made a ready video').toBeDefined();
    const hlsPath = new URL(video.playback.hlsUrl).pathname;
    const [a, b] = cluster.urls.stream as [string, string];
    const fetchTree = async (origin: string) => {
      const masterUrl = `${origin}${hlsPath}`;
      const master = (await get(masterUrl)).toString();
      expect(master).toMatch(/^#EXTM3U/);
      const child = playlistUris(master)
        .map((u) => new URL(u, masterUrl).toString())
        .find((u) => !/audio/.test(u) && u.endsWith('.m3u8'))!;
      expect(child).toBeDefined();
      const childText = (await get(child)).toString();
      expect(childText).toMatch(/^#EXTM3U/);
      expect(childText).toContain('#EXT-X-KEY:METHOD=AES-128');
      const uris = playlistUris(childText).map((u) => new URL(u, child).toString());
      const segments = uris.filter((u) => !/\/key$/.test(new URL(u).pathname)).slice(0, 3);
      expect(segments.length).toBeGreaterThan(0);
      const keyUri = uris.find((u) => /\/key$/.test(new URL(u).pathname));
      return {
        master,
        segments: await Promise.all(segments.map(get)),
        paths: segments.map((u) => new URL(u).pathname),
        key: keyUri ? await get(keyUri) : undefined,
      };
    };
    const [ta, tb] = await Promise.all([fetchTree(a), fetchTree(b)]);
    expect(tb.paths).toEqual(ta.paths);
    expect(tb.segments.map(sha256)).toEqual(ta.segments.map(sha256));
    for (const s of ta.segments) expect(s.length).toBeGreaterThan(1000);
    expect(ta.key?.length).toBe(16);
    expect(tb.key?.equals(ta.key!)).toBe(true);
  }, 60_000);

  it.skipIf(!withChromium)(
    'headless Chromium plays the HLS from a stream node for more than 2 s',
    async () => {
      expect(video, 'the upload test made a ready video').toBeDefined();
      const stream = cluster.urls.stream[1]!;
      const hlsUrl = `${stream}${new URL(video.playback.hlsUrl).pathname}`;
      const page = await browser!.newPage({ viewport: { width: 660, height: 400 } });
      try {
        await page.goto(pages!.url);
        await page.evaluate((u) => (window as unknown as { playHls(u: string): void }).playHls(u), hlsUrl);
        const state = () => page.evaluate(() => (window as unknown as { vod: PlayerState }).vod);
        try {
          await page.waitForFunction(() => document.querySelector('video')!.currentTime > 2.5, null, {
            timeout: 30_000,
          });
        } catch (err) {
          throw new Error(`playback did not pass 2.5 s: ${JSON.stringify(await state())}; ${String(err)}`);
        }
        const st = await state();
        expect(st.errors.filter((e) => e.fatal)).toEqual([]);
        expect(st.mediaErrors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    60_000,
  );

  it('GET /v1/admin/cluster lists all 8 instances (skipped while the endpoint does not exist)', async () => {
    const res = await fetch(`${cluster.urls.api[0]}/v1/admin/cluster`, {
      headers: { authorization: `Bearer ${cluster.adminKey}` },
    });
    if (res.status === 404) {
      console.log('GET /v1/admin/cluster answers 404 (not written yet): assertion skipped');
      return;
    }
    expect(res.status).toBe(200);
    const body = JSON.stringify(await res.json());
    for (const p of cluster.processes) expect(body, `${p.name} (${p.url}) listed`).toContain(p.url);
  }, 30_000);

  it('stops: every process exits with code 0 within the bound, and none died before', async () => {
    expect(unexpected).toEqual([]);
    const t0 = Date.now();
    exits = await cluster.stop();
    console.log(`cluster stopped in ${Date.now() - t0} ms`);
    expect(exits).toHaveLength(8);
    for (const x of exits) {
      const p = cluster.processes.find((q) => q.name === x.name)!;
      expect({ ...x, ms: undefined }, logTail(p.logFile)).toEqual({
        name: x.name,
        pid: x.pid,
        code: 0,
        signal: null,
        killed: false,
        ms: undefined,
      });
      expect(x.ms).toBeLessThan(cluster.stopBoundMs);
    }
  }, 120_000);
});
