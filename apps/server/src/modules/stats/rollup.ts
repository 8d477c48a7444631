import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { BeaconsTable, StatsViewsTable } from '../../db/schema';
import { createdSince } from '../videos';
import { periodOf } from './periods';
import { type Key, split } from './rollup-keys';
import { rollupUsage } from './rollup-usage';
import { rollupVideos } from './rollup-video';
import { measureStorage } from './usage-sources';
import type { ViewerHasher } from './viewer';
import { summarizeView } from './views';

export const WATERMARK = 'stats.rollup.watermark';
/** Rows ingested this long before the last run are looked at again: covers clocks and slow flushes. */
const OVERLAP_MS = 30_000;
const CHUNK = 400;

export interface RollupOptions {
  log: Logger;
  viewTimeoutMs: number;
  retentionDays: { raw: number; minute: number; hour: number; day: number };
}

export interface RollupReport {
  views: number;
  videoPeriods: number;
  usagePeriods: number;
  purged: number;
  ms: number;
}

/**
 * The statistics roll-up: raw beacons → views → minute → hour → day, and delivery, uploads, transcoding and
 * storage → usage per tenant. Every figure is recomputed from the level below for the periods that changed
 * since the last run (found by ingest time, with an overlap), and written by replacing the rows of those
 * periods, so running it twice, or over the same data again, changes nothing. One run at a time per cluster
 * (the caller holds a lock).
 */
export class StatsRollup {
  constructor(
    private readonly db: Database,
    private readonly viewers: ViewerHasher,
    private readonly o: RollupOptions,
  ) {}

  async run(now = Date.now()): Promise<RollupReport> {
    const t0 = performance.now();
    const db = this.db.primary;
    const startedAt = new Date(now).toISOString();
    const mark = await db
      .selectFrom('settings')
      .select('value')
      .where('name', '=', WATERMARK)
      .executeTakeFirst();
    const since = new Date(
      Math.max(0, Date.parse(mark?.value ?? '1970-01-01T00:00:00.000Z') - OVERLAP_MS),
    ).toISOString();

    const videoMinutes = new Set<Key>();
    const usageMinutes = new Set<Key>();
    const views = await this.recomputeViews(since, now, videoMinutes);
    // PostgreSQL plans the roll-up's reads from table statistics: refresh them after a large change (a
    // backfill), or it may read a tenant's every view per video until autovacuum comes by.
    if (views >= 10_000 && this.db.dialect === 'postgres') await sql`analyze stats_views`.execute(db);
    // Views silent past the timeout are closed (their figures do not change).
    await db
      .updateTable('stats_views')
      .set({ closed: 1, updated_at: startedAt })
      .where('closed', '=', 0)
      .where('last_event_at', '<', new Date(now - this.o.viewTimeoutMs).toISOString())
      .execute();

    for (const r of await db
      .selectFrom('delivery_stats')
      .select(['tenant_id', 'video_id', 'period'])
      .where('updated_at', '>=', since)
      .execute()) {
      videoMinutes.add(`${r.tenant_id}|${r.video_id}|${periodOf('minute', r.period)}`);
    }
    for (const k of videoMinutes) {
      const [tenant, , minute] = split(k);
      usageMinutes.add(`${tenant}||${minute}`);
    }
    for (const r of await createdSince(db, since))
      usageMinutes.add(`${r.tenant_id}||${periodOf('minute', r.created_at)}`);
    for (const r of await db
      .selectFrom('transcode_usage')
      .select(['tenant_id', 'created_at'])
      .where('created_at', '>=', since)
      .execute())
      usageMinutes.add(`${r.tenant_id}||${periodOf('minute', r.created_at)}`);

    let videoPeriods = 0;
    const videoHours = await rollupVideos(db, 'minute', videoMinutes);
    videoPeriods += videoMinutes.size + videoHours.size;
    const videoDays = await rollupVideos(db, 'hour', videoHours);
    videoPeriods += videoDays.size;
    await rollupVideos(db, 'day', videoDays);

    // Storage is measured every run (one aggregate query), so today's day row is current.
    const today = periodOf('day', now);
    await measureStorage(this.db, today.slice(0, 10), new Date(now));
    const usageDays = new Set<Key>();
    for (const r of await db
      .selectFrom('storage_usage')
      .select('tenant_id')
      .where('day', '=', today.slice(0, 10))
      .execute())
      usageDays.add(`${r.tenant_id}||${today}`);
    const usageHours = await rollupUsage(db, 'minute', usageMinutes);
    for (const k of await rollupUsage(db, 'hour', usageHours)) usageDays.add(k);
    await rollupUsage(db, 'day', usageDays);
    const usagePeriods = usageMinutes.size + usageHours.size + usageDays.size;

    const purged = await this.purge(now);
    await this.viewers.rotate(now);
    await this.setWatermark(startedAt);
    const report = { views, videoPeriods, usagePeriods, purged, ms: Math.round(performance.now() - t0) };
    if (views > 0 || usagePeriods > 0) this.o.log.debug(report, 'statistics rolled up');
    return report;
  }

  /** Recomputes every view with beacons ingested since `since`; adds the minutes they start in (before and after). */
  private async recomputeViews(since: string, now: number, touched: Set<Key>): Promise<number> {
    const db = this.db.primary;
    const changed = await db
      .selectFrom('beacons')
      .select('view_id')
      .distinct()
      .where('ingested_at', '>=', since)
      .execute();
    const ids = changed.map((r) => r.view_id);
    let n = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const rows = (await db
        .selectFrom('beacons')
        .selectAll()
        .where('view_id', 'in', chunk)
        .execute()) as BeaconsTable[];
      const byView = new Map<string, BeaconsTable[]>();
      for (const r of rows) {
        const k = `${r.video_id}|${r.view_id}`;
        const list = byView.get(k);
        if (list) list.push(r);
        else byView.set(k, [r]);
      }
      const summaries: StatsViewsTable[] = [];
      for (const list of byView.values()) summaries.push(summarizeView(list, now, this.o.viewTimeoutMs));
      // Replaced in two statements: every row of these view ids goes, the recomputed ones and any other
      // (a view id seen on a video whose beacons are past retention) come back.
      const old = await db.selectFrom('stats_views').selectAll().where('view_id', 'in', chunk).execute();
      const kept = old.filter((o) => !byView.has(`${o.video_id}|${o.view_id}`));
      for (const o of old)
        if (byView.has(`${o.video_id}|${o.view_id}`))
          touched.add(`${o.tenant_id}|${o.video_id}|${periodOf('minute', o.started_at)}`);
      const rowsOut = [...summaries, ...kept];
      await db.transaction().execute(async (tx) => {
        await tx.deleteFrom('stats_views').where('view_id', 'in', chunk).execute();
        for (let j = 0; j < rowsOut.length; j += 200)
          await tx
            .insertInto('stats_views')
            .values(rowsOut.slice(j, j + 200))
            .execute();
      });
      for (const s of summaries)
        touched.add(`${s.tenant_id}|${s.video_id}|${periodOf('minute', s.started_at)}`);
      n += summaries.length;
    }
    return n;
  }

  /** Deletes what is past each level's retention. */
  private async purge(now: number): Promise<number> {
    const db = this.db.primary;
    const days = this.o.retentionDays;
    const before = (d: number) => new Date(now - d * 86_400_000).toISOString();
    let n = 0;
    const count = (r: { numDeletedRows: bigint }) => {
      n += Number(r.numDeletedRows);
    };
    count(await db.deleteFrom('beacons').where('created_at', '<', before(days.raw)).executeTakeFirst());
    count(await db.deleteFrom('delivery_stats').where('period', '<', before(days.raw)).executeTakeFirst());
    count(await db.deleteFrom('stats_views').where('started_at', '<', before(days.hour)).executeTakeFirst());
    for (const [g, d] of [
      ['minute', days.minute],
      ['hour', days.hour],
      ['day', days.day],
    ] as const) {
      count(
        await db
          .deleteFrom('stats_video')
          .where('granularity', '=', g)
          .where('period', '<', before(d))
          .executeTakeFirst(),
      );
      count(
        await db
          .deleteFrom('stats_usage')
          .where('granularity', '=', g)
          .where('period', '<', before(d))
          .executeTakeFirst(),
      );
    }
    return n;
  }

  private async setWatermark(value: string): Promise<void> {
    const db = this.db.primary;
    const r = await db
      .updateTable('settings')
      .set({ value })
      .where('name', '=', WATERMARK)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) return;
    try {
      await db.insertInto('settings').values({ name: WATERMARK, value }).execute();
    } catch (err) {
      // MySQL counts an update that changes nothing as 0 rows: the row is there
      if (!isUniqueViolation(err)) throw err;
    }
  }
}
