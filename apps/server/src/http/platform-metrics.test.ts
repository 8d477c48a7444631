// The store-wide gauges read at scrape time, through a real server's /metrics: views in progress counted
// from stats_views on every engine (monitor nodes only), and the queue gauges beside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../test/support/databases';
import type { StatsViewsTable } from '../db/schema';
import { newId } from '../lib/ids';
import { VIEW_IN_PROGRESS_MS } from './platform-metrics';

const sample = (text: string, name: string) => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

function view(tenantId: string, lastEventAgoMs: number, closed: 0 | 1): StatsViewsTable {
  const last = new Date(Date.now() - lastEventAgoMs).toISOString();
  return {
    video_id: newId(),
    view_id: newId(),
    tenant_id: tenantId,
    started_at: new Date(Date.now() - lastEventAgoMs - 60_000).toISOString(),
    last_event_at: last,
    ended_at: closed ? last : null,
    closed,
    played: 1,
    watch_seconds: 30,
    startup_ms: 400,
    rebuffer_count: 0,
    rebuffer_ms: 0,
    errors: 0,
    renditions: '["720p"]',
    browser: null,
    os: null,
    device: null,
    viewer_hash: null,
    referrer_host: null,
    updated_at: last,
  };
}

for (const engine of databaseEngines('views in progress on /metrics')) {
  describe.skipIf(!engine.available)(`a monitor node's views in progress on ${engine.engine}`, () => {
    let db: TestDatabase;
    let s: TestServer;
    beforeAll(async () => {
      db = await engine.create();
      s = await startTestServer({ VOD_DB_URL: db.url, VOD_ROLES: 'api,monitor' });
    }, 60_000);
    afterAll(async () => {
      await s?.close();
      await db?.drop();
    });

    it('counts the views not closed whose last beacon is within 2 minutes', async () => {
      const scrape = async () => (await fetch(`${s.url}/metrics`)).text();
      expect(sample(await scrape(), 'vod_views_in_progress')).toBe(0);
      const t = newId();
      await s.ctx.db.primary
        .insertInto('stats_views')
        .values([
          view(t, 5_000, 0),
          view(t, 90_000, 0),
          view(t, 10_000, 1), // ended
          view(t, VIEW_IN_PROGRESS_MS + 60_000, 0), // silent for 3 minutes: not in progress
        ])
        .execute();
      const text = await scrape();
      expect(sample(text, 'vod_views_in_progress')).toBe(2);
      expect(text).toMatch(/^# TYPE vod_queue_jobs gauge$/m);
      expect(text).toMatch(/^# TYPE vod_queue_oldest_waiting_seconds gauge$/m);
    });
  });
}

describe('a node without the monitor role', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ VOD_ROLES: 'api' });
  });
  afterAll(async () => s?.close());

  it('does not export the store-wide gauges (one answer per cluster, from monitor nodes)', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).not.toMatch(/vod_views_in_progress/);
    expect(text).not.toMatch(/vod_queue_jobs/);
    expect(text).toMatch(/^# TYPE vod_webhook_delivery_failures_total counter$/m);
  });
});
