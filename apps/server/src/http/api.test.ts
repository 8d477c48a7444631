import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../test/support/databases';

type Auth = { authorization: string };

function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(res.body).not.toMatch(/\bat .*\.ts:\d+/); // never a stack trace
  return body;
}

// The same suite, unchanged, on every engine.
for (const engine of databaseEngines('API and repository suite')) {
  describe.skipIf(!engine.available)(`API on ${engine.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let admin: Auth;

    beforeAll(async () => {
      db = await engine.create();
      t = await startTestApp({ VOD_DB_URL: db.url, VOD_RATE_LIMIT_PER_MINUTE: '100000' });
      app = t.app;
      admin = { authorization: `Bearer ${t.adminKey}` };
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    describe('authentication and scopes', () => {
      it('rejects a missing, malformed, unknown or revoked key with 401', async () => {
        expectProblem(await app.inject({ url: '/v1/videos' }), 401, 'unauthorized');
        expectProblem(
          await app.inject({ url: '/v1/videos', headers: { authorization: 'Basic abc' } }),
          401,
          'unauthorized',
        );
        expectProblem(
          await app.inject({ url: '/v1/videos', headers: { authorization: 'Bearer short' } }),
          401,
          'unauthorized',
        );
        expectProblem(
          await app.inject({ url: '/v1/videos', headers: { authorization: `Bearer vk_${'x'.repeat(43)}` } }),
          401,
          'unauthorized',
        );
        const a = await t.tenant('revoke-me');
        expect((await app.inject({ url: '/v1/videos', headers: a.auth })).statusCode).toBe(200);
        const keys = await app.inject({ url: `/v1/tenants/${a.id}/api-keys`, headers: admin });
        const keyId = keys.json().data[0].id;
        expect(keys.json().data[0]).not.toHaveProperty('key');
        const del = await app.inject({
          method: 'DELETE',
          url: `/v1/tenants/${a.id}/api-keys/${keyId}`,
          headers: admin,
        });
        expect(del.statusCode).toBe(204);
        // Revocation is effective on the very next request.
        expectProblem(await app.inject({ url: '/v1/videos', headers: a.auth }), 401, 'unauthorized');
      });

      it('stores keys hashed and shows them once', async () => {
        const a = await t.tenant('hashed');
        const rows = await t.ctx.db.primary
          .selectFrom('api_keys')
          .selectAll()
          .where('tenant_id', '=', a.id)
          .execute();
        expect(rows).toHaveLength(1);
        expect(rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(JSON.stringify(rows)).not.toContain(a.key);
      });

      it('enforces scopes: read cannot write, tenants cannot administer, admin cannot act as a tenant', async () => {
        const ro = await t.tenant('readonly', ['read']);
        expect((await app.inject({ url: '/v1/templates', headers: ro.auth })).statusCode).toBe(200);
        expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/categories',
            headers: ro.auth,
            payload: { name: 'x' },
          }),
          403,
          'forbidden',
        );
        expectProblem(
          await app.inject({ method: 'POST', url: '/v1/tenants', headers: ro.auth, payload: { name: 'x' } }),
          403,
          'forbidden',
        );
        expectProblem(await app.inject({ url: '/v1/videos', headers: admin }), 403, 'forbidden');
        const wo = await t.tenant('writeonly', ['write']);
        expect(
          (
            await app.inject({
              method: 'POST',
              url: '/v1/categories',
              headers: wo.auth,
              payload: { name: 'w' },
            })
          ).statusCode,
        ).toBe(201);
      });

      it('bootstraps the admin key idempotently', async () => {
        const before = await t.ctx.db.primary
          .selectFrom('api_keys')
          .selectAll()
          .where('tenant_id', 'is', null)
          .execute();
        await t.ctx.tenants.bootstrapAdmin(t.adminKey);
        await t.ctx.tenants.bootstrapAdmin(t.adminKey);
        const after = await t.ctx.db.primary
          .selectFrom('api_keys')
          .selectAll()
          .where('tenant_id', 'is', null)
          .execute();
        expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
        expect((await app.inject({ url: '/v1/tenants', headers: admin })).statusCode).toBe(200);
      });
    });

    describe('tenants, templates, categories, videos', () => {
      let a: Awaited<ReturnType<TestApp['tenant']>>;
      beforeAll(async () => {
        a = await t.tenant('crud');
      });

      it('gives every new tenant a default 1080/720/480/360 ladder with 4 s HLS segments', async () => {
        const res = await app.inject({ url: '/v1/templates', headers: a.auth });
        const list = res.json().data;
        expect(list).toHaveLength(1);
        expect(list[0].isDefault).toBe(true);
        expect(list[0].renditions.map((r: { height: number }) => r.height)).toEqual([1080, 720, 480, 360]);
        expect(list[0].hls).toEqual({ segmentDuration: 4, encryption: 'none' });
        expect(list[0].audio.bitrate).toBe(128000);
      });

      it('creates, updates, re-defaults and deletes templates with validation', async () => {
        const bad = await app.inject({
          method: 'POST',
          url: '/v1/templates',
          headers: a.auth,
          payload: {
            name: 'bad',
            renditions: [
              { name: 'a', height: 720, videoBitrate: 1_000_000 },
              { name: 'a', height: 720, videoBitrate: 50 },
            ],
            mp4: ['zzz'],
          },
        });
        const problem = expectProblem(bad, 400, 'validation_failed');
        const paths = problem.errors.map((e: { path: string }) => e.path);
        expect(paths).toEqual(expect.arrayContaining(['body.renditions.1.videoBitrate']));
        expect(problem.errors.some((e: { message: string }) => /duplicate rendition/.test(e.message))).toBe(
          true,
        );

        const created = await app.inject({
          method: 'POST',
          url: '/v1/templates',
          headers: a.auth,
          payload: {
            name: 'small',
            renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
            mp4: ['240p'],
          },
        });
        expect(created.statusCode, created.body).toBe(201);
        const tpl = created.json();
        expect(tpl.hls.segmentDuration).toBe(4);
        const dup = await app.inject({
          method: 'POST',
          url: '/v1/templates',
          headers: a.auth,
          payload: { name: 'small', renditions: [{ name: 'x', height: 240, videoBitrate: 300_000 }] },
        });
        expectProblem(dup, 409, 'conflict');

        const patched = await app.inject({
          method: 'PATCH',
          url: `/v1/templates/${tpl.id}`,
          headers: a.auth,
          payload: { isDefault: true, hls: { encryption: 'aes-128' } },
        });
        expect(patched.statusCode, patched.body).toBe(200);
        expect(patched.json().isDefault).toBe(true);
        expect(patched.json().hls).toEqual({ segmentDuration: 4, encryption: 'aes-128' });
        const all = (await app.inject({ url: '/v1/templates', headers: a.auth })).json().data;
        expect(all.filter((x: { isDefault: boolean }) => x.isDefault)).toHaveLength(1);

        const badPatch = await app.inject({
          method: 'PATCH',
          url: `/v1/templates/${tpl.id}`,
          headers: a.auth,
          payload: { mp4: ['nope'] },
        });
        expectProblem(badPatch, 400, 'validation_failed');
        expectProblem(
          await app.inject({ method: 'DELETE', url: `/v1/templates/${tpl.id}`, headers: a.auth }),
          409,
          'conflict',
        );
        const other = all.find((x: { id: string }) => x.id !== tpl.id);
        await app.inject({
          method: 'PATCH',
          url: `/v1/templates/${other.id}`,
          headers: a.auth,
          payload: { isDefault: true },
        });
        expect(
          (await app.inject({ method: 'DELETE', url: `/v1/templates/${tpl.id}`, headers: a.auth }))
            .statusCode,
        ).toBe(204);
        expectProblem(
          await app.inject({ url: `/v1/templates/${tpl.id}`, headers: a.auth }),
          404,
          'not_found',
        );
      });

      it('manages categories and detaches videos when one is deleted', async () => {
        const c = await app.inject({
          method: 'POST',
          url: '/v1/categories',
          headers: a.auth,
          payload: { name: 'Lectures', description: 'all of them' },
        });
        expect(c.statusCode).toBe(201);
        const cat = c.json();
        expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/categories',
            headers: a.auth,
            payload: { name: 'Lectures' },
          }),
          409,
          'conflict',
        );
        const v = await app.inject({
          method: 'POST',
          url: '/v1/videos',
          headers: a.auth,
          payload: { input: { url: 'https://example.com/v.mp4' }, categoryId: cat.id },
        });
        expect(v.statusCode, v.body).toBe(201);
        expect(v.json().categoryId).toBe(cat.id);
        const p = await app.inject({
          method: 'PATCH',
          url: `/v1/categories/${cat.id}`,
          headers: a.auth,
          payload: { name: 'Talks' },
        });
        expect(p.json().name).toBe('Talks');
        expect(
          (await app.inject({ method: 'DELETE', url: `/v1/categories/${cat.id}`, headers: a.auth }))
            .statusCode,
        ).toBe(204);
        expect(
          (await app.inject({ url: `/v1/videos/${v.json().id}`, headers: a.auth })).json().categoryId,
        ).toBeNull();
        const unknown = await app.inject({
          method: 'POST',
          url: '/v1/videos',
          headers: a.auth,
          payload: { input: { url: 'https://example.com/v.mp4' }, categoryId: cat.id },
        });
        expectProblem(unknown, 400, 'validation_failed');
      });

      it('creates, reads, patches, filters, blocks and deletes videos', async () => {
        const create = await app.inject({
          method: 'POST',
          url: '/v1/videos',
          headers: a.auth,
          payload: {
            input: { url: 'https://example.com/talk.mp4' },
            title: 'Keynote Talk',
            tags: ['x'],
            meta: { a: 1 },
            playbackPolicy: 'signed',
            passthrough: 'p1',
          },
        });
        expect(create.statusCode, create.body).toBe(201);
        const v = create.json();
        expect(v).toMatchObject({
          title: 'Keynote Talk',
          tags: ['x'],
          meta: { a: 1 },
          status: 'uploading',
          playable: false,
          passthrough: 'p1',
          error: null,
          renditions: [],
        });
        expect(v.playback.policy).toBe('signed');
        expect(v.playback.hlsUrl).toMatch(new RegExp(`^http://[^/]+/hls/${v.playback.id}/master\\.m3u8$`));
        expect(new Date(v.createdAt).toISOString()).toBe(v.createdAt);

        const patched = await app.inject({
          method: 'PATCH',
          url: `/v1/videos/${v.id}`,
          headers: a.auth,
          payload: { title: 'New title', tags: ['a', 'b'], playbackPolicy: 'public' },
        });
        expect(patched.json()).toMatchObject({ title: 'New title', tags: ['a', 'b'] });
        expect(patched.json().playback.policy).toBe('public');

        const q = await app.inject({ url: '/v1/videos?q=new%20TITLE', headers: a.auth });
        expect(q.json().data.map((x: { id: string }) => x.id)).toEqual([v.id]);
        const none = await app.inject({ url: '/v1/videos?q=%25', headers: a.auth });
        expect(none.json().data).toEqual([]); // % is a literal, not a wildcard
        const byStatus = await app.inject({ url: '/v1/videos?status=uploading', headers: a.auth });
        expect(byStatus.json().data.some((x: { id: string }) => x.id === v.id)).toBe(true);
        expect((await app.inject({ url: '/v1/videos?status=ready', headers: a.auth })).json().data).toEqual(
          [],
        );
        const ids = async (query: string) => {
          const r = await app.inject({ url: `/v1/videos?${query}`, headers: a.auth });
          expect(r.statusCode, r.body).toBe(200);
          return r.json().data.map((x: { id: string }) => x.id) as string[];
        };
        // tag: exact and case-sensitive on every engine; dates: [createdAfter, createdBefore).
        expect(await ids('tag=a')).toContain(v.id);
        expect(await ids('tag=A')).not.toContain(v.id);
        expect(await ids('tag=x')).not.toContain(v.id);
        expect(await ids(`createdAfter=${encodeURIComponent(v.createdAt)}&tag=b`)).toEqual([v.id]);
        expect(await ids(`createdBefore=${encodeURIComponent(v.createdAt)}`)).not.toContain(v.id);
        const newest = await ids('limit=100');
        expect(await ids('limit=100&order=oldest')).toEqual([...newest].reverse());
        const firstOldest = await app.inject({ url: '/v1/videos?limit=1&order=oldest', headers: a.auth });
        const next = await ids(`limit=100&order=oldest&cursor=${firstOldest.json().nextCursor}`);
        expect(next).toEqual([...newest].reverse().slice(1));
        expect(
          (await app.inject({ url: '/v1/videos?createdAfter=yesterday', headers: a.auth })).statusCode,
        ).toBe(400);

        const blocked = await app.inject({
          method: 'POST',
          url: `/v1/videos/${v.id}/block`,
          headers: a.auth,
        });
        expect(blocked.json().status).toBe('blocked');
        const unblocked = await app.inject({
          method: 'POST',
          url: `/v1/videos/${v.id}/unblock`,
          headers: a.auth,
        });
        expect(unblocked.json().status).toBe('uploading');

        expect(
          (await app.inject({ method: 'DELETE', url: `/v1/videos/${v.id}`, headers: a.auth })).statusCode,
        ).toBe(204);
        expectProblem(await app.inject({ url: `/v1/videos/${v.id}`, headers: a.auth }), 404, 'not_found');
        expectProblem(
          await app.inject({ method: 'DELETE', url: `/v1/videos/${v.id}`, headers: a.auth }),
          404,
          'not_found',
        );
      });

      it('batch-deletes and reports what it could not', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await app.inject({
            method: 'POST',
            url: '/v1/videos',
            headers: a.auth,
            payload: { input: { url: 'https://example.com/b.mp4' } },
          });
          ids.push(r.json().id);
        }
        const missing = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
        const res = await app.inject({
          method: 'POST',
          url: '/v1/videos/batch-delete',
          headers: a.auth,
          payload: { ids: [...ids, missing] },
        });
        expect(res.statusCode).toBe(200);
        expect(res.json().deleted.sort()).toEqual([...ids].sort());
        expect(res.json().failed).toEqual([{ id: missing, code: 'not_found' }]);
      });
    });

    describe('cursor pagination', () => {
      it('pages in a stable order with no duplicates or gaps while rows are inserted', async () => {
        const a = await t.tenant('paging');
        const created: string[] = [];
        const add = async () => {
          const r = await app.inject({
            method: 'POST',
            url: '/v1/videos',
            headers: a.auth,
            payload: { input: { url: 'https://example.com/p.mp4' } },
          });
          created.push(r.json().id);
        };
        for (let i = 0; i < 23; i++) await add();
        const before = [...created];
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res: LightMyRequestResponse = await app.inject({
            url: `/v1/videos?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
            headers: a.auth,
          });
          expect(res.statusCode, res.body).toBe(200);
          const body = res.json();
          expect(body.data.length).toBeLessThanOrEqual(5);
          seen.push(...body.data.map((v: { id: string }) => v.id));
          cursor = body.nextCursor;
          pages++;
          await add(); // concurrent writers insert while we page
          await add();
        } while (cursor);
        expect(pages).toBe(5);
        expect(new Set(seen).size).toBe(seen.length);
        // Every row that existed when paging started is seen exactly once, newest first.
        expect(seen).toEqual([...before].reverse());
      });

      it('rejects bad cursors and limits', async () => {
        const a = await t.tenant('badcursor');
        for (const c of ['zzz', 'djE6bm9wZQ', '%00', 'a'.repeat(201)]) {
          expectProblem(
            await app.inject({ url: `/v1/videos?cursor=${c}`, headers: a.auth }),
            400,
            'validation_failed',
          );
        }
        for (const l of ['0', '101', 'abc', '-1', '2.5']) {
          expectProblem(
            await app.inject({ url: `/v1/videos?limit=${l}`, headers: a.auth }),
            400,
            'validation_failed',
          );
        }
        expectProblem(
          await app.inject({ url: '/v1/videos?status=nope', headers: a.auth }),
          400,
          'validation_failed',
        );
        expectProblem(
          await app.inject({ url: '/v1/videos?unknown=1', headers: a.auth }),
          400,
          'validation_failed',
        );
      });
    });

    describe('bad input', () => {
      it('answers malformed JSON, wrong types, unknown fields, bad ids and unknown routes with problem+json', async () => {
        const a = await t.tenant('badinput');
        const json = { ...a.auth, 'content-type': 'application/json' };
        expectProblem(
          await app.inject({ method: 'POST', url: '/v1/categories', headers: json, payload: '{"name":' }),
          400,
          'validation_failed',
        );
        expectProblem(
          await app.inject({ method: 'POST', url: '/v1/categories', headers: json, payload: '' }),
          400,
          'validation_failed',
        );
        const wrong = expectProblem(
          await app.inject({ method: 'POST', url: '/v1/categories', headers: a.auth, payload: { name: 42 } }),
          400,
          'validation_failed',
        );
        expect(wrong.errors[0].path).toBe('body.name');
        const unknown = expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/categories',
            headers: a.auth,
            payload: { name: 'x', color: 'red' },
          }),
          400,
          'validation_failed',
        );
        expect(unknown.errors[0].message).toMatch(/color/);
        expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/videos',
            headers: a.auth,
            payload: { input: { url: 'ftp://x/y' } },
          }),
          400,
          'validation_failed',
        );
        expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/videos',
            headers: a.auth,
            payload: { input: { url: 'not a url' } },
          }),
          400,
          'validation_failed',
        );
        expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/categories',
            headers: { ...a.auth, 'content-type': 'text/plain' },
            payload: 'hi',
          }),
          415,
          'unsupported_media',
        );
        expectProblem(await app.inject({ url: '/v1/videos/not-an-id', headers: a.auth }), 404, 'not_found');
        expectProblem(
          await app.inject({ url: '/v1/videos/../../etc/passwd', headers: a.auth }),
          404,
          'not_found',
        );
        expectProblem(await app.inject({ url: '/v1/nothing-here', headers: a.auth }), 404, 'not_found');
        expectProblem(
          await app.inject({
            method: 'PATCH',
            url: '/v1/videos/01ARZ3NDEKTSV4RRFFQ69G5FAV',
            headers: a.auth,
            payload: { status: 'ready' },
          }),
          400,
          'validation_failed',
        );
      });

      it('refuses oversized bodies with 413', async () => {
        const a = await t.tenant('big');
        const res = await app.inject({
          method: 'POST',
          url: '/v1/categories',
          headers: { ...a.auth, 'content-type': 'application/json' },
          payload: JSON.stringify({ name: 'x', description: 'y'.repeat(2 * 1024 * 1024) }),
        });
        expectProblem(res, 413, 'payload_too_large');
      });
    });

    describe('tenant isolation', () => {
      it('answers 404 on every video, category and template endpoint for another tenant', async () => {
        const a = await t.tenant('tenant-a');
        const b = await t.tenant('tenant-b');
        const video = (
          await app.inject({
            method: 'POST',
            url: '/v1/videos',
            headers: a.auth,
            payload: { input: { url: 'https://example.com/a.mp4' }, title: 'secret' },
          })
        ).json();
        const category = (
          await app.inject({
            method: 'POST',
            url: '/v1/categories',
            headers: a.auth,
            payload: { name: 'private' },
          })
        ).json();
        const template = (await app.inject({ url: '/v1/templates', headers: a.auth })).json().data[0];

        const attempts: Array<{
          method: 'GET' | 'PATCH' | 'DELETE' | 'POST';
          url: string;
          payload?: object;
        }> = [
          { method: 'GET', url: `/v1/videos/${video.id}` },
          { method: 'PATCH', url: `/v1/videos/${video.id}`, payload: { title: 'pwned' } },
          { method: 'POST', url: `/v1/videos/${video.id}/block` },
          { method: 'POST', url: `/v1/videos/${video.id}/unblock` },
          { method: 'DELETE', url: `/v1/videos/${video.id}` },
          { method: 'GET', url: `/v1/categories/${category.id}` },
          { method: 'PATCH', url: `/v1/categories/${category.id}`, payload: { name: 'pwned' } },
          { method: 'DELETE', url: `/v1/categories/${category.id}` },
          { method: 'GET', url: `/v1/templates/${template.id}` },
          { method: 'PATCH', url: `/v1/templates/${template.id}`, payload: { name: 'pwned' } },
          { method: 'DELETE', url: `/v1/templates/${template.id}` },
        ];
        for (const at of attempts) {
          const res = await app.inject({
            method: at.method,
            url: at.url,
            headers: b.auth,
            payload: at.payload,
          });
          const body = expectProblem(res, 404, 'not_found');
          expect(body.detail, `${at.method} ${at.url}`).not.toMatch(/tenant/i);
        }
        // Referencing another tenant's category or template is refused too, and lists never leak.
        expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/videos',
            headers: b.auth,
            payload: { input: { url: 'https://example.com/x.mp4' }, categoryId: category.id },
          }),
          400,
          'validation_failed',
        );
        expectProblem(
          await app.inject({
            method: 'POST',
            url: '/v1/videos',
            headers: b.auth,
            payload: { input: { url: 'https://example.com/x.mp4' }, templateId: template.id },
          }),
          400,
          'validation_failed',
        );
        const batch = await app.inject({
          method: 'POST',
          url: '/v1/videos/batch-delete',
          headers: b.auth,
          payload: { ids: [video.id] },
        });
        expect(batch.json()).toEqual({ deleted: [], failed: [{ id: video.id, code: 'not_found' }] });
        for (const url of ['/v1/videos', '/v1/categories', '/v1/templates']) {
          const ids = (await app.inject({ url, headers: b.auth }))
            .json()
            .data.map((x: { id: string }) => x.id);
          expect(ids).not.toContain(video.id);
          expect(ids).not.toContain(category.id);
          expect(ids).not.toContain(template.id);
        }
        // And tenant A still has everything, unchanged.
        const still = (await app.inject({ url: `/v1/videos/${video.id}`, headers: a.auth })).json();
        expect(still.title).toBe('secret');
        expect(
          (await app.inject({ url: `/v1/categories/${category.id}`, headers: a.auth })).json().name,
        ).toBe('private');
        expect((await app.inject({ url: `/v1/templates/${template.id}`, headers: a.auth })).json().name).toBe(
          'default',
        );
      });
    });
  });
}
