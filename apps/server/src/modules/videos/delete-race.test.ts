import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';

// Issue 13: 10 concurrent DELETEs of one video answered two 204s; two concurrent batch deletes both
// reported it deleted. Exactly one delete may win, and video.deleted is announced once.

for (const engine of databaseEngines('concurrent video deletes')) {
  describe.skipIf(!engine.available)(`concurrent deletes on ${engine.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    let tenant: Awaited<ReturnType<TestApp['tenant']>>;

    const newVideo = async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: tenant.auth,
        payload: { title: 'to delete' },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().videoId as string;
    };
    const deletedEvents = async (videoId: string) =>
      (await t.ctx.events.list(tenant.id, { videoId, type: 'video.deleted' })).length;

    beforeAll(async () => {
      db = await engine.create();
      t = await startTestApp({ VOD_DB_URL: db.url, VOD_RATE_LIMIT_PER_MINUTE: '100000' });
      tenant = await t.tenant('deletes');
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('finding: 10 concurrent DELETE /v1/videos/{id} → exactly one 204 and one video.deleted event', async () => {
      for (let round = 0; round < 3; round++) {
        const id = await newVideo();
        const results = await Promise.all(
          Array.from({ length: 10 }, () =>
            t.app.inject({ method: 'DELETE', url: `/v1/videos/${id}`, headers: tenant.auth }),
          ),
        );
        const statuses = results.map((r) => r.statusCode).sort();
        expect(statuses, results.map((r) => r.body).join('\n')).toEqual([204, ...Array(9).fill(404)]);
        expect(await deletedEvents(id)).toBe(1);
        expect(await t.ctx.videos.repo.find(tenant.id, id)).toBeUndefined();
      }
    });

    it('finding: concurrent batch deletes report each video deleted once', async () => {
      const ids = [await newVideo(), await newVideo(), await newVideo()];
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          t.app.inject({
            method: 'POST',
            url: '/v1/videos/batch-delete',
            headers: tenant.auth,
            payload: { ids },
          }),
        ),
      );
      const bodies = results.map((r) => {
        expect(r.statusCode, r.body).toBe(200);
        return r.json() as { deleted: string[]; failed: Array<{ id: string; code: string }> };
      });
      const deleted = bodies.flatMap((b) => b.deleted).sort();
      expect(deleted).toEqual([...ids].sort());
      for (const b of bodies)
        for (const f of b.failed) {
          expect(ids).toContain(f.id);
          expect(f.code).toBe('not_found');
        }
      for (const id of ids) expect(await deletedEvents(id)).toBe(1);
    });
  });
}
