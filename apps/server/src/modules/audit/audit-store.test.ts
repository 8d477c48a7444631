// The audit log's mechanics: every write and admin route of the route table names its action (or why it
// is not recorded), the retention purge in bounded batches on every engine, and the bounded buffer.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';
import type { AuditEventsTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import { auditedRoutes, auditRule } from './recorder';
import { AuditService } from './service';

const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];
const DAY = 86_400_000;

const event = (at: number, n = 0): AuditEventsTable => ({
  id: newId(at),
  at: new Date(at).toISOString(),
  tenant_id: null,
  actor_kind: 'api_key',
  actor_id: newId(),
  action: 'test.event',
  target_type: 'test',
  target_id: String(n),
  method: 'POST',
  route: '/v1/test',
  status: 201,
  request_id: `req-${n}`,
  address: '127.0.0.1',
  detail: null,
});

describe('audit route table', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Every role, so every route is registered (tus, stream, storage, RPC, monitor).
    t = await startTestApp({ VOD_ROLES: 'api,upload,stream,worker,monitor' });
  });
  afterAll(async () => t?.close());

  it('gives every write and admin route an explicit action or a reason not to record it', () => {
    const routes = auditedRoutes(t.app);
    const writes = routes.filter((r) => WRITES.includes(r.method) || r.access === 'admin');
    expect(writes.length).toBeGreaterThan(30);
    const unnamed = writes.filter(
      (r) => r.rule.kind !== 'skip' && !(r.rule.kind === 'record' && r.rule.explicit),
    );
    expect(unnamed.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    const actions = writes.flatMap((r) => (r.rule.kind === 'record' ? [r.rule.action] : []));
    for (const a of actions) expect(a).toMatch(/^[a-z_]+(\.[a-z_]+)+$/);
    const skipped = writes.flatMap((r) => (r.rule.kind === 'skip' ? [`${r.method} ${r.url}`] : []));
    // Only these are not recorded, each with its reason in its route's config.
    expect([...new Set(skipped)].sort()).toEqual([
      'PATCH /tus',
      'PATCH /tus/*',
      'POST /hooks/nginx-rtmp/record-done',
      'POST /hooks/srs/dvr',
      'POST /internal/rpc/:service/:method',
      'POST /v1/beacons',
      'PUT /_storage/*',
    ]);
    const rule = (m: string, u: string) => routes.find((r) => r.method === m && r.url === u)?.rule;
    expect(rule('POST', '/tus')).toMatchObject({ kind: 'record', action: 'tus.create', target: 'upload' });
    expect(rule('DELETE', '/v1/tenants/:id/api-keys/:keyId')).toMatchObject({ action: 'api_key.revoke' });
    expect(rule('GET', '/v1/videos')).toEqual({ kind: 'none' });
    expect(rule('GET', '/v1/admin/alerts')).toMatchObject({ action: 'alert.list' });
  });

  it('derives an action for a write route that names none, and the table tells it apart', () => {
    expect(auditRule('POST', '/v1/videos/:id/retranscode', 'write')).toMatchObject({
      kind: 'record',
      explicit: false,
      action: 'videos.retranscode.create',
    });
    expect(auditRule('DELETE', '/v1/things/:id', 'public')).toMatchObject({ explicit: false });
    expect(auditRule('GET', '/v1/things', 'read')).toEqual({ kind: 'none' });
    expect(auditRule('OPTIONS', '*', 'public')).toEqual({ kind: 'none' });
  });
});

for (const engine of databaseEngines('audit retention suite')) {
  describe.skipIf(!engine.available)(`audit retention on ${engine.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    beforeAll(async () => {
      db = await engine.create();
      t = await startTestApp({ VOD_DB_URL: db.url });
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('purges events past VOD_AUDIT_RETENTION_DAYS in bounded batches and keeps recent ones', async () => {
      expect(t.ctx.config.auditRetentionDays).toBe(365);
      const now = Date.now();
      const old = [1, 2, 3, 4, 5].map((n) => event(now - 366 * DAY - n * 1000, n));
      const edge = event(now - 364 * DAY, 6);
      const recent = event(now - 1000, 7);
      await t.ctx.db.primary
        .insertInto('audit_events')
        .values([...old, edge, recent])
        .execute();
      const ids = async () =>
        (
          await t.ctx.db.primary
            .selectFrom('audit_events')
            .select('id')
            .where('action', '=', 'test.event')
            .execute()
        )
          .map((r) => r.id)
          .sort();
      // Batches of 2, at most 2 of them: 4 of the 5 old events go now, the last on the next run.
      expect(await t.ctx.audit.purge(365, now, 2, 2)).toBe(4);
      expect(await ids()).toHaveLength(3);
      expect(await t.ctx.audit.purge(365, now, 2, 2)).toBe(1);
      expect(await ids()).toEqual([edge.id, recent.id].sort());
      expect(await t.ctx.audit.purge(365, now)).toBe(0);
    });

    it('buffers within its bound: beyond it events are dropped and counted, the rest written', async () => {
      const audit = new AuditService(t.ctx.db, pino({ level: 'silent' }), {
        maxBuffered: 3,
        flushMs: 3_600_000,
      });
      const events = [10, 11, 12, 13, 14].map((n) => ({ ...event(Date.now(), n), action: 'test.bounded' }));
      for (const e of events) audit.record(e);
      await audit.close();
      const rows = await t.ctx.db.primary
        .selectFrom('audit_events')
        .select('request_id')
        .where('action', '=', 'test.bounded')
        .execute();
      expect(rows.map((r) => r.request_id).sort()).toEqual(['req-10', 'req-11', 'req-12']);
    });

    it('drops a row the database refuses without holding back the others', async () => {
      const audit = new AuditService(t.ctx.db, pino({ level: 'silent' }), { flushMs: 3_600_000 });
      const good = { ...event(Date.now(), 20), action: 'test.refused' };
      const dup = { ...event(Date.now(), 21), action: 'test.refused', id: good.id }; // the same primary key
      const other = { ...event(Date.now(), 22), action: 'test.refused', actor_kind: 'x'.repeat(100) }; // too long
      audit.record(good);
      await audit.flush();
      audit.record(dup);
      audit.record({ ...event(Date.now(), 23), action: 'test.refused' });
      if (engine.engine !== 'sqlite') audit.record(other); // SQLite does not enforce varchar lengths
      await audit.close();
      const rows = await t.ctx.db.primary
        .selectFrom('audit_events')
        .select('request_id')
        .where('action', '=', 'test.refused')
        .execute();
      expect(rows.map((r) => r.request_id).sort()).toEqual(['req-20', 'req-23']);
    });
  });
}
