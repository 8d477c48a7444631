import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';
import { createDatabase, type Database } from '../../db/connect';
import { migrateToLatest } from '../../db/migrate';
import { BUCKETS_MS, type CallTotals, type StatsReport } from '../../lib/call-stats';
import { MonitorService, minuteOf } from './service';

const silent = pino({ level: 'silent' });
const N = BUCKETS_MS.length + 1;

/** Buckets with `counts[i]` calls in bucket i. */
function buckets(counts: Record<number, number>): number[] {
  const b = new Array(N).fill(0);
  for (const [i, n] of Object.entries(counts)) b[Number(i)] = n;
  return b;
}

function entry(over: Partial<CallTotals> & Pick<CallTotals, 'calls' | 'buckets'>): CallTotals {
  return {
    service: 'vod-worker',
    method: 'media.probe',
    side: 'consumer',
    errors: 0,
    sumMs: 0,
    maxMs: 0,
    ...over,
  };
}

function report(node: string, toMs: number, entries: CallTotals[]): StatsReport {
  return {
    node,
    roles: ['api'],
    from: new Date(toMs - 10_000).toISOString(),
    to: new Date(toMs).toISOString(),
    entries,
  };
}

// The same suite on every engine: the read-modify-write and the unique key differ per engine.
for (const engine of databaseEngines('monitor store suite')) {
  describe.skipIf(!engine.available)(`monitor store on ${engine.engine}`, () => {
    let tdb: TestDatabase;
    let db: Database;
    let monitor: MonitorService;
    // A fixed minute, far from the present so no other test's rows fall in it.
    const base = Date.parse('2026-11-24T08:30:00.000Z');

    beforeAll(async () => {
      tdb = await engine.create();
      db = createDatabase(tdb.url, { log: silent });
      await migrateToLatest(db.primary as never);
      monitor = new MonitorService(db, silent);
    });
    afterAll(async () => {
      await db?.close();
      await tdb?.drop();
    });

    it('adds two reports of the same minute exactly, per row, and keeps sides and minutes apart', async () => {
      const first = await monitor.ingest(
        report('node-a', base + 20_000, [
          entry({ calls: 3, errors: 1, sumMs: 30.5, maxMs: 20, buckets: buckets({ 3: 2, 4: 1 }) }),
          entry({ side: 'provider', calls: 2, sumMs: 4, maxMs: 3, buckets: buckets({ 2: 2 }) }),
        ]),
      );
      expect(first).toEqual({ minute: '2026-11-24T08:30:00.000Z', rows: 2 });
      await monitor.ingest(
        report('node-a', base + 50_000, [
          entry({ calls: 5, errors: 2, sumMs: 69.5, maxMs: 40, buckets: buckets({ 3: 1, 5: 4 }) }),
        ]),
      );
      // The next minute is a point of its own.
      await monitor.ingest(
        report('node-a', base + 70_000, [
          entry({ calls: 1, sumMs: 7, maxMs: 7, buckets: buckets({ 3: 1 }) }),
        ]),
      );
      const r = await monitor.query({
        service: 'vod-worker',
        side: 'consumer',
        from: new Date(base).toISOString(),
        to: new Date(base + 120_000).toISOString(),
      });
      expect(r.series).toHaveLength(1);
      const s = r.series[0]!;
      expect(s).toMatchObject({ service: 'vod-worker', method: 'media.probe', side: 'consumer' });
      expect(s.points).toEqual([
        // 8 calls, 3 errors, 100 ms in all → mean 12.5; 3 of 8 at ≤10 ms and 5 at ≤50 ms: p95 = 50 but max 40.
        { minute: '2026-11-24T08:30:00.000Z', calls: 8, errors: 3, meanMs: 12.5, p95Ms: 40, maxMs: 40 },
        { minute: '2026-11-24T08:31:00.000Z', calls: 1, errors: 0, meanMs: 7, p95Ms: 7, maxMs: 7 },
      ]);
      expect(s.totals).toEqual({ calls: 9, errors: 3, meanMs: 11.889, p95Ms: 40, maxMs: 40 });
      expect(r.totals).toEqual(s.totals);
      // Stored as one row per service, method, side and node: the second report was added, not inserted.
      const rows = await db.primary
        .selectFrom('rpc_stats')
        .selectAll()
        .where('minute', '=', minuteOf(base))
        .execute();
      expect(rows).toHaveLength(2);
      const consumer = rows.find((x) => x.side === 'consumer')!;
      expect(Number(consumer.calls)).toBe(8);
      expect(JSON.parse(consumer.buckets)).toEqual(buckets({ 3: 3, 4: 1, 5: 4 }));
    });

    it('merges nodes into one point and estimates p95 from the merged buckets', async () => {
      const t = base + 10 * 60_000; // 08:40
      // 94 fast calls (≤10 ms) on one node, 6 slow ones (≤100 ms) on another: the 95th of 100 is slow.
      await monitor.ingest(
        report('node-a', t + 5000, [
          entry({ method: 'media.p95', calls: 94, sumMs: 940, maxMs: 10, buckets: buckets({ 3: 94 }) }),
        ]),
      );
      await monitor.ingest(
        report('node-b', t + 9000, [
          entry({
            method: 'media.p95',
            calls: 6,
            errors: 6,
            sumMs: 540,
            maxMs: 150,
            buckets: buckets({ 6: 6 }),
          }),
        ]),
      );
      const q = {
        method: 'media.p95',
        from: new Date(t).toISOString(),
        to: new Date(t + 60_000).toISOString(),
      };
      const r = await monitor.query(q);
      expect(r.series).toHaveLength(1);
      expect(r.series[0]!.points).toEqual([
        { minute: '2026-11-24T08:40:00.000Z', calls: 100, errors: 6, meanMs: 14.8, p95Ms: 100, maxMs: 150 },
      ]);
      // One slow call fewer and the 95th call is a fast one.
      await monitor.ingest(
        report('node-a', t + 6000, [
          entry({ method: 'media.p96', calls: 96, sumMs: 960, maxMs: 10, buckets: buckets({ 3: 96 }) }),
          entry({
            method: 'media.p96',
            side: 'provider',
            calls: 4,
            sumMs: 400,
            maxMs: 150,
            buckets: buckets({ 6: 4 }),
          }),
        ]),
      );
      const both = await monitor.query({ ...q, method: 'media.p96' });
      expect(both.series.map((s) => [s.side, s.totals.p95Ms])).toEqual([
        ['consumer', 10],
        ['provider', 100],
      ]);
      // A filter that matches nothing: no series, zero totals.
      const none = await monitor.query({ ...q, service: 'vod-nothing' });
      expect(none).toMatchObject({
        series: [],
        totals: { calls: 0, errors: 0, meanMs: 0, p95Ms: 0, maxMs: 0 },
      });
    });

    it('adds up reports ingested concurrently, from several nodes, into the same minute', async () => {
      const t = base + 20 * 60_000; // 08:50
      const method = 'media.concurrent';
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          monitor.ingest(
            report(`node-${i % 4}`, t + 1000 + i, [
              entry({
                method,
                calls: 2,
                errors: i % 2,
                sumMs: 10,
                maxMs: 5 + i,
                buckets: buckets({ 2: 1, 3: 1 }),
              }),
              entry({ method, side: 'provider', calls: 1, sumMs: 1, maxMs: 1, buckets: buckets({ 0: 1 }) }),
            ]),
          ),
        ),
      );
      const r = await monitor.query({
        method,
        from: new Date(t).toISOString(),
        to: new Date(t + 60_000).toISOString(),
      });
      expect(r.series.map((s) => [s.side, s.totals.calls, s.totals.errors, s.totals.maxMs])).toEqual([
        ['consumer', 48, 12, 28],
        ['provider', 24, 0, 1],
      ]);
    });

    it('rejects a malformed report without writing', async () => {
      const bad = report('node-a', base, [entry({ calls: 1, buckets: [1, 2, 3] })]);
      await expect(monitor.ingest(bad)).rejects.toThrow();
    });

    it('purges minutes older than the retention', async () => {
      const now = Date.parse('2026-11-30T12:00:00.000Z');
      const old = now - 170 * 3_600_000;
      const recent = now - 160 * 3_600_000;
      await monitor.ingest(
        report('node-r', old, [entry({ method: 'purge.me', calls: 1, buckets: buckets({ 0: 1 }) })]),
      );
      await monitor.ingest(
        report('node-r', recent, [entry({ method: 'purge.me', calls: 2, buckets: buckets({ 0: 2 }) })]),
      );
      const span = {
        method: 'purge.me',
        from: new Date(old - 60_000).toISOString(),
        to: new Date(now).toISOString(),
      };
      expect((await monitor.query(span)).totals.calls).toBe(3);
      // Everything before 2026-11-23T12:00 goes, including the rows of the other tests (08:30, 08:40 on the 24th stay).
      const removed = await monitor.purge(168, now);
      expect(removed).toBe(1);
      expect((await monitor.query(span)).totals.calls).toBe(2);
      expect(await monitor.purge(168, now)).toBe(0);
    });

    it('keeps one open alert per rule and subject, resolves it, and may open it again', async () => {
      const alerts = monitor.alerts;
      const events: string[] = [];
      const notify = (e: { type: string; alert: { subject: string } }) =>
        events.push(`${e.type} ${e.alert.subject}`);
      const find = (subject: string) => ({
        rule: 'test_rule',
        subject,
        severity: 'warning' as const,
        message: `${subject} is bad`,
        value: 2,
        threshold: 1,
      });
      const t0 = Date.parse('2026-11-24T09:00:00.000Z');
      const r1 = await alerts.reconcile(
        [{ rule: 'test_rule', findings: [find('a'), find('b')] }],
        notify,
        t0,
      );
      expect(r1.opened.map((a) => a.subject)).toEqual(['a', 'b']);
      // Found again: refreshed, not duplicated.
      const r2 = await alerts.reconcile(
        [{ rule: 'test_rule', findings: [find('a'), find('b')] }],
        notify,
        t0 + 5000,
      );
      expect(r2).toEqual({ opened: [], resolved: [] });
      expect(await alerts.countOpen()).toBe(2);
      const open = await alerts.list('open', 10);
      expect(open.map((a) => [a.subject, a.lastSeenAt])).toEqual([
        ['b', '2026-11-24T09:00:05.000Z'],
        ['a', '2026-11-24T09:00:05.000Z'],
      ]);
      // A rule that was not evaluated leaves its alerts alone; an evaluation covering only 'a' resolves only 'a'.
      expect(await alerts.reconcile([{ rule: 'other_rule', findings: [] }], notify, t0 + 6000)).toEqual({
        opened: [],
        resolved: [],
      });
      await alerts.reconcile(
        [{ rule: 'test_rule', findings: [], covers: (s) => s === 'a' }],
        notify,
        t0 + 7000,
      );
      await alerts.reconcile([{ rule: 'test_rule', findings: [] }], notify, t0 + 8000);
      // Two resolved rows for the same rule: the unique key allows many resolved (null) keys.
      const again = await alerts.reconcile([{ rule: 'test_rule', findings: [find('a')] }], notify, t0 + 9000);
      await alerts.reconcile([{ rule: 'test_rule', findings: [] }], notify, t0 + 10_000);
      expect(events).toEqual([
        'alert.opened a',
        'alert.opened b',
        'alert.resolved a',
        'alert.resolved b',
        'alert.opened a',
        'alert.resolved a',
      ]);
      const all = await alerts.list('all', 10);
      expect(all).toHaveLength(3);
      expect(all[0]).toMatchObject({
        id: again.opened[0]!.id,
        rule: 'test_rule',
        subject: 'a',
        state: 'resolved',
        severity: 'warning',
        value: 2,
        threshold: 1,
        openedAt: '2026-11-24T09:00:09.000Z',
        resolvedAt: '2026-11-24T09:00:10.000Z',
      });
      expect(await alerts.list('open', 10)).toEqual([]);
      expect((await alerts.list('resolved', 1)).length).toBe(2); // limit + 1, for the next cursor
      expect(await alerts.list('all', 10, all[1]!.id)).toEqual([all[2]]);
    });
  });
}
