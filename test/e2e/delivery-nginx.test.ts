// The nginx front (deploy/nginx/vodcloud.conf, rendered as shipped) in front of a real `vodcloud serve`
// with VOD_STREAM_ACCEL=nginx and VOD_DELIVERY_LOG: the node authorises every request, nginx sends the object
// bytes from the file store, and the node counts what nginx's delivery log says it sent.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../apps/server/src/modules/playback/jwt';
import { type ServeHandle, serve, tenantOver } from '../support/cli';
import { type NginxFront, nginxAvailable, startNginxFront } from '../support/nginx-front';
import { waitFor } from '../support/uploads';
import { createTemplate, makeClip, type ReadyVideo, uploadUntilReady } from '../support/videos';

const now = () => Math.floor(Date.now() / 1000);

describe.skipIf(!nginxAvailable())('nginx front: vodcloud authorises, nginx sends the bytes', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodfront-'));
  const dataDir = path.join(dir, 'data');
  const objects = path.join(dataDir, 'objects', 'objects');
  const adminKey = `admin-front-${Date.now()}-padding-to-24-chars`;
  let node: ServeHandle;
  let front: NginxFront;
  let t: Awaited<ReturnType<typeof tenantOver>>;
  let v: ReadyVideo;
  let key: { id: string; privateKey: string };
  let generation: string;

  beforeAll(async () => {
    chmodSync(dir, 0o755); // nginx's workers (nobody) read the file store
    mkdirSync(dataDir, { mode: 0o755 });
    const log = path.join(dir, 'nginx', 'logs', 'delivery.log');
    node = await serve(
      [],
      {
        VOD_DATA_DIR: dataDir,
        VOD_PORT: '0',
        VOD_HOST: '127.0.0.1',
        VOD_ADMIN_API_KEY: adminKey,
        VOD_LOG_LEVEL: 'warn',
        VOD_STREAM_ACCEL: 'nginx',
        VOD_DELIVERY_LOG: log,
        VOD_DELIVERY_FLUSH_MS: '200',
        VOD_TRUST_PROXY: 'loopback',
        VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4',
      },
      60_000,
    );
    front = await startNginxFront({
      dir: path.join(dir, 'nginx'),
      upstream: new URL(node.url).host,
      objectsDir: objects,
      deliveryLog: log,
      workers: 1,
    });
    t = await tenantOver(node.url, adminKey, 'front');
    const templateId = await createTemplate(node.url, t.auth, {
      name: 'front',
      renditions: [{ name: '240p', height: 240, videoBitrate: 400_000 }],
      hls: { segmentDuration: 2 },
      mp4: 'highest',
    });
    const clip = await makeClip(path.join(dir, 'clip.mp4'), { duration: 4 });
    v = await uploadUntilReady(node.url, t.auth, clip, { templateId, playbackPolicy: 'signed' }, 90_000);
    const bearer = { authorization: t.auth.authorization! };
    const res = await fetch(`${node.url}/v1/signing-keys`, { method: 'POST', headers: bearer });
    expect(res.status).toBe(201);
    key = (await res.json()) as { id: string; privateKey: string };
    generation = new URL(v.playback.mp4Urls['240p']!).pathname.split('/')[3]!;
  }, 180_000);

  afterAll(async () => {
    await front?.stop();
    if (node && node.child.exitCode === null) {
      node.child.kill('SIGTERM');
      await node.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const token = (claims: Record<string, unknown> = {}) =>
    signJwt({ sub: v.playback.id, aud: 'v', exp: now() + 600, ...claims }, key.id, key.privateKey);
  const segPath = (n: number, tok = token()) =>
    `/hls/${v.playback.id}/${generation}/240p/seg-0000${n}.ts?token=${encodeURIComponent(tok)}`;
  const mp4Path = (tok = token()) => `/mp4/${v.playback.id}/${generation}/240p.mp4?token=${tok}`;
  const stored = (rel: string) => readFileSync(path.join(objects, t.id, v.id, generation, `${rel}%o`));
  const get = async (url: string, headers: Record<string, string> = {}, method = 'GET') => {
    const res = await fetch(url, { headers, method });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };
  const deliveryLog = () => readFileSync(front.deliveryLog, 'utf8');
  const accounted = () => {
    const db = new Database(path.join(dataDir, 'vodcloud.db'), { readonly: true });
    try {
      return db
        .prepare(
          'SELECT COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(requests), 0) AS requests FROM delivery_stats WHERE video_id = ?',
        )
        .get(v.id) as { bytes: number; requests: number };
    } finally {
      db.close();
    }
  };

  it('a valid token gets the exact bytes from nginx, and a Range the exact range', async () => {
    const seg = stored('hls/240p/seg-00000.ts');
    const full = await get(`${front.url}${segPath(0)}`);
    expect(full.res.status).toBe(200);
    expect(full.res.headers.get('server')).toBe('nginx');
    expect(full.res.headers.get('x-vod-key')).toBeNull();
    expect(full.res.headers.get('content-type')).toBe('video/mp2t');
    expect(full.res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(full.res.headers.get('access-control-allow-origin')).toBe('*');
    expect(full.body.equals(seg)).toBe(true);
    // nginx sent it: its delivery log names the object (written at least once a second).
    await waitFor(
      async () => deliveryLog().includes(`|${t.id}/${v.id}/${generation}/hls/240p/seg-00000.ts`) || undefined,
      5000,
      'the delivery log',
    );

    const part = await get(`${front.url}${segPath(0)}`, { range: 'bytes=100-1099' });
    expect(part.res.status).toBe(206);
    expect(part.res.headers.get('content-range')).toBe(`bytes 100-1099/${seg.length}`);
    expect(part.body.equals(seg.subarray(100, 1100))).toBe(true);

    const mp4 = stored('mp4/240p.mp4');
    const whole = await get(`${front.url}${mp4Path()}`);
    expect([whole.res.status, whole.res.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    expect(whole.body.equals(mp4)).toBe(true);
    const tail = await get(`${front.url}${mp4Path()}`, { range: 'bytes=-500' });
    expect(tail.res.status).toBe(206);
    expect(tail.body.equals(mp4.subarray(mp4.length - 500))).toBe(true);

    // The playlist is vodcloud's own answer (the token carried into each URI), passed through.
    const playlist = await get(
      `${front.url}/hls/${v.playback.id}/${generation}/240p/index.m3u8?token=${token()}`,
    );
    expect(playlist.res.status).toBe(200);
    expect(playlist.body.toString()).toMatch(/^seg-00000\.ts\?token=ey/m);
    // The authorisation location is internal; a client's X-Vod-Accel never reaches the node.
    expect((await get(`${front.url}/_vod_auth`)).res.status).toBe(404);
    const forged = await get(`${front.url}${segPath(0)}`, { 'x-vod-accel': '1' });
    expect(forged.body.equals(seg)).toBe(true);
    // Straight to the node: it sends the bytes itself, or (X-Vod-Accel: 1) only names the object.
    const direct = await get(`${node.url}${segPath(0)}`);
    expect([direct.res.headers.get('x-vod-key'), direct.body.equals(seg)]).toEqual([null, true]);
    const auth = await get(`${node.url}${segPath(0)}`, { 'x-vod-accel': '1' });
    expect([auth.res.status, auth.body.length]).toEqual([200, 0]);
    expect(auth.res.headers.get('x-vod-key')).toBe(`${t.id}/${v.id}/${generation}/hls/240p/seg-00000.ts`);
  });

  it('refuses a missing, invalid or expired token, a wrong referrer and a blocked video', async () => {
    const refused = async (url: string, headers: Record<string, string> = {}) => {
      const r = await get(`${front.url}${url}`, headers);
      expect(r.res.headers.get('content-type'), url).toMatch(/^application\/problem\+json/);
      return r.res.status;
    };
    const quiet = () => new Promise((r) => setTimeout(r, 1200)); // nginx writes its log at least once a second
    await quiet();
    const before = deliveryLog();
    expect(await refused(`/hls/${v.playback.id}/${generation}/240p/seg-00000.ts`)).toBe(403);
    expect(await refused(segPath(0, 'not.a.token'))).toBe(403);
    expect(await refused(segPath(0, token({ exp: now() - 600 })))).toBe(403);
    expect(await refused(segPath(0, token({ aud: 't' })))).toBe(403);
    expect(await refused(segPath(0, token({ sub: 'another-video-id' })))).toBe(403);
    expect(await refused(mp4Path(token({ exp: now() - 600 })))).toBe(403);
    await quiet();
    expect(deliveryLog()).toBe(before); // nginx sent nothing

    const policy = (method: string, body?: unknown) =>
      fetch(`${node.url}/v1/videos/${v.id}/referrer-policy`, {
        method,
        headers: body === undefined ? { authorization: t.auth.authorization! } : t.auth,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await policy('PUT', { referrers: ['player.example'], allowNoReferrer: false })).status).toBe(200);
    expect(await refused(segPath(1), { referer: 'https://evil.example/page' })).toBe(403);
    expect(await refused(segPath(1))).toBe(403);
    const allowed = await get(`${front.url}${segPath(1)}`, { referer: 'https://player.example/page' });
    expect(allowed.res.status).toBe(200);
    expect(allowed.body.equals(stored('hls/240p/seg-00001.ts'))).toBe(true);
    expect((await policy('DELETE')).status).toBe(204);

    const act = (what: string) =>
      fetch(`${node.url}/v1/videos/${v.id}/${what}`, {
        method: 'POST',
        headers: { authorization: t.auth.authorization! },
      });
    expect((await act('block')).status).toBe(200);
    // Within the stream role's 2 s lookup cache.
    await waitFor(
      async () => ((await get(`${front.url}${segPath(0)}`)).res.status === 404 ? true : undefined),
      5000,
      'the block',
    );
    expect(await refused(mp4Path())).toBe(404);
    expect((await act('unblock')).status).toBe(200);
    await waitFor(
      async () => ((await get(`${front.url}${segPath(0)}`)).res.status === 200 ? true : undefined),
      5000,
      'the unblock',
    );
  });

  it('reuses an authorisation for a second, never a refusal; a revoked key is refused within 3 s', async () => {
    const authorised = async () => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const m =
        /^vod_http_requests_total\{method="GET",route="\/hls\/:pid\/:gen\/:name\/:file",status="200"\} (\d+)/m.exec(
          text,
        );
      return Number(m?.[1] ?? 0);
    };
    const res = await fetch(`${node.url}/v1/signing-keys`, {
      method: 'POST',
      headers: { authorization: t.auth.authorization! },
    });
    const k2 = (await res.json()) as { id: string; privateKey: string };
    const tok = signJwt({ sub: v.playback.id, aud: 'v', exp: now() + 600 }, k2.id, k2.privateKey);
    const before = await authorised();
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) expect((await get(`${front.url}${segPath(1, tok)}`)).res.status).toBe(200);
    // Five deliveries, one or two authorisations (a second may have begun in between).
    if (Date.now() - t0 < 900) expect((await authorised()) - before).toBe(1);
    expect((await authorised()) - before).toBeLessThanOrEqual(2);
    // A refusal goes to the node every time.
    const bad = segPath(1, token({ exp: now() - 600 }));
    for (let i = 0; i < 3; i++) expect((await get(`${front.url}${bad}`)).res.status).toBe(403);

    const revoked = await fetch(`${node.url}/v1/signing-keys/${k2.id}`, {
      method: 'DELETE',
      headers: { authorization: t.auth.authorization! },
    });
    expect(revoked.status).toBe(204);
    const at = Date.now();
    await waitFor(
      async () => ((await get(`${front.url}${segPath(1, tok)}`)).res.status === 403 ? true : undefined),
      5000,
      'the revocation',
    );
    expect(Date.now() - at).toBeLessThan(3000);
  });

  it('counts exactly the bytes sent, by nginx and by the node', async () => {
    // Everything earlier is counted first (the node flushes every 200 ms).
    let base = accounted();
    await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 1500)); // nginx writes its log at least once a second
        const now = accounted();
        const settled = now.requests === base.requests && now.bytes === base.bytes;
        base = now;
        return settled ? true : undefined;
      },
      10_000,
      'earlier deliveries to be counted',
    );
    let bytes = 0;
    let requests = 0;
    const delivered = async (url: string, headers: Record<string, string> = {}, method = 'GET') => {
      const r = await get(url, headers, method);
      if (r.res.status === 200 || r.res.status === 206) {
        bytes += r.body.length;
        requests += 1;
      }
      return r;
    };
    const seg = await delivered(`${front.url}${segPath(0)}`);
    await delivered(`${front.url}${segPath(1)}`, { range: 'bytes=0-99' });
    await delivered(`${front.url}${mp4Path()}`, { range: 'bytes=1000-' });
    await delivered(`${front.url}${segPath(1)}`, {}, 'HEAD'); // a request, no bytes
    await delivered(`${front.url}/hls/${v.playback.id}/${generation}/240p/index.m3u8?token=${token()}`);
    await delivered(`${node.url}${segPath(1)}`); // the node's own answer
    // Not deliveries: a 304, a 416, a refusal.
    const etag = seg.res.headers.get('etag')!;
    expect((await delivered(`${front.url}${segPath(0)}`, { 'if-none-match': etag })).res.status).toBe(304);
    expect((await delivered(`${front.url}${segPath(0)}`, { range: 'bytes=99999999-' })).res.status).toBe(416);
    expect((await delivered(`${front.url}${segPath(0, 'bad')}`)).res.status).toBe(403);
    expect(requests).toBe(6);

    const counted = await waitFor(
      async () => {
        const c = accounted();
        return c.requests - base.requests >= requests ? c : undefined;
      },
      10_000,
      'the counts',
    );
    expect(counted.requests - base.requests).toBe(requests);
    expect(counted.bytes - base.bytes).toBe(bytes);
  });

  it('saves the position it read the log up to when the node stops', async () => {
    await new Promise((r) => setTimeout(r, 1200)); // nginx's last lines written
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    const position = JSON.parse(readFileSync(path.join(dataDir, 'delivery-log.position'), 'utf8'));
    const log = statSync(front.deliveryLog);
    expect(position).toEqual({ ino: log.ino, offset: log.size });
  });
});
