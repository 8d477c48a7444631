// /openapi.json as SDK generators and linters read it: an operationId and a tag on every operation, servers,
// errors as problem+json with the Problem schema, no `$id`, examples, the file routes described with their
// media types, Idempotency-Key on the creates; and errors the server really answers are documented for the
// operation that answered them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../test/support/app';
import { ERROR_STATUS } from '../lib/errors';

interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: Array<{ in: string; name: string }>;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface Doc {
  tags: Array<{ name: string; description?: string }>;
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

const CREATES = [
  'createApiKey',
  'createCategory',
  'createPlaybackToken',
  'createRecording',
  'createRecordingHook',
  'createSigningKey',
  'createSnapshot',
  'createTemplate',
  'createTenant',
  'createTenantApiKey',
  'createUpload',
  'createVideo',
  'createWebhook',
  'inviteMember',
  'inviteTenantMember',
  'resetMemberPassword',
];

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Doc;
  let ops: Array<{ method: string; path: string; op: Operation }>;
  const byId = (id: string) => {
    const o = ops.find((x) => x.op.operationId === id);
    if (!o) throw new Error(`no operation ${id}`);
    return o.op;
  };

  beforeAll(async () => {
    t = await startTestApp({ VOD_BODY_LIMIT_BYTES: '2048' });
    doc = (await t.app.inject({ url: '/openapi.json' })).json();
    ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ method, path, op })),
    );
  });
  afterAll(async () => t?.close());

  it('gives every operation a unique camelCase operationId and a declared tag', () => {
    const ids = ops.map((o) => o.op.operationId);
    for (const o of ops) {
      expect(o.op.operationId, `${o.method} ${o.path}`).toMatch(/^[a-z][A-Za-z0-9]*$/);
      expect(o.op.tags?.length, `${o.method} ${o.path}`).toBe(1);
      expect(doc.tags.map((x) => x.name)).toContain(o.op.tags![0]);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const tag of doc.tags) expect(tag.description).toBeTruthy();
    expect(doc.servers.length).toBeGreaterThan(0);
    console.log(`/openapi.json: ${ops.length} operations`);
    expect(ops.length).toBeGreaterThanOrEqual(70);
  });

  it('documents every error as application/problem+json with the Problem schema, and no $id', () => {
    for (const o of ops)
      for (const [status, r] of Object.entries(o.op.responses))
        if (/^[45]/.test(status)) {
          const types = Object.keys(r.content ?? {});
          expect(types, `${o.method} ${o.path} ${status}`).toContain('application/problem+json');
          expect(r.content!['application/problem+json']!.schema?.$ref).toBe('#/components/schemas/Problem');
          // Only the tus protocol also answers text/plain (what tus clients read).
          if (!o.path.startsWith('/tus')) expect(types).toEqual(['application/problem+json']);
        }
    expect(JSON.stringify(doc)).not.toMatch(/"\$id"/);
    const problem = doc.components.schemas.Problem!;
    expect((problem.properties as Record<string, { enum?: string[] }>).code!.enum).toEqual(
      Object.keys(ERROR_STATUS),
    );
  });

  it('has examples on the main resources', () => {
    for (const name of [
      'Video',
      'CreatedUpload',
      'Upload',
      'Tenant',
      'CreatedApiKey',
      'Webhook',
      'CreatedSigningKey',
    ])
      expect(doc.components.schemas[name]?.examples, name).toHaveLength(1);
  });

  it('takes Idempotency-Key on exactly the creates', () => {
    const withKey = ops
      .filter((o) => o.op.parameters?.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'))
      .map((o) => o.op.operationId)
      .sort();
    expect(withKey).toEqual(CREATES);
    for (const id of CREATES)
      expect(Object.keys(byId(id).responses)).toEqual(expect.arrayContaining(['409', '422']));
  });

  it('describes the playback, embed, tus and beacon routes with the media types they answer', () => {
    const types = (id: string, status = '200') => Object.keys(byId(id).responses[status]?.content ?? {});
    expect(types('getHlsMaster')).toEqual(['application/vnd.apple.mpegurl']);
    expect(types('getHlsMedia')).toEqual(['application/vnd.apple.mpegurl', 'video/mp2t']);
    expect(types('getMp4')).toEqual(['video/mp4', 'audio/mp4']);
    expect(types('getMp4', '206')).toEqual(['video/mp4', 'audio/mp4']);
    expect(types('getThumbnail')).toEqual(['image/jpeg', 'image/webp']);
    expect(types('getStoryboard')).toEqual(['text/vtt']);
    expect(types('getEmbedPage')).toEqual(['text/html']);
    expect(types('getEmbedPlayerScript')).toEqual(['text/javascript']);
    expect(types('downloadVideoSource')).toContain('application/octet-stream');
    for (const id of [
      'tusCreateUpload',
      'tusAppendChunk',
      'tusGetOffset',
      'tusTerminateUpload',
      'sendBeacon',
    ])
      expect(byId(id).tags).toEqual([id === 'sendBeacon' ? 'beacons' : 'uploads']);
    expect(doc.paths['/tus/{uploadId}']).toHaveProperty('patch');
  });

  it('documents the errors the server answers, for the operation that answered', async () => {
    const a = await t.tenant('doc-a');
    const ro = await t.tenant('doc-ro', ['read']);
    const json = (auth: object, body: unknown) => ({
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    const cases: Array<[string, Promise<{ statusCode: number; headers: Record<string, unknown> }>]> = [
      ['listVideos', t.app.inject({ url: '/v1/videos' })], // 401
      [
        'createCategory',
        t.app.inject({ method: 'POST', url: '/v1/categories', ...json(ro.auth, { name: 'x' }) }),
      ], // 403
      ['getVideo', t.app.inject({ url: '/v1/videos/01JGZ6Q2T3V4W5X6Y7Z8A9B0C1', headers: a.auth })], // 404
      ['listVideos', t.app.inject({ url: `/v1/videos?q=${'a'.repeat(9000)}`, headers: a.auth })], // 414
      [
        'createCategory',
        t.app.inject({ method: 'POST', url: '/v1/categories', ...json(a.auth, { name: 'x'.repeat(4000) }) }),
      ], // 413
      [
        'createCategory',
        t.app.inject({
          method: 'POST',
          url: '/v1/categories',
          headers: { ...a.auth, 'content-type': 'text/plain' },
          payload: 'name=x',
        }),
      ], // 415
      ['getHlsMaster', t.app.inject({ url: '/hls/nosuchplayback/master.m3u8' })], // 404, public
    ];
    await t.app.inject({ method: 'POST', url: '/v1/categories', ...json(a.auth, { name: 'dup' }) });
    cases.push([
      'createCategory',
      t.app.inject({ method: 'POST', url: '/v1/categories', ...json(a.auth, { name: 'dup' }) }),
    ]); // 409
    const k = { ...a.auth, 'idempotency-key': 'doc-key' };
    await t.app.inject({ method: 'POST', url: '/v1/categories', ...json(k, { name: 'one' }) });
    cases.push([
      'createCategory',
      t.app.inject({ method: 'POST', url: '/v1/categories', ...json(k, { name: 'two' }) }),
    ]); // 422
    const seen: number[] = [];
    for (const [id, pending] of cases) {
      const res = await pending;
      seen.push(res.statusCode);
      expect(String(res.headers['content-type']), id).toMatch(/^application\/problem\+json/);
      expect(Object.keys(byId(id).responses), `${id} answered ${res.statusCode}`).toContain(
        String(res.statusCode),
      );
    }
    expect(seen.sort()).toEqual([401, 403, 404, 404, 409, 413, 414, 415, 422]);
  });

  it('documents 429 where the rate limit answers it', async () => {
    const limited = await startTestApp({ VOD_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const ldoc: Doc = (await limited.app.inject({ url: '/openapi.json' })).json();
      // Per key (a request without one is refused by authentication first: 401).
      const { auth } = await limited.tenant('limited');
      let last = 0;
      for (let i = 0; i < 4 && last !== 429; i++)
        last = (await limited.app.inject({ url: '/v1/videos', headers: auth })).statusCode;
      expect(last).toBe(429);
      expect(Object.keys(ldoc.paths['/v1/videos']!.get!.responses)).toContain('429');
    } finally {
      await limited.close();
    }
  });
});
