import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { describe } from 'vitest';
import { databaseEngines } from '../../../../../test/support/databases';
import { deleteRedisKeys, engineUrl } from '../../../../../test/support/engines';
import { createDatabase } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { BullJobQueue } from './bullmq';
import { runJobQueueSuite } from './conformance';
import { DbJobQueue } from './db';

for (const engine of databaseEngines('job queue (db)')) {
  if (!engine.available) {
    describe.skip(`job queue db on ${engine.engine}`, () => {});
    continue;
  }
  runJobQueueSuite(`db on ${engine.engine}`, async () => {
    const tdb = await engine.create();
    const db = createDatabase(tdb.url);
    await migrateToLatest(db.primary as unknown as Kysely<unknown>);
    return {
      create: (opts) => new DbJobQueue(db, { leaseMs: opts?.leaseMs, transient: opts?.transient }),
      reset: async () => {
        await db.primary.deleteFrom('jobs').execute();
      },
      childArgs: ['db', tdb.url],
      teardown: async () => {
        await db.close();
        await tdb.drop();
      },
    };
  });
}

const redisUrl = engineUrl('redis', 'job queue on BullMQ');
if (!redisUrl) {
  describe.skip('job queue on BullMQ', () => {});
} else {
  runJobQueueSuite('BullMQ on Redis', async () => {
    const prefix = `vodtest-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const redis = new Redis(redisUrl);
    const reset = () => deleteRedisKeys(`${prefix}:*`, { redis });
    return {
      create: (opts) =>
        new BullJobQueue(redisUrl!, { prefix, leaseMs: opts?.leaseMs, transient: opts?.transient }),
      reset,
      childArgs: [redisUrl, prefix],
      teardown: async () => {
        await reset();
        await redis.quit();
      },
    };
  });
}
