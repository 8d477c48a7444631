import { execFile } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { createUploadVia, tusUpload, waitFor } from '../../../../../test/support/uploads';
import { signJwt } from './jwt';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'vodplay-'));
const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
type Video = { id: string; pid: string; tenant: Tenant };

describe('signed playback: signing keys, RS256 tokens carried into playlists, referrer policies', () => {
  let s: TestServer;
  let a: Tenant;
  let b: Tenant;
  let signedA: Video; // signed, AES-128
  let publicA: Video;
  let signedB: Video;
  let keyA: { id: string; privateKey: string };
  let keyB: { id: string; privateKey: string };

  const api = async (t: Tenant, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${s.url}${url}`, {
      method,
      headers: { ...t.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const get = (url: string, headers: Record<string, string> = {}) =>
    fetch(url.startsWith('http') ? url : `${s.url}${url}`, { headers });
  const status = async (url: string, headers: Record<string, string> = {}) => {
    const res = await get(url, headers);
    await res.arrayBuffer();
    return res.status;
  };
  const token = (
    v: { pid: string },
    key: { id: string; privateKey: string },
    claims: Record<string, unknown> = {},
  ) => signJwt({ sub: v.pid, aud: 'v', exp: now() + 600, ...claims }, key.id, key.privateKey);

  beforeAll(async () => {
    s = await startTestServer({ VOD_WORKER_CONCURRENCY: 'cpu=3,io=3,fast=4' });
    a = await s.tenant('play-a');
    b = await s.tenant('play-b');
    const clip = path.join(dir, 'clip.mp4');
    await run(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-y'],
        ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=4'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
        clip,
      ],
      { timeout: 60_000 },
    );
    const data = readFileSync(clip);
    const template = async (t: Tenant) => {
      const r = await api(t, 'POST', '/v1/templates', {
        name: 'tiny-aes',
        renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
        audio: { bitrate: 64_000 },
        hls: { segmentDuration: 2, encryption: 'aes-128' },
        mp4: 'highest',
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    const [tplA, tplB] = await Promise.all([template(a), template(b)]);
    const upload = async (t: Tenant, templateId: string, playbackPolicy: 'signed' | 'public') => {
      const created = await createUploadVia(s.url, t.auth, { templateId, title: 'clip', playbackPolicy });
      await tusUpload(data, { endpoint: created.url, headers: created.headers }).promise;
      const v = await waitFor(
        async () => {
          const r = await api(t, 'GET', `/v1/videos/${created.videoId}`);
          return r.body.status === 'ready' || r.body.status === 'errored' ? r.body : undefined;
        },
        150_000,
        `video ${created.videoId} to be ready`,
      );
      expect(v.status, JSON.stringify(v.error)).toBe('ready');
      expect(v.playback.policy).toBe(playbackPolicy);
      return { id: v.id as string, pid: v.playback.id as string, tenant: t };
    };
    [signedA, publicA, signedB] = await Promise.all([
      upload(a, tplA, 'signed'),
      upload(a, tplA, 'public'),
      upload(b, tplB, 'signed'),
    ]);
    const ka = await api(a, 'POST', '/v1/signing-keys');
    const kb = await api(b, 'POST', '/v1/signing-keys');
    expect(ka.status).toBe(201);
    keyA = ka.body;
    keyB = kb.body;
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates signing keys whose private key is shown once and never listed', async () => {
    expect(keyA.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPrivateKey(keyA.privateKey).asymmetricKeyDetails?.modulusLength).toBe(2048);
    const list = await api(a, 'GET', '/v1/signing-keys');
    expect(list.status).toBe(200);
    const mine = list.body.data.find((k: { id: string }) => k.id === keyA.id);
    expect(mine).toEqual({ id: keyA.id, managed: false, createdAt: expect.any(String), revokedAt: null });
    expect(JSON.stringify(list.body)).not.toMatch(/PRIVATE KEY|privateKey/);
    expect((await api(a, 'GET', `/v1/signing-keys/${keyA.id}`)).body.id).toBe(keyA.id);
    // Tenants do not see each other's keys.
    expect((await api(b, 'GET', `/v1/signing-keys/${keyA.id}`)).status).toBe(404);
    expect((await api(b, 'DELETE', `/v1/signing-keys/${keyA.id}`)).status).toBe(404);
    const doc = await (await fetch(`${s.url}/openapi.json`)).json();
    for (const p of [
      '/v1/signing-keys',
      '/v1/signing-keys/{id}',
      '/v1/videos/{id}/playback-tokens',
      '/v1/referrer-policy',
      '/v1/videos/{id}/referrer-policy',
    ])
      expect(doc.paths, p).toHaveProperty([p]);
    // The stored row holds the public key only.
    const row = await s.ctx.db.primary
      .selectFrom('signing_keys')
      .selectAll()
      .where('id', '=', keyA.id)
      .executeTakeFirstOrThrow();
    expect(row.private_key).toBeNull();
    expect(row.public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('refuses every bad token with 403', async () => {
    const seg = (t?: string) =>
      `/hls/${signedA.pid}/240p/seg-00000.ts${t === undefined ? '' : `?token=${t}`}`;
    const master = (t?: string) => `/hls/${signedA.pid}/master.m3u8${t === undefined ? '' : `?token=${t}`}`;
    const good = token(signedA, keyA);
    expect(await status(seg(good))).toBe(200);

    const [h, p, sig] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const bad: Record<string, string> = {
      missing: '',
      garbage: 'not-a-jwt',
      expired: token(signedA, keyA, { exp: now() - 60 }),
      'nbf in the future': token(signedA, keyA, { nbf: now() + 3600 }),
      'no exp': signJwt({ sub: signedA.pid, aud: 'v' }, keyA.id, keyA.privateKey),
      'tampered payload': `${h}.${b64(JSON.stringify({ ...claims, exp: claims.exp + 86_400 }))}.${sig}`,
      'tampered signature': `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
      'alg none': `${b64(JSON.stringify({ alg: 'none', kid: keyA.id }))}.${p}.`,
      'alg none with signature': `${b64(JSON.stringify({ alg: 'none', kid: keyA.id }))}.${p}.${sig}`,
      'HS256 with the public key as secret': (() => {
        const hh = b64(JSON.stringify({ alg: 'HS256', kid: keyA.id }));
        return `${hh}.${p}.${b64('x'.repeat(32))}`;
      })(),
      'wrong aud (t on a segment)': token(signedA, keyA, { aud: 't' }),
      'wrong aud (s)': token(signedA, keyA, { aud: ['s', 't'] }),
      'unknown kid': signJwt({ ...claims }, '01ARZ3NDEKTSV4RRFFQ69G5FAV', keyA.privateKey),
      'kid not an id': signJwt({ ...claims }, '../../etc', keyA.privateKey),
      'signed by another key with this kid': signJwt(
        { ...claims },
        keyA.id,
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      ),
      'token for another video': token(publicA, keyA),
      'token for another video (other tenant)': token(signedB, keyA),
    };
    for (const [why, t] of Object.entries(bad)) {
      expect(await status(seg(why === 'missing' ? undefined : t)), why).toBe(403);
      expect(await status(master(why === 'missing' ? undefined : t)), why).toBe(403);
    }
    const res = await get(seg(bad.expired));
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await res.json()).detail).toMatch(/expired/);

    // Tenant A's key never opens tenant B's video, even with B's playback id as sub.
    expect(await status(`/hls/${signedB.pid}/master.m3u8?token=${token(signedB, keyA)}`)).toBe(403);
    expect(await status(`/hls/${signedB.pid}/master.m3u8?token=${token(signedB, keyB)}`)).toBe(200);
    // A token whose signature is right but algorithm header swapped to RS512 is refused.
    const rs512 = `${b64(JSON.stringify({ alg: 'RS512', kid: keyA.id }))}.${p}`;
    const sig512 = sign('RSA-SHA512', Buffer.from(rs512), keyA.privateKey);
    expect(await status(seg(`${rs512}.${b64(sig512)}`))).toBe(403);
    // Tokens carry into every route: mp4, key, thumbnail, storyboard all refuse without one.
    for (const u of [
      `/mp4/${signedA.pid}/240p.mp4`,
      `/hls/${signedA.pid}/key`,
      `/hls/${signedA.pid}/240p/index.m3u8`,
      `/thumb/${signedA.pid}.jpg`,
      `/storyboard/${signedA.pid}.vtt`,
    ])
      expect(await status(u), u).toBe(403);
  });

  it('a valid token on the master playlist is carried into every URI, and following them plays', async () => {
    const t = token(signedA, keyA);
    const res = await get(`/hls/${signedA.pid}/master.m3u8?token=${t}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    const master = await res.text();
    const uris = (text: string) => [
      ...text
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l) => l.trim()),
      ...[...text.matchAll(/URI="([^"]*)"/g)].map((m) => m[1]!),
    ];
    const masterUris = uris(master);
    expect(masterUris.length).toBeGreaterThanOrEqual(2); // 240p + audio
    for (const u of masterUris)
      expect(u, master).toMatch(new RegExp(`[?&]token=${t.replace(/\./g, '\\.')}$`));

    const base = new URL(`${s.url}/hls/${signedA.pid}/master.m3u8`);
    let segments = 0;
    let keys = 0;
    for (const u of masterUris) {
      const child = await get(new URL(u, base).href);
      expect(child.status, u).toBe(200);
      const text = await child.text();
      const childUris = uris(text);
      expect(childUris.length).toBeGreaterThan(1);
      for (const cu of childUris) expect(cu, text).toContain(`token=${t}`);
      const childBase = new URL(u, base);
      for (const cu of childUris) {
        const r = await get(new URL(cu, childBase).href);
        expect(r.status, cu).toBe(200);
        const body = Buffer.from(await r.arrayBuffer());
        if (cu.includes('/key?')) {
          keys++;
          expect(body.length).toBe(16);
          expect(r.headers.get('cache-control')).toBe('private, no-store');
        } else {
          segments++;
          expect(body.length).toBeGreaterThan(1000);
          expect(r.headers.get('cache-control')).toMatch(/^private/);
        }
      }
    }
    expect(segments).toBeGreaterThanOrEqual(4);
    expect(keys).toBeGreaterThanOrEqual(1);

    const mp4 = await get(`/mp4/${signedA.pid}/240p.mp4?token=${t}`, { range: 'bytes=0-99' });
    expect(mp4.status).toBe(206);
    expect(mp4.headers.get('content-range')).toMatch(/^bytes 0-99\/\d+$/);
    expect((await mp4.arrayBuffer()).byteLength).toBe(100);
  });

  it('public videos play without tokens, playlists untouched', async () => {
    const master = await get(`/hls/${publicA.pid}/master.m3u8`);
    expect(master.status).toBe(200);
    expect(master.headers.get('cache-control')).toMatch(/^public/);
    const text = await master.text();
    expect(text).not.toContain('token=');
    expect(text).toContain('240p/index.m3u8');
    expect(await status(`/hls/${publicA.pid}/240p/seg-00000.ts`)).toBe(200);
    expect(await status(`/thumb/${publicA.pid}.jpg`)).toBe(200);
  });

  it("the video's playback.embedUrl is its embed page; a signed video's needs ?token= (aud v)", async () => {
    for (const v of [publicA, signedA]) {
      const one = (await api(a, 'GET', `/v1/videos/${v.id}`)).body;
      const listed = (await api(a, 'GET', '/v1/videos?limit=100')).body.data.find(
        (x: { id: string }) => x.id === v.id,
      );
      expect(one.playback.embedUrl).toBe(`${s.url}/embed/${v.pid}`); // built like hlsUrl, no token in it
      expect(listed.playback.embedUrl).toBe(one.playback.embedUrl);
    }
    const pub = await get((await api(a, 'GET', `/v1/videos/${publicA.id}`)).body.playback.embedUrl);
    expect(pub.status).toBe(200);
    expect(await pub.text()).toContain(`<vod-player playback-id="${publicA.pid}"`);
    const embed = (await api(a, 'GET', `/v1/videos/${signedA.id}`)).body.playback.embedUrl as string;
    expect(await status(embed)).toBe(403);
    expect(await status(`${embed}?token=${token(signedA, keyA, { aud: 't' })}`)).toBe(403);
    const ok = await get(`${embed}?token=${token(signedA, keyA)}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('token="');
  });

  it('mints tokens server-side with the managed key; they play for their audience only', async () => {
    const r = await api(a, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const { token: minted, kid, aud, expiresAt } = r.body;
    expect(aud).toBe('v');
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    const header = JSON.parse(Buffer.from(minted.split('.')[0], 'base64url').toString());
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid });
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${minted}`)).toBe(200);
    expect(await status(`/hls/${signedA.pid}/240p/seg-00001.ts?token=${minted}`)).toBe(200);
    expect(await status(`/thumb/${signedA.pid}.jpg?token=${minted}`)).toBe(403);

    const thumb = await api(a, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, {
      aud: 't',
      expiresIn: 60,
    });
    expect(thumb.body.kid).toBe(kid); // one managed key per tenant
    const tr = await get(`/thumb/${signedA.pid}.jpg?token=${thumb.body.token}`);
    expect(tr.status).toBe(200);
    expect(tr.headers.get('content-type')).toBe('image/jpeg');
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${thumb.body.token}`)).toBe(403);

    const sb = await api(a, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, { aud: 's' });
    const vtt = await get(`/storyboard/${signedA.pid}.vtt?token=${sb.body.token}`);
    expect(vtt.status).toBe(200);
    const sprite = /^(\/storyboard\/[^#\s]+)#xywh=/m.exec(await vtt.text())![1]!;
    expect(sprite).toContain(`?token=${sb.body.token}`);
    expect(await status(sprite)).toBe(200);
    expect(await status(sprite.replace(/\?.*/, ''))).toBe(403);

    // The managed key is listed (no private key), its private key is sealed at rest.
    const listed = (await api(a, 'GET', '/v1/signing-keys')).body.data;
    expect(listed.find((k: { id: string }) => k.id === kid)).toMatchObject({
      managed: true,
      revokedAt: null,
    });
    const row = await s.ctx.db.primary
      .selectFrom('signing_keys')
      .selectAll()
      .where('id', '=', kid)
      .executeTakeFirstOrThrow();
    expect(row.private_key).not.toMatch(/PRIVATE KEY/);
    // No body at all: the defaults.
    const bare = await fetch(`${s.url}/v1/videos/${signedA.id}/playback-tokens`, {
      method: 'POST',
      headers: a.auth,
    });
    expect(bare.status).toBe(201);
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${(await bare.json()).token}`)).toBe(200);
    // Another tenant cannot mint for this video; bad bodies are refused.
    expect((await api(b, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, {})).status).toBe(404);
    expect((await api(a, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, { aud: 'x' })).status).toBe(400);
    expect(
      (await api(a, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, { expiresIn: 1e9 })).status,
    ).toBe(400);
  });

  it('a revoked key stops working', async () => {
    const k = (await api(a, 'POST', '/v1/signing-keys')).body;
    const t = token(signedA, k);
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${t}`)).toBe(200);
    expect((await api(a, 'DELETE', `/v1/signing-keys/${k.id}`)).status).toBe(204);
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${t}`)).toBe(403);
    expect(await status(`/hls/${signedA.pid}/240p/seg-00000.ts?token=${t}`)).toBe(403);
    expect((await api(a, 'GET', `/v1/signing-keys/${k.id}`)).body.revokedAt).not.toBeNull();
    expect((await api(a, 'DELETE', `/v1/signing-keys/${k.id}`)).status).toBe(204); // idempotent
    // Other keys are unaffected.
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${token(signedA, keyA)}`)).toBe(200);

    // Revoking the managed key rotates it: old minted tokens stop, new ones play.
    const m1 = (await api(a, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, {})).body;
    expect((await api(a, 'DELETE', `/v1/signing-keys/${m1.kid}`)).status).toBe(204);
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${m1.token}`)).toBe(403);
    const m2 = (await api(a, 'POST', `/v1/videos/${signedA.id}/playback-tokens`, {})).body;
    expect(m2.kid).not.toBe(m1.kid);
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${m2.token}`)).toBe(200);
  });

  it('a revocation made directly in the database (another node) takes effect within the cache TTL', async () => {
    const k = (await api(a, 'POST', '/v1/signing-keys')).body;
    const t = token(signedA, k);
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${t}`)).toBe(200);
    await s.ctx.db.primary
      .updateTable('signing_keys')
      .set({ revoked_at: new Date().toISOString() })
      .where('id', '=', k.id)
      .execute();
    await new Promise((r) => setTimeout(r, 3100));
    expect(await status(`/hls/${signedA.pid}/master.m3u8?token=${t}`)).toBe(403);
  });

  it('enforces referrer policies of the tenant and of a video', async () => {
    const seg = `/hls/${publicA.pid}/240p/seg-00000.ts`;
    const signedSeg = `/hls/${signedA.pid}/240p/seg-00000.ts?token=${token(signedA, keyA)}`;
    const ref = (u?: string) => (u ? { referer: u } : ({} as Record<string, string>));
    expect(await status(seg, ref('https://anywhere.test/'))).toBe(200); // no policy yet

    const bad = await api(a, 'PUT', '/v1/referrer-policy', { referrers: ['https://x.com/path'] });
    expect(bad.status).toBe(400);
    const put = await api(a, 'PUT', '/v1/referrer-policy', {
      referrers: ['Example.com', '*.cdn.test'],
      allowNoReferrer: false,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({
      scope: 'tenant',
      referrers: ['example.com', '*.cdn.test'],
      allowNoReferrer: false,
    });
    expect((await api(a, 'GET', '/v1/referrer-policy')).body.referrers).toEqual([
      'example.com',
      '*.cdn.test',
    ]);

    for (const [u, want] of [
      ['https://example.com/watch?v=1', 200],
      ['http://EXAMPLE.com:8080/', 200],
      ['https://a.cdn.test/player', 200],
      ['https://a.b.cdn.test/', 200],
      ['https://cdn.test/', 403],
      ['https://www.example.com/', 403],
      ['https://example.com.evil.test/', 403],
      ['https://evilcdn.test/', 403],
      ['not a url', 403],
      [undefined, 403],
    ] as const) {
      expect(await status(seg, ref(u)), String(u)).toBe(want);
      expect(await status(signedSeg, ref(u)), `signed ${u}`).toBe(want);
    }
    // The player inside this server's own embed page of the same video passes (the embed page itself
    // was checked against the policy); an embed page of another video does not.
    expect(await status(seg, ref(`${s.url}/embed/${publicA.pid}`))).toBe(200);
    expect(await status(seg, ref(`${s.url}/embed/${signedA.pid}`))).toBe(403);
    expect(await status(seg, ref(`http://elsewhere.test/embed/${publicA.pid}`))).toBe(403);
    // A valid token does not bypass the referrer policy, nor does the policy bypass the token.
    expect(await status(`/hls/${signedA.pid}/240p/seg-00000.ts`, ref('https://example.com/'))).toBe(403);
    // Tenant B is not affected by A's policy.
    expect(
      await status(
        `/hls/${signedB.pid}/master.m3u8?token=${token(signedB, keyB)}`,
        ref('https://evil.test/'),
      ),
    ).toBe(200);

    // A video's own policy replaces the tenant's for that video only.
    const vp = await api(a, 'PUT', `/v1/videos/${publicA.id}/referrer-policy`, {
      referrers: ['*.example.com'],
      allowNoReferrer: true,
    });
    expect(vp.status).toBe(200);
    expect(vp.body.scope).toBe('video');
    expect(await status(seg)).toBe(200);
    expect(await status(seg, ref('https://www.example.com/'))).toBe(200);
    expect(await status(seg, ref('https://example.com/'))).toBe(403);
    expect(await status(signedSeg)).toBe(403); // still the tenant's rule for the other video
    expect(await status(signedSeg, ref('https://www.example.com/'))).toBe(403);

    // Empty list: any referrer, but the no-referrer switch still applies.
    await api(a, 'PUT', `/v1/videos/${publicA.id}/referrer-policy`, {
      referrers: [],
      allowNoReferrer: false,
    });
    expect(await status(seg, ref('https://anything.test/'))).toBe(200);
    expect(await status(seg)).toBe(403);

    expect((await api(b, 'PUT', `/v1/videos/${publicA.id}/referrer-policy`, { referrers: [] })).status).toBe(
      404,
    );
    expect((await api(a, 'DELETE', `/v1/videos/${publicA.id}/referrer-policy`)).status).toBe(204);
    expect(await status(seg)).toBe(403); // back to the tenant's
    expect((await api(a, 'DELETE', '/v1/referrer-policy')).status).toBe(204);
    expect((await api(a, 'GET', '/v1/referrer-policy')).status).toBe(404);
    expect(await status(seg)).toBe(200);
    expect(await status(signedSeg)).toBe(200);
  });
});
