// Idempotency-Key on the creates, on each database engine, through the real HTTP app: replay, reuse with
// another request, in progress, per-tenant isolation, invalid keys, responses carrying secrets sealed at
// rest, expiry and the purge.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';
import { keyId, requestHash } from './store';

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

for (const engine of databaseEngines('idempotency suite')) {
  describe.skipIf(!engine.available)(`Idempotency-Key on ${engine.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    let a: Awaited<ReturnType<TestApp['tenant']>>;
    let b: Awaited<ReturnType<TestApp['tenant']>>;
    const admin = () => ({ authorization: `Bearer ${t.adminKey}` });
    const post = (url: string, headers: Record<string, string>, payload: unknown, key?: string) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { ...headers, ...(key === undefined ? {} : { 'idempotency-key': key }) },
        payload: payload as object,
      });
    const row = async (scope: string, key: string) =>
      t.ctx.db.primary
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('id', '=', keyId(scope, key))
        .executeTakeFirst();

    beforeAll(async () => {
      db = await engine.create();
      t = await startTestApp({ VOD_DB_URL: db.url, VOD_MASTER_KEY: MASTER_KEY });
      a = await t.tenant('idem-a');
      b = await t.tenant('idem-b');
    }, 60_000);
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('answers a repeated create with the first response, marked Idempotent-Replayed, and creates once', async () => {
      const first = await post('/v1/categories', a.auth, { name: 'news' }, 'cat-1');
      expect(first.statusCode).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const again = await post('/v1/categories', a.auth, { name: 'news' }, 'cat-1');
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers['content-type']).toMatch(/^application\/json/);
      expect(again.json()).toEqual(first.json());
      const list = await t.app.inject({ url: '/v1/categories', headers: a.auth });
      expect(list.json().data.filter((c: { name: string }) => c.name === 'news')).toHaveLength(1);
      // Without a key the same body is another request: the name is taken (409), nothing replayed.
      const plain = await post('/v1/categories', a.auth, { name: 'news' });
      expect(plain.statusCode).toBe(409);
    });

    it('refuses the same key with another request (422) and an invalid key (400), with stable codes', async () => {
      await post('/v1/categories', a.auth, { name: 'sport' }, 'cat-2');
      const other = await post('/v1/categories', a.auth, { name: 'music' }, 'cat-2');
      expect(other.statusCode).toBe(422);
      expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(other.json()).toMatchObject({ code: 'idempotency_key_reused', status: 422 });
      // (Another route with a valid body: validation comes first, so an invalid body is 400 whatever the key.)
      const otherRoute = await post(
        '/v1/webhooks',
        a.auth,
        { url: 'https://hooks.example.com/y', events: ['video.ready'] },
        'cat-2',
      );
      expect(otherRoute.json().code).toBe('idempotency_key_reused');
      for (const bad of ['', 'x'.repeat(256), 'tab\there', 'é'])
        expect(
          (await post('/v1/categories', a.auth, { name: 'x' }, bad)).json(),
          JSON.stringify(bad),
        ).toMatchObject({ code: 'idempotency_key_invalid', status: 400 });
      const longest = await post('/v1/categories', a.auth, { name: 'long key' }, 'k'.repeat(255));
      expect(longest.statusCode).toBe(201);
    });

    it("keeps each tenant's keys apart", async () => {
      const inA = await post('/v1/categories', a.auth, { name: 'shared' }, 'same-key');
      const inB = await post('/v1/categories', b.auth, { name: 'shared' }, 'same-key');
      expect(inA.statusCode).toBe(201);
      expect(inB.statusCode).toBe(201);
      expect(inB.headers['idempotent-replayed']).toBeUndefined();
      expect(inB.json().id).not.toBe(inA.json().id);
      // B's key with another body is B's business only: still 422 for B, A's replay unaffected.
      expect((await post('/v1/categories', b.auth, { name: 'other' }, 'same-key')).statusCode).toBe(422);
      const replayA = await post('/v1/categories', a.auth, { name: 'shared' }, 'same-key');
      expect(replayA.json().id).toBe(inA.json().id);
    });

    it('answers 409 idempotency_key_in_progress while the first request runs', async () => {
      // A claim held by a request still running (as the store records it).
      const body = { name: 'pending one' };
      const claim = await t.ctx.idempotency.claim(
        `tenant:${a.id}`,
        'busy',
        requestHash('POST', '/v1/categories', { name: 'pending one' }),
      );
      expect(claim.kind).toBe('claimed');
      const res = await post('/v1/categories', a.auth, body, 'busy');
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('idempotency_key_in_progress');
      expect(res.headers['retry-after']).toBe('1');
      // Concurrent repeats of one slow create (an RSA key generation each): one key is made.
      const results = await Promise.all(
        Array.from({ length: 4 }, () => post('/v1/signing-keys', a.auth, {}, 'rsa-once')),
      );
      const created = results.filter((r) => r.statusCode === 201);
      for (const r of results) expect([201, 409]).toContain(r.statusCode);
      expect(new Set(created.map((r) => r.json().id)).size).toBe(1);
      const keys = await t.app.inject({ url: '/v1/signing-keys', headers: a.auth });
      expect(keys.json().data).toHaveLength(1);
    });

    it('seals stored responses that carry a secret shown once, and replays them', async () => {
      const first = await post(
        `/v1/tenants/${a.id}/api-keys`,
        admin(),
        { name: 'ci', scopes: ['read'] },
        'key-1',
      );
      expect(first.statusCode).toBe(201);
      const secret = first.json().key as string;
      const stored = await row(`admin:${(await t.ctx.tenants.authenticate(t.adminKey))!.keyId}`, 'key-1');
      expect(stored?.state).toBe('done');
      expect(stored?.response).toMatch(/^v1:[0-9a-f]{8}:/); // sealed under VOD_MASTER_KEY
      expect(stored?.response).not.toContain(secret);
      const again = await post(
        `/v1/tenants/${a.id}/api-keys`,
        admin(),
        { name: 'ci', scopes: ['read'] },
        'key-1',
      );
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().key).toBe(secret);
      // The replayed key is the one key that was made, and it works.
      expect(
        (await t.app.inject({ url: '/v1/videos', headers: { authorization: `Bearer ${secret}` } }))
          .statusCode,
      ).toBe(200);
      // The signing key made once above (its private key is shown once): sealed too.
      const rsa = await post('/v1/signing-keys', a.auth, {}, 'rsa-once');
      expect(rsa.headers['idempotent-replayed']).toBe('true');
      const privateKey = rsa.json().privateKey as string;
      expect(privateKey).toMatch(/BEGIN PRIVATE KEY/);
      const rsaRow = await row(`tenant:${a.id}`, 'rsa-once');
      expect(rsaRow?.response).toMatch(/^v1:/);
      expect(rsaRow?.response).not.toContain(privateKey.split('\n')[1]);
    });

    it('forgets a key after 24 h: the repeat creates again, and the purge deletes expired rows', async () => {
      const first = await post('/v1/categories', a.auth, { name: 'old' }, 'old-key');
      expect(first.statusCode).toBe(201);
      await sql`update idempotency_keys set expires_at = ${new Date(Date.now() - 1000).toISOString()} where id = ${keyId(`tenant:${a.id}`, 'old-key')}`.execute(
        t.ctx.db.primary,
      );
      await t.app.inject({ method: 'DELETE', url: `/v1/categories/${first.json().id}`, headers: a.auth });
      const later = await post('/v1/categories', a.auth, { name: 'old' }, 'old-key');
      expect(later.statusCode).toBe(201);
      expect(later.headers['idempotent-replayed']).toBeUndefined();
      expect(later.json().id).not.toBe(first.json().id);
      await post('/v1/categories', a.auth, { name: 'older' }, 'purge-me');
      await sql`update idempotency_keys set expires_at = ${new Date(Date.now() - 1000).toISOString()} where id = ${keyId(`tenant:${a.id}`, 'purge-me')}`.execute(
        t.ctx.db.primary,
      );
      expect(await t.ctx.idempotency.purge()).toBeGreaterThanOrEqual(1);
      expect(await row(`tenant:${a.id}`, 'purge-me')).toBeUndefined();
      expect(await row(`tenant:${a.id}`, 'old-key')).toBeDefined(); // the new claim, not expired
    });

    it('does not keep a failed request worth retrying: a 5xx frees the key', async () => {
      // An API-only node with no upload node registered answers POST /v1/uploads with 503 unavailable.
      const api = await startTestApp({ VOD_DB_URL: db.url, VOD_MASTER_KEY: MASTER_KEY, VOD_ROLES: 'api' });
      try {
        const res = await api.app.inject({
          method: 'POST',
          url: '/v1/uploads',
          headers: { ...a.auth, 'idempotency-key': 'retry-me' },
          payload: {},
        });
        expect(res.statusCode).toBe(503);
        expect(await row(`tenant:${a.id}`, 'retry-me')).toBeUndefined();
      } finally {
        await api.close();
      }
    });
  });
}

describe('Idempotency-Key without VOD_MASTER_KEY', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('still seals kept responses, under the cluster secret (as signing keys are), and replays them', async () => {
    const { id } = await t.tenant('no-master');
    const req = {
      method: 'POST' as const,
      url: `/v1/tenants/${id}/api-keys`,
      headers: { authorization: `Bearer ${t.adminKey}`, 'idempotency-key': 'k' },
      payload: { name: 'ci', scopes: ['read'] },
    };
    const first = await t.app.inject(req);
    const secret = first.json().key as string;
    const admin = await t.ctx.tenants.authenticate(t.adminKey);
    const row = await t.ctx.db.primary
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('id', '=', keyId(`admin:${admin!.keyId}`, 'k'))
      .executeTakeFirstOrThrow();
    expect(row.response).not.toMatch(/^v1:/);
    expect(row.response).not.toContain(secret);
    expect(Buffer.from(row.response!, 'base64').toString('latin1')).not.toContain(secret);
    const again = await t.app.inject(req);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().key).toBe(secret);
  });
});
