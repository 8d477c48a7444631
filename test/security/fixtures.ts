// The world the security suites run in: a real server (embedded defaults: SQLite, files, in-process queue)
// with tenants that each have every kind of credential and one of every resource.
import { createPrivateKey, sign } from 'node:crypto';
import path from 'node:path';
import type { TestServer } from '../support/app';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { makeClip } from '../support/videos';

/** Webhook endpoints and import URLs may name this address (nothing listens on the discard port). */
export const HOOK_HOST = '127.0.0.1:9';

/**
 * Settings of the suites' servers: the rate limit is on (the production request path) but out of reach.
 * Embedded defaults; VOD_SECURITY_S3=1 puts the objects on the S3 store of VOD_TEST_S3_ENDPOINT instead.
 */
export const SERVER_ENV: Record<string, string> = {
  VOD_RATE_LIMIT_PER_MINUTE: '10000000',
  // The matrix sends hundreds of requests with bad credentials from one address: no per-address limit here.
  VOD_RATE_LIMIT_ANON_PER_MINUTE: '0',
  VOD_FETCH_ALLOW_HOSTS: HOOK_HOST,
  VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4',
  ...(process.env.VOD_SECURITY_S3 === '1' && process.env.VOD_TEST_S3_ENDPOINT
    ? {
        VOD_STORAGE_URL: `s3://vodsec-${Date.now().toString(36)}?endpoint=${process.env.VOD_TEST_S3_ENDPOINT}`,
        VOD_S3_ACCESS_KEY_ID: process.env.VOD_TEST_S3_ACCESS_KEY ?? 'ciaccess',
        VOD_S3_SECRET_ACCESS_KEY: process.env.VOD_TEST_S3_SECRET_KEY ?? 'cisecret',
      }
    : {}),
  // Any other setting, as JSON: VOD_SECURITY_SERVER_ENV='{"VOD_STREAM_REDIRECT":"presigned"}'.
  ...(JSON.parse(process.env.VOD_SECURITY_SERVER_ENV ?? '{}') as Record<string, string>),
};

export interface Json {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read fields of JSON bodies of many shapes
  body: any;
}

/** A JSON API call with a bearer credential (or none). */
export async function api(
  s: TestServer,
  key: string | undefined,
  method: string,
  url: string,
  body?: unknown,
): Promise<Json> {
  const res = await fetch(`${s.url}${url}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: parsed };
}

async function must(p: Promise<Json>, status: number, what: string): Promise<Json['body']> {
  const r = await p;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface UploadHandle {
  id: string;
  videoId: string;
  /** The upload token (`Bearer …` value without the scheme). */
  token: string;
}

export interface TenantWorld {
  name: string;
  id: string;
  /** API keys: read+write, read-only, revoked; the id of the read key and of a key only tests may revoke. */
  rw: string;
  read: string;
  readKeyId: string;
  revoked: string;
  victimKeyId: string;
  template: string;
  category: string;
  webhook: string;
  /** A recording hook (its token: the credential of the recorder callback routes). */
  recordingHook: { id: string; token: string };
  /** A recording imported by URL (from a closed port: it fails, the row stays). */
  recording: string;
  /** A logged delivery of `webhook` (a test ping to a closed port: failed). */
  delivery: string;
  signingKey: { id: string; privateKey: string };
  /** An upload whose token was never used (tus creation not made). */
  fresh: UploadHandle;
  /** An upload created on the tus endpoint (10 bytes declared, none sent): its tus path. */
  started: UploadHandle & { tusPath: string };
  /** An upload token past its expiry. */
  expired: UploadHandle;
  /** Every id of this tenant's resources (for "never someone else's data" checks). */
  ids: string[];
}

const bearer = (headers: Record<string, string>) => (headers.Authorization ?? '').replace(/^Bearer /, '');

async function upload(s: TestServer, key: string): Promise<UploadHandle> {
  const u = await createUploadVia(s.url, { authorization: `Bearer ${key}` }, { title: 'matrix' });
  return { id: u.id, videoId: u.videoId, token: bearer(u.headers) };
}

/** A tenant with a key of every kind and one of every resource. */
export async function makeTenant(s: TestServer, name: string): Promise<TenantWorld> {
  const t = await s.tenant(name);
  const admin = s.adminKey;
  const key = (scopes: string[], n: string) =>
    must(api(s, admin, 'POST', `/v1/tenants/${t.id}/api-keys`, { name: n, scopes }), 201, 'api key');
  const [read, revoked, victim] = await Promise.all([
    key(['read'], 'read-only'),
    key(['read', 'write'], 'revoked'),
    key(['read'], 'victim'),
  ]);
  await must(api(s, admin, 'DELETE', `/v1/tenants/${t.id}/api-keys/${revoked.id}`), 204, 'revoke');
  const rw = t.key;
  const [template, category, webhook, signingKey, fresh, started, expired] = await Promise.all([
    must(
      api(s, rw, 'POST', '/v1/templates', {
        name: `${name}-tiny`,
        renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
        audio: { bitrate: 64_000 },
        hls: { segmentDuration: 2, encryption: 'aes-128' },
        mp4: 'highest',
      }),
      201,
      'template',
    ),
    must(api(s, rw, 'POST', '/v1/categories', { name: `${name}-cat` }), 201, 'category'),
    must(
      api(s, rw, 'POST', '/v1/webhooks', { url: `http://${HOOK_HOST}/hook`, events: ['video.ready'] }),
      201,
      'webhook',
    ),
    must(api(s, rw, 'POST', '/v1/signing-keys'), 201, 'signing key'),
    upload(s, rw),
    upload(s, rw),
    upload(s, rw),
  ]);
  const delivery = await must(api(s, rw, 'POST', `/v1/webhooks/${webhook.id}/test`), 200, 'webhook test');
  const recordingHook = await must(
    api(s, rw, 'POST', '/v1/recording-hooks', { name: `${name}-rtmp` }),
    201,
    'hook',
  );
  const recording = await must(
    api(s, rw, 'POST', '/v1/recordings', { source: { url: `http://${HOOK_HOST}/live.flv` } }),
    201,
    'recording',
  );
  // Created on the tus endpoint, 10 bytes declared and none sent: HEAD/PATCH/DELETE have an upload to touch.
  const created = await fetch(`${s.url}/tus`, {
    method: 'POST',
    headers: { authorization: `Bearer ${started.token}`, 'tus-resumable': '1.0.0', 'upload-length': '10' },
  });
  if (created.status !== 201) throw new Error(`tus creation: ${created.status} ${await created.text()}`);
  const tusPath = new URL(created.headers.get('location')!, s.url).pathname;
  await s.ctx.db.primary
    .updateTable('uploads')
    .set({ expires_at: '2000-01-01T00:00:00.000Z' })
    .where('id', '=', expired.id)
    .execute();
  return {
    name,
    id: t.id,
    rw,
    read: read.key,
    readKeyId: read.id,
    revoked: revoked.key,
    victimKeyId: victim.id,
    template: template.id,
    category: category.id,
    webhook: webhook.id,
    recordingHook: { id: recordingHook.id, token: recordingHook.token },
    recording: recording.id,
    delivery: delivery.id,
    signingKey: { id: signingKey.id, privateKey: signingKey.privateKey },
    fresh,
    started: { ...started, tusPath },
    expired,
    ids: [
      t.id,
      read.id,
      victim.id,
      template.id,
      category.id,
      webhook.id,
      recordingHook.id,
      recording.id,
      recording.videoId,
      delivery.id,
      signingKey.id,
      fresh.id,
      fresh.videoId,
      started.id,
      started.videoId,
      expired.id,
      expired.videoId,
    ],
  };
}

/** What the playback routes need of a ready video: its ids and the names of its outputs. */
export interface Playable {
  videoId: string;
  pid: string;
  generation: string;
  rendition: string;
  segment: string;
  mp4: string;
  sheet: string;
}

/** Uploads a 2-second clip with the tenant's template and waits until it is ready. */
export async function readyVideo(
  s: TestServer,
  t: TenantWorld,
  dir: string,
  policy: 'public' | 'signed',
): Promise<Playable> {
  const file = await makeClip(path.join(dir, `${policy}.mp4`), { duration: 2, audio: true });
  const auth = { authorization: `Bearer ${t.rw}` };
  const created = await createUploadVia(s.url, auth, {
    title: `${policy} video`,
    templateId: t.template,
    playbackPolicy: policy,
  });
  const { readFileSync } = await import('node:fs');
  await tusUpload(readFileSync(file), { endpoint: created.url, headers: created.headers }).promise;
  const v = await waitFor(
    async () => {
      const r = await api(s, t.rw, 'GET', `/v1/videos/${created.videoId}`);
      if (r.body?.status === 'errored') throw new Error(`errored: ${JSON.stringify(r.body)}`);
      return r.body?.status === 'ready' ? r.body : undefined;
    },
    120_000,
    `${policy} video ready`,
  );
  const pid = v.playback.id as string;
  const [mp4Url] = Object.values(v.playback.mp4Urls as Record<string, string>);
  const m = /\/mp4\/[^/]+\/([^/]+)\/([^/]+)$/.exec(new URL(mp4Url!).pathname);
  if (!m) throw new Error(`no generation in ${mp4Url}`);
  const [generation, mp4] = [m[1]!, m[2]!];
  const rendition = mp4.replace(/\.mp4$/, '');
  const q = policy === 'signed' ? `?token=${playbackToken(t, pid, 'v')}` : '';
  const qs = policy === 'signed' ? `?token=${playbackToken(t, pid, 's')}` : '';
  const media = await (await fetch(`${s.url}/hls/${pid}/${generation}/${rendition}/index.m3u8${q}`)).text();
  const segment = media.split('\n').find((l) => l && !l.startsWith('#'));
  const vtt = await (await fetch(`${s.url}/storyboard/${pid}.vtt${qs}`)).text();
  const sheet = /\/storyboard\/[^/]+\/[^/]+\/([^#?\s]+)/.exec(vtt)?.[1];
  if (!segment || !sheet) throw new Error(`no segment or sprite: ${media} ${vtt}`);
  return {
    videoId: v.id,
    pid,
    generation,
    rendition,
    segment: segment.split('?')[0]!.split('/').pop()!,
    mp4,
    sheet,
  };
}

const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');

/** RS256 JWT signed by hand with a signing key's private key (header kid = its id). */
export function signJwt(claims: object, kid: string, privateKeyPem: string): string {
  const input = `${b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${b64(sign('RSA-SHA256', Buffer.from(input), createPrivateKey(privateKeyPem)))}`;
}

/** A valid playback token of the tenant for a playback id and audience, an hour long. */
export function playbackToken(t: TenantWorld, pid: string, aud: 'v' | 't' | 's', expOffset = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ sub: pid, aud, exp: now + expOffset, iat: now }, t.signingKey.id, t.signingKey.privateKey);
}
