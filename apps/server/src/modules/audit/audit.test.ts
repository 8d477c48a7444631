// The audit log through the API, on every engine: the events a sequence of calls records (actor, action,
// target, request id, address), that no secret reaches the table, GET /v1/audit's filters and pages, and
// that tenants never see each other's events.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';

type Headers = Record<string, string>;
const TUS = { 'tus-resumable': '1.0.0' };
const HOOK_HOST = '127.0.0.1:9';

for (const engine of databaseEngines('audit log suite')) {
  describe.skipIf(!engine.available)(`audit log on ${engine.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let admin: Headers;
    let adminKeyId: string;

    beforeAll(async () => {
      db = await engine.create();
      t = await startTestApp({
        VOD_DB_URL: db.url,
        VOD_RATE_LIMIT_PER_MINUTE: '100000',
        VOD_FETCH_ALLOW_HOSTS: HOOK_HOST,
      });
      app = t.app;
      admin = { authorization: `Bearer ${t.adminKey}` };
      const row = await t.ctx.db.primary
        .selectFrom('api_keys')
        .select('id')
        .where('name', '=', 'VOD_ADMIN_API_KEY')
        .executeTakeFirstOrThrow();
      adminKeyId = row.id;
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    const call = async (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      headers: Headers,
      payload?: unknown,
    ): Promise<LightMyRequestResponse> =>
      app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
    const rowsOf = async (requestIds: string[]) => {
      await t.ctx.audit.flush();
      return t.ctx.db.primary
        .selectFrom('audit_events')
        .selectAll()
        .where('request_id', 'in', requestIds)
        .orderBy('id')
        .execute();
    };
    const auditPage = async (query: string, who: Headers) => {
      await t.ctx.audit.flush();
      const res = await call('GET', `/v1/audit${query}`, who);
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as {
        data: Array<{
          id: string;
          action: string;
          tenantId: string | null;
          target: { id: string | null } | null;
        }>;
        nextCursor: string | null;
      };
    };

    it('records who did what for a sequence of calls, with no secret in any row', async () => {
      const rid = (n: string) => `audit-${engine.engine}-${n}`;
      const as = (h: Headers, n: string) => ({ ...h, 'x-request-id': rid(n) });
      const tenant = await call('POST', '/v1/tenants', as(admin, 'tenant'), { name: 'audited' });
      const tenantId = tenant.json().id as string;
      const created = await call('POST', `/v1/tenants/${tenantId}/api-keys`, as(admin, 'key'), {
        name: 'rw',
        scopes: ['read', 'write'],
      });
      const { id: keyId, key } = created.json() as { id: string; key: string };
      const rw = { authorization: `Bearer ${key}` };
      const up = await call('POST', '/v1/uploads', as(rw, 'upload'), { title: 'a' });
      expect(up.statusCode, up.body).toBe(201);
      const upload = up.json() as { id: string; videoId: string; headers: { Authorization: string } };
      const tus = await app.inject({
        method: 'POST',
        url: '/tus',
        headers: {
          ...as({ authorization: upload.headers.Authorization }, 'tus'),
          ...TUS,
          'upload-length': '4',
        },
      });
      expect(tus.statusCode, tus.body).toBe(201);
      const chunk = await app.inject({
        method: 'PATCH',
        url: new URL(tus.headers.location as string).pathname,
        headers: {
          ...as({ authorization: upload.headers.Authorization }, 'chunk'),
          ...TUS,
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
        },
        payload: Buffer.from('abc'),
      });
      expect(chunk.statusCode, chunk.body).toBe(204);
      expect(
        (await call('PATCH', `/v1/videos/${upload.videoId}`, as(rw, 'patch'), { title: 'b' })).statusCode,
      ).toBe(200);
      const hook = await call('POST', '/v1/webhooks', as(rw, 'hook'), {
        url: `http://${HOOK_HOST}/hook`,
        events: ['video.ready'],
      });
      expect(hook.statusCode, hook.body).toBe(201);
      const { id: hookId, secret: hookSecret } = hook.json() as { id: string; secret: string };
      expect((await call('GET', '/v1/videos', as(rw, 'read'))).statusCode).toBe(200);
      expect((await call('DELETE', `/v1/videos/${upload.videoId}`, as(rw, 'delete'))).statusCode).toBe(204);
      // Refused: no key on a write route (401), a tenant key on an admin route (403).
      expect((await call('POST', '/v1/categories', as({}, 'anon'), { name: 'x' })).statusCode).toBe(401);
      expect((await call('GET', '/v1/tenants', as(rw, 'probe'))).statusCode).toBe(403);

      const names = [
        'tenant',
        'key',
        'upload',
        'tus',
        'chunk',
        'patch',
        'hook',
        'read',
        'delete',
        'anon',
        'probe',
      ];
      const rows = await rowsOf(names.map(rid));
      const byReq = new Map(rows.map((r) => [r.request_id, r]));
      // A read of a tenant route and a tus chunk are not recorded; everything else once.
      expect(rows.map((r) => r.request_id).sort()).toEqual(
        names
          .filter((n) => n !== 'read' && n !== 'chunk')
          .map(rid)
          .sort(),
      );
      const pick = (n: string) => {
        const r = byReq.get(rid(n))!;
        return {
          action: r.action,
          actor: [r.actor_kind, r.actor_id],
          tenant: r.tenant_id,
          target: [r.target_type, r.target_id],
          status: Number(r.status),
          route: `${r.method} ${r.route}`,
        };
      };
      expect(pick('tenant')).toEqual({
        action: 'tenant.create',
        actor: ['api_key', adminKeyId],
        tenant: tenantId,
        target: ['tenant', tenantId],
        status: 201,
        route: 'POST /v1/tenants',
      });
      expect(pick('key')).toMatchObject({
        action: 'api_key.create',
        actor: ['api_key', adminKeyId],
        tenant: tenantId,
        target: ['api_key', keyId],
      });
      expect(pick('upload')).toMatchObject({
        action: 'upload.create',
        actor: ['api_key', keyId],
        tenant: tenantId,
        target: ['upload', upload.id],
        route: 'POST /v1/uploads',
      });
      expect(JSON.parse(byReq.get(rid('upload'))!.detail!)).toEqual({ videoId: upload.videoId });
      expect(pick('tus')).toEqual({
        action: 'tus.create',
        actor: ['upload_token', upload.id],
        tenant: tenantId,
        target: ['upload', upload.id],
        status: 201,
        route: 'POST /tus',
      });
      expect(pick('patch')).toMatchObject({
        action: 'video.update',
        target: ['video', upload.videoId],
        status: 200,
      });
      expect(pick('hook')).toMatchObject({ action: 'webhook.create', target: ['webhook', hookId] });
      expect(pick('delete')).toMatchObject({
        action: 'video.delete',
        actor: ['api_key', keyId],
        target: ['video', upload.videoId],
        status: 204,
        route: 'DELETE /v1/videos/:id',
      });
      expect(pick('anon')).toMatchObject({
        action: 'category.create',
        actor: ['anonymous', null],
        tenant: null,
        status: 401,
      });
      expect(JSON.parse(byReq.get(rid('anon'))!.detail!)).toEqual({ code: 'unauthorized' });
      expect(pick('probe')).toMatchObject({
        action: 'tenant.list',
        actor: ['api_key', keyId],
        tenant: tenantId,
        status: 403,
      });
      for (const r of rows) expect(r.address).toBe('127.0.0.1');

      // No secret anywhere in the table: the API key, the webhook's secret, the upload token, the admin key.
      await t.ctx.audit.flush();
      const all = JSON.stringify(await t.ctx.db.primary.selectFrom('audit_events').selectAll().execute());
      for (const secret of [key, hookSecret, upload.headers.Authorization.slice(7), t.adminKey])
        expect(all).not.toContain(secret);
    });

    it('records a tus upload made with an API key and its termination, not its chunks', async () => {
      const a = await t.tenant('tus-key');
      const keyId = (await call('GET', `/v1/tenants/${a.id}/api-keys`, admin)).json().data[0].id as string;
      const create = await app.inject({
        method: 'POST',
        url: '/tus',
        headers: { ...a.auth, ...TUS, 'upload-length': '10', 'x-request-id': `tus-key-${engine.engine}` },
      });
      expect(create.statusCode, create.body).toBe(201);
      const path = new URL(create.headers.location as string).pathname;
      const patch = await app.inject({
        method: 'PATCH',
        url: path,
        headers: {
          ...a.auth,
          ...TUS,
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
        },
        payload: Buffer.from('12345'),
      });
      expect(patch.statusCode).toBe(204);
      const del = await app.inject({
        method: 'DELETE',
        url: path,
        headers: { ...a.auth, ...TUS, 'x-request-id': `tus-del-${engine.engine}` },
      });
      expect(del.statusCode, del.body).toBe(204);
      const log = (await auditPage(`?actor=${keyId}`, a.auth)).data as unknown as Array<{
        action: string;
        requestId: string;
        route: string;
        target: { type: string; id: string | null };
        detail: { videoId?: string } | null;
      }>;
      expect(log.map((e) => [e.action, e.route, e.requestId])).toEqual([
        ['tus.terminate', '/tus/*', `tus-del-${engine.engine}`],
        ['tus.create', '/tus', `tus-key-${engine.engine}`],
      ]);
      const videoId = path.split('.').pop();
      expect(log[0]!.target).toEqual(log[1]!.target);
      expect(log[1]!.target.type).toBe('upload');
      expect(log[1]!.detail).toEqual({ videoId });
      const upload = await t.ctx.db.primary
        .selectFrom('uploads')
        .select('id')
        .where('video_id', '=', videoId!)
        .executeTakeFirstOrThrow();
      expect(log[1]!.target.id).toBe(upload.id);
    });

    it('GET /v1/audit filters by action, actor, target and time, and pages without gaps', async () => {
      const a = await t.tenant('filters');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await call('POST', '/v1/categories', a.auth, { name: `c${i}` });
        ids.push(res.json().id);
      }
      await call('PATCH', `/v1/categories/${ids[0]}`, a.auth, { name: 'renamed' });
      const creates = await auditPage('?action=category.create', a.auth);
      expect(creates.data.map((e) => e.target?.id)).toEqual([...ids].reverse());
      const byTarget = await auditPage(`?targetId=${ids[0]}`, a.auth);
      expect(byTarget.data.map((e) => e.action)).toEqual(['category.update', 'category.create']);
      const keyId = (await call('GET', `/v1/tenants/${a.id}/api-keys`, admin)).json().data[0].id as string;
      const byActor = await auditPage(`?actor=${keyId}&limit=100`, a.auth);
      expect(byActor.data).toHaveLength(6);
      const first = byActor.data[byActor.data.length - 1]!;
      const full = (await auditPage(`?targetId=${ids[0]}&action=category.update`, a.auth))
        .data[0]! as unknown as {
        at: string;
        actor: unknown;
        requestId: string;
        method: string;
        route: string;
        status: number;
      };
      expect(full).toMatchObject({
        actor: { kind: 'api_key', id: keyId },
        method: 'PATCH',
        route: '/v1/categories/:id',
        status: 200,
      });
      const at = (first as unknown as { at: string }).at;
      expect((await auditPage(`?actor=${keyId}&until=${encodeURIComponent(at)}`, a.auth)).data).toHaveLength(
        0,
      );
      const later = new Date(Date.parse(full.at) + 1).toISOString();
      expect(
        (await auditPage(`?actor=${keyId}&since=${encodeURIComponent(later)}`, a.auth)).data,
      ).toHaveLength(0);
      expect((await auditPage(`?actor=${keyId}&since=${encodeURIComponent(at)}`, a.auth)).data).toHaveLength(
        6,
      );
      // Pages of 2: every event once, newest first.
      const seen: string[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const p = await auditPage(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`, a.auth);
        seen.push(...p.data.map((e) => e.id));
        cursor = p.nextCursor;
      }
      // The tenant's log also holds what the admin key did to the tenant (created it and its key, listed keys).
      const whole = await auditPage('?limit=100', a.auth);
      expect(whole.data.map((e) => e.action).slice(-2)).toEqual(['api_key.create', 'tenant.create']);
      expect(whole.data.map((e) => e.action)).toContain('api_key.list');
      expect(seen).toEqual(whole.data.map((e) => e.id));
      expect(seen).toHaveLength(9);
      const bad = await call('GET', '/v1/audit?since=yesterday', a.auth);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().code).toBe('validation_failed');
    });

    it("keeps tenants apart: a tenant key sees its own events only, the admin key every tenant's", async () => {
      const a = await t.tenant('iso-a');
      const b = await t.tenant('iso-b');
      const ro = await t.tenant('iso-ro', ['read']);
      const aCat = (await call('POST', '/v1/categories', a.auth, { name: 'a' })).json().id as string;
      const bCat = (await call('POST', '/v1/categories', b.auth, { name: 'b' })).json().id as string;
      // B trying A's category: recorded as B's own (refused) attempt, never in A's log.
      expect((await call('DELETE', `/v1/categories/${aCat}`, b.auth)).statusCode).toBe(404);
      const aLog = await auditPage('?limit=100', a.auth);
      const bLog = await auditPage('?limit=100', b.auth);
      expect(aLog.data.length).toBeGreaterThan(0);
      expect(aLog.data.every((e) => e.tenantId === a.id)).toBe(true);
      expect(bLog.data.every((e) => e.tenantId === b.id)).toBe(true);
      expect(JSON.stringify(aLog)).not.toContain(bCat);
      expect(JSON.stringify(bLog)).not.toContain(a.id);
      expect(JSON.stringify(bLog)).not.toContain(aCat);
      // B's refused attempt is in B's log without the id it named (it may be another tenant's); the admin
      // key sees it, under B.
      expect(bLog.data.filter((e) => e.action === 'category.delete').map((e) => e.target)).toEqual([
        { type: 'category', id: null },
      ]);
      expect((await auditPage(`?targetId=${aCat}`, b.auth)).data).toEqual([]);
      const attempt = (await auditPage(`?targetId=${aCat}&action=category.delete`, admin)).data;
      expect(attempt.map((e) => [e.tenantId, e.target?.id])).toEqual([[b.id, aCat]]);
      expect(aLog.data.filter((e) => e.target?.id === aCat).map((e) => e.action)).toEqual([
        'category.create',
      ]);
      // Naming another tenant is refused; a read-only key is refused.
      const foreign = await call('GET', `/v1/audit?tenantId=${a.id}`, b.auth);
      expect(foreign.statusCode).toBe(403);
      expect(JSON.stringify(foreign.json())).not.toContain(aCat);
      expect((await call('GET', `/v1/audit?tenantId=${b.id}`, b.auth)).statusCode).toBe(200);
      expect((await call('GET', '/v1/audit', ro.auth)).statusCode).toBe(403);
      expect((await call('GET', '/v1/audit', {})).statusCode).toBe(401);
      // The admin key: one tenant with tenantId, every tenant without.
      const onlyA = await auditPage(`?tenantId=${a.id}&limit=100`, admin);
      expect(onlyA.data.map((e) => e.id)).toEqual(
        aLog.data.map((e) => e.id).filter((id) => onlyA.data.some((x) => x.id === id)),
      );
      expect(onlyA.data.every((e) => e.tenantId === a.id)).toBe(true);
      expect(onlyA.data.filter((e) => e.action === 'api_key.create')).toHaveLength(1);
      const everything = await auditPage('?limit=100', admin);
      const tenants = new Set(everything.data.map((e) => e.tenantId));
      expect(tenants.has(a.id) && tenants.has(b.id)).toBe(true);
    });
  });
}
