// The events table as an outbox (migration 016): an event whose listener failed — the webhook fan-out when
// the queue is unreachable, as the chaos suite saw during a Redis restart (a video.ready never delivered) —
// stays pending and is handed over again; one whose listeners took it is not.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';
import { createDatabase, type Database } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { EventService, type VodEvent } from './service';

for (const engine of databaseEngines('event outbox suite')) {
  describe.skipIf(!engine.available)(`event outbox on ${engine.engine}`, () => {
    let tdb: TestDatabase;
    let db: Database;
    beforeAll(async () => {
      tdb = await engine.create();
      db = createDatabase(tdb.url);
      await migrateToLatest(db.primary as never);
      await db.primary
        .insertInto('tenants')
        .values({ id: 't1', name: 'outbox', created_at: new Date().toISOString() } as never)
        .execute()
        .catch(() => undefined);
    });
    afterAll(async () => {
      await db?.close();
      await tdb?.drop();
    });

    const pending = async () =>
      (await db.primary.selectFrom('events').select('id').where('dispatched_at', 'is', null).execute()).map(
        (r) => r.id,
      );

    it('an event whose listener failed is dispatched again until it is taken, then never again', async () => {
      const events = new EventService(db, pino({ level: 'silent' }));
      const seen: VodEvent[] = [];
      let queueUp = false;
      events.on(async (e) => {
        if (!queueUp) throw new Error('connect ECONNREFUSED (the queue)');
        seen.push(e);
      });
      const failed = await events.emit('t1', 'video.ready', 'v1', { id: 'v1' });
      expect(seen).toHaveLength(0);
      expect(await pending()).toEqual([failed.id]);
      // Still failing: it stays pending (and the run stops at the first failure).
      expect(await events.redispatchPending(0)).toBe(0);
      expect(await pending()).toEqual([failed.id]);
      // Within the grace period it is left alone (a dispatch may still be running).
      queueUp = true;
      expect(await events.redispatchPending(60_000)).toBe(0);
      expect(await events.redispatchPending(0)).toBe(1);
      expect(seen.map((e) => [e.id, e.type, e.videoId])).toEqual([[failed.id, 'video.ready', 'v1']]);
      expect(seen[0]!.data).toEqual({ id: 'v1' });
      expect(await pending()).toEqual([]);
      // Taken at once: marked, never handed over again.
      const ok = await events.emit('t1', 'video.playable', 'v2', {});
      expect(seen.at(-1)!.id).toBe(ok.id);
      expect(await events.redispatchPending(0)).toBe(0);
      expect(seen).toHaveLength(2);
    });
  });
}
