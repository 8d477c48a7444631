import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { engineUrl } from '../../../../../test/support/engines';
import { VideoJobTable } from '../../jobs';

// The worker is not started (startTestApp has no queue worker): every job enqueued here stays pending.
const redis = engineUrl('redis', 'video lifecycle on the BullMQ queue');
const queues: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'db queue', env: {} },
  ...(redis
    ? [
        {
          name: 'BullMQ queue',
          env: { VOD_QUEUE_URL: redis, VOD_QUEUE_PREFIX: `lifecycle${Date.now().toString(36)}` },
        },
      ]
    : []),
];

for (const q of queues) {
  describe(`a video's lifecycle (${q.name})`, () => {
    let t: TestApp;
    let auth: { authorization: string };
    let tenantId: string;

    beforeAll(async () => {
      t = await startTestApp(q.env);
      const tenant = await t.tenant('lifecycle');
      auth = tenant.auth;
      tenantId = tenant.id;
    });
    afterAll(async () => {
      await t?.close();
    });

    it('deleting a video cancels its pending retranscode and cover jobs', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: auth,
        payload: { title: 'to delete' },
      });
      expect(created.statusCode, created.body).toBe(201);
      const videoId = created.json().videoId as string;
      // As if it had been processed and published once (no worker runs here).
      await t.ctx.videos.repo.update(tenantId, videoId, {
        status: 'ready',
        generation: '01JZZZZZZZZZZZZZZZZZZZZZZZ',
        published_generation: '01JZZZZZZZZZZZZZZZZZZZZZZZ',
        playable: 1,
      });
      const templateId = (await t.ctx.videos.getRow(tenantId, videoId)).template_id!;
      const re = await t.app.inject({
        method: 'POST',
        url: `/v1/videos/${videoId}/retranscode`,
        headers: auth,
        payload: { templateId },
      });
      expect(re.statusCode, re.body).toBe(202);
      const cover = await t.app.inject({
        method: 'PATCH',
        url: `/v1/videos/${videoId}`,
        headers: auth,
        payload: { coverTime: 1 },
      });
      expect(cover.statusCode, cover.body).toBe(200);

      const recorded = new VideoJobTable(t.ctx.db);
      const ids = await recorded.list(tenantId, videoId);
      expect(ids).toHaveLength(2);
      const jobs = await Promise.all(ids.map((id) => t.ctx.ports.queue.getJob(id)));
      expect(jobs.map((j) => [j?.name, j?.state]).sort()).toEqual([
        ['video.cover', 'waiting'],
        ['video.process', 'waiting'],
      ]);

      const del = await t.app.inject({ method: 'DELETE', url: `/v1/videos/${videoId}`, headers: auth });
      expect(del.statusCode, del.body).toBe(204);
      for (const id of ids) expect((await t.ctx.ports.queue.getJob(id))?.state, id).toBe('cancelled');
      expect(await recorded.list(tenantId, videoId)).toEqual([]);
    });
  });
}
