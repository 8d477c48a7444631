import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { BeaconsTable, StatsUsageTable, StatsVideoTable, StatsViewsTable } from '../../db/schema';
import { addTo, type Histogram, merge, parseHistogram } from './histogram';
import { type Granularity, nextPeriod, periodOf } from './periods';
import { measureStorage } from './usage-sources';
import type { ViewerHasher } from './viewer';
import { summarizeView } from './views';

export const WATERMARK = 'stats.rollup.watermark';
/** Rows ingested this long before the last run are looked at again: covers clocks and slow flushes. */
const OVERLAP_MS = 2 * 60_000;
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

type Key = string; // `${tenant}|${id}|${period}` (id: a video, or '' for a tenant's usage)

const num = (v: unknown) => Number(v ?? 0);
const split = (k: Key) => k.split('|') as [string, string, string];

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
    for (const r of await db
      .selectFrom('videos')
      .select(['tenant_id', 'created_at'])
      .where('created_at', '>=', since)
      .execute())
      usageMinutes.add(`${r.tenant_id}||${periodOf('minute', r.created_at)}`);
    for (const r of await db
      .selectFrom('transcode_usage')
      .select(['tenant_id', 'created_at'])
      .where('created_at', '>=', since)
      .execute())
      usageMinutes.add(`${r.tenant_id}||${periodOf('minute', r.created_at)}`);

    let videoPeriods = 0;
    const videoHours = await this.videoLevel('minute', videoMinutes);
    videoPeriods += videoMinutes.size + videoHours.size;
    const videoDays = await this.videoLevel('hour', videoHours);
    videoPeriods += videoDays.size;
    await this.videoLevel('day', videoDays);

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
    const usageHours = await this.usageLevel('minute', usageMinutes);
    for (const k of await this.usageLevel('hour', usageHours)) usageDays.add(k);
    await this.usageLevel('day', usageDays);
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
      const old = await db
        .selectFrom('stats_views')
        .select(['tenant_id', 'video_id', 'view_id', 'started_at'])
        .where('view_id', 'in', chunk)
        .execute();
      await db.transaction().execute(async (tx) => {
        for (const o of old)
          if (byView.has(`${o.video_id}|${o.view_id}`)) {
            touched.add(`${o.tenant_id}|${o.video_id}|${periodOf('minute', o.started_at)}`);
            await tx
              .deleteFrom('stats_views')
              .where('video_id', '=', o.video_id)
              .where('view_id', '=', o.view_id)
              .execute();
          }
        for (let j = 0; j < summaries.length; j += 200)
          await tx
            .insertInto('stats_views')
            .values(summaries.slice(j, j + 200))
            .execute();
      });
      for (const s of summaries)
        touched.add(`${s.tenant_id}|${s.video_id}|${periodOf('minute', s.started_at)}`);
      n += summaries.length;
    }
    return n;
  }

  /**
   * Recomputes the video rows of granularity `g` for the given keys (minute rows from the views and delivery
   * counts; hour and day rows from the level below, unique viewers from the views); returns the parent keys.
   */
  private async videoLevel(g: Granularity, keys: Set<Key>): Promise<Set<Key>> {
    const parents = new Set<Key>();
    const parentG: Granularity | undefined = g === 'minute' ? 'hour' : g === 'hour' ? 'day' : undefined;
    const byVideo = new Map<string, { tenant: string; periods: Set<string> }>();
    for (const k of keys) {
      const [tenant, video, period] = split(k);
      const target = g;
      const p = periodOf(target, period);
      const e = byVideo.get(video) ?? { tenant, periods: new Set<string>() };
      byVideo.set(video, e);
      e.periods.add(p);
      if (parentG) parents.add(`${tenant}|${video}|${periodOf(parentG, period)}`);
    }
    const db = this.db.primary;
    for (const [video, { tenant, periods }] of byVideo) {
      const sorted = [...periods].sort();
      const from = sorted[0]!;
      const to = nextPeriod(g, sorted[sorted.length - 1]!);
      const rows = new Map<string, StatsVideoTable & { hist: Histogram; viewerSet: Set<string> }>();
      const rowOf = (p: string) => {
        let r = rows.get(p);
        if (!r) {
          r = {
            tenant_id: tenant,
            video_id: video,
            granularity: g,
            period: p,
            views: 0,
            viewers: 0,
            watch_seconds: 0,
            startup_count: 0,
            startup_hist: null,
            rebuffer_count: 0,
            rebuffer_ms: 0,
            errors: 0,
            delivered_bytes: 0,
            requests: 0,
            hist: {},
            viewerSet: new Set(),
          };
          rows.set(p, r);
        }
        return r;
      };
      const views = await db
        .selectFrom('stats_views')
        .select([
          'started_at',
          'played',
          'watch_seconds',
          'startup_ms',
          'rebuffer_count',
          'rebuffer_ms',
          'errors',
          'viewer_hash',
        ])
        .where('tenant_id', '=', tenant)
        .where('video_id', '=', video)
        .where('started_at', '>=', from)
        .where('started_at', '<', to)
        .execute();
      for (const v of views) {
        const p = periodOf(g, v.started_at);
        if (!periods.has(p)) continue;
        const r = rowOf(p);
        if (num(v.played)) {
          if (v.viewer_hash) r.viewerSet.add(v.viewer_hash);
          if (g === 'minute') {
            r.views += 1;
            if (v.startup_ms !== null) {
              r.startup_count += 1;
              addTo(r.hist, num(v.startup_ms));
            }
          }
        }
        if (g === 'minute') {
          r.watch_seconds += num(v.watch_seconds);
          r.rebuffer_count += num(v.rebuffer_count);
          r.rebuffer_ms += num(v.rebuffer_ms);
          r.errors += num(v.errors);
        }
      }
      if (g === 'minute') {
        const delivered = await db
          .selectFrom('delivery_stats')
          .select(['period', 'bytes', 'requests'])
          .where('tenant_id', '=', tenant)
          .where('video_id', '=', video)
          .where('period', '>=', from)
          .where('period', '<', to)
          .execute();
        for (const d of delivered) {
          const p = periodOf('minute', d.period);
          if (!periods.has(p)) continue;
          const r = rowOf(p);
          r.delivered_bytes += num(d.bytes);
          r.requests += num(d.requests);
        }
      } else {
        const child: Granularity = g === 'hour' ? 'minute' : 'hour';
        const lower = await db
          .selectFrom('stats_video')
          .selectAll()
          .where('tenant_id', '=', tenant)
          .where('video_id', '=', video)
          .where('granularity', '=', child)
          .where('period', '>=', from)
          .where('period', '<', to)
          .execute();
        for (const c of lower) {
          const p = periodOf(g, c.period);
          if (!periods.has(p)) continue;
          const r = rowOf(p);
          r.views += num(c.views);
          r.watch_seconds += num(c.watch_seconds);
          r.startup_count += num(c.startup_count);
          merge(r.hist, parseHistogram(c.startup_hist));
          r.rebuffer_count += num(c.rebuffer_count);
          r.rebuffer_ms += num(c.rebuffer_ms);
          r.errors += num(c.errors);
          r.delivered_bytes += num(c.delivered_bytes);
          r.requests += num(c.requests);
        }
      }
      const out: StatsVideoTable[] = [];
      for (const r of rows.values()) {
        const { hist, viewerSet, ...row } = r;
        row.viewers = viewerSet.size;
        row.watch_seconds = Math.round(row.watch_seconds * 1000) / 1000;
        row.startup_hist = Object.keys(hist).length ? JSON.stringify(hist) : null;
        if (
          row.views ||
          row.watch_seconds ||
          row.errors ||
          row.delivered_bytes ||
          row.requests ||
          row.rebuffer_count
        )
          out.push(row);
      }
      const list = [...periods];
      await db.transaction().execute(async (tx) => {
        for (let i = 0; i < list.length; i += 500)
          await tx
            .deleteFrom('stats_video')
            .where('tenant_id', '=', tenant)
            .where('video_id', '=', video)
            .where('granularity', '=', g)
            .where('period', 'in', list.slice(i, i + 500))
            .execute();
        for (let i = 0; i < out.length; i += 200)
          await tx
            .insertInto('stats_video')
            .values(out.slice(i, i + 200))
            .execute();
      });
    }
    return parents;
  }

  /** Recomputes the usage rows of granularity `g` for the given tenant keys; returns the parent keys. */
  private async usageLevel(g: Granularity, keys: Set<Key>): Promise<Set<Key>> {
    const parents = new Set<Key>();
    const parentG: Granularity | undefined = g === 'minute' ? 'hour' : g === 'hour' ? 'day' : undefined;
    const byTenant = new Map<string, Set<string>>();
    for (const k of keys) {
      const [tenant, , period] = split(k);
      const s = byTenant.get(tenant) ?? new Set<string>();
      byTenant.set(tenant, s);
      s.add(periodOf(g, period));
      if (parentG) parents.add(`${tenant}||${periodOf(parentG, period)}`);
    }
    const db = this.db.primary;
    for (const [tenant, periods] of byTenant) {
      const sorted = [...periods].sort();
      const from = sorted[0]!;
      const to = nextPeriod(g, sorted[sorted.length - 1]!);
      const rows = new Map<string, StatsUsageTable>();
      const rowOf = (p: string) => {
        const r = rows.get(p) ?? {
          tenant_id: tenant,
          granularity: g,
          period: p,
          delivered_bytes: 0,
          requests: 0,
          peak_mbps: 0,
          transcoded_seconds: 0,
          uploads: 0,
          imports: 0,
          storage_bytes: null,
        };
        rows.set(p, r);
        return r;
      };
      for (const p of periods) rowOf(p);
      if (g !== 'day') {
        // Delivery per minute of the range, summed over videos: the sums and the 5-minute peaks.
        const delivered = await db
          .selectFrom('delivery_stats')
          .select(['period', 'bytes', 'requests'])
          .where('tenant_id', '=', tenant)
          .where('period', '>=', from)
          .where('period', '<', to)
          .execute();
        const windows = new Map<string, number>();
        for (const d of delivered) {
          const p = periodOf(g, d.period);
          if (!periods.has(p)) continue;
          const r = rowOf(p);
          r.delivered_bytes += num(d.bytes);
          r.requests += num(d.requests);
          const w = new Date(Math.floor(Date.parse(d.period) / 300_000) * 300_000).toISOString();
          windows.set(w, (windows.get(w) ?? 0) + num(d.bytes));
        }
        if (g === 'minute') for (const r of rows.values()) r.peak_mbps = mbps(r.delivered_bytes, 60);
        else
          for (const [w, bytes] of windows) {
            const r = rows.get(periodOf(g, w));
            if (r) r.peak_mbps = Math.max(r.peak_mbps, mbps(bytes, 300));
          }
        const transcoded = await db
          .selectFrom('transcode_usage')
          .select(['created_at', 'seconds'])
          .where('tenant_id', '=', tenant)
          .where('created_at', '>=', from)
          .where('created_at', '<', to)
          .execute();
        for (const t of transcoded) {
          const r = rows.get(periodOf(g, t.created_at));
          if (r) r.transcoded_seconds += num(t.seconds);
        }
        const created = await db
          .selectFrom('videos')
          .select(['created_at', 'input_url'])
          .where('tenant_id', '=', tenant)
          .where('created_at', '>=', from)
          .where('created_at', '<', to)
          .execute();
        for (const v of created) {
          const r = rows.get(periodOf(g, v.created_at));
          if (!r) continue;
          if (v.input_url) r.imports += 1;
          else r.uploads += 1;
        }
      } else {
        const hours = await db
          .selectFrom('stats_usage')
          .selectAll()
          .where('tenant_id', '=', tenant)
          .where('granularity', '=', 'hour')
          .where('period', '>=', from)
          .where('period', '<', to)
          .execute();
        for (const h of hours) {
          const r = rows.get(periodOf('day', h.period));
          if (!r) continue;
          r.delivered_bytes += num(h.delivered_bytes);
          r.requests += num(h.requests);
          r.peak_mbps = Math.max(r.peak_mbps, num(h.peak_mbps));
          r.transcoded_seconds += num(h.transcoded_seconds);
          r.uploads += num(h.uploads);
          r.imports += num(h.imports);
        }
        const storage = await db
          .selectFrom('storage_usage')
          .select(['day', 'source_bytes', 'output_bytes'])
          .where('tenant_id', '=', tenant)
          .where('day', '>=', from.slice(0, 10))
          .where('day', '<', to.slice(0, 10))
          .execute();
        for (const s of storage) {
          const r = rows.get(`${s.day}T00:00:00.000Z`);
          if (r) r.storage_bytes = num(s.source_bytes) + num(s.output_bytes);
        }
      }
      const out = [...rows.values()]
        .map((r) => ({ ...r, transcoded_seconds: Math.round(r.transcoded_seconds * 1000) / 1000 }))
        .filter(
          (r) =>
            r.delivered_bytes ||
            r.requests ||
            r.transcoded_seconds ||
            r.uploads ||
            r.imports ||
            r.storage_bytes !== null,
        );
      const list = [...periods];
      await db.transaction().execute(async (tx) => {
        for (let i = 0; i < list.length; i += 500)
          await tx
            .deleteFrom('stats_usage')
            .where('tenant_id', '=', tenant)
            .where('granularity', '=', g)
            .where('period', 'in', list.slice(i, i + 500))
            .execute();
        for (let i = 0; i < out.length; i += 200)
          await tx
            .insertInto('stats_usage')
            .values(out.slice(i, i + 200))
            .execute();
      });
    }
    return parents;
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

const mbps = (bytes: number, seconds: number) => Math.round(((bytes * 8) / seconds / 1e6) * 1000) / 1000;
