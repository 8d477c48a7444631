import type {
  AdminUsageQuery,
  BreakdownQuery,
  Granularity,
  StatsQuery,
  TopVideosQuery,
} from '@vodcloud/contracts';
import { sql } from 'kysely';
import type { Database } from '../../db/connect';
import { AppError } from '../../lib/errors';
import { videoTitles } from '../videos';
import { type Histogram, merge, parseHistogram, quantile } from './histogram';
import { periodOf, periodsBetween } from './periods';
import { DAY, rangeOf } from './range';

import { num, round3 } from './rollup-keys';

interface ViewerAcc {
  views: number;
  viewers: number;
  watch: number;
  hist: Histogram;
  rebufferCount: number;
  rebufferMs: number;
  errors: number;
  bytes: number;
  requests: number;
}
const emptyAcc = (): ViewerAcc => ({
  views: 0,
  viewers: 0,
  watch: 0,
  hist: {},
  rebufferCount: 0,
  rebufferMs: 0,
  errors: 0,
  bytes: 0,
  requests: 0,
});
const viewerFields = (a: ViewerAcc) => ({
  views: a.views,
  uniqueViewers: a.viewers,
  watchSeconds: round3(a.watch),
  startupMsP50: quantile(a.hist, 0.5),
  startupMsP95: quantile(a.hist, 0.95),
  rebufferCount: a.rebufferCount,
  rebufferSeconds: round3(a.rebufferMs / 1000),
  rebufferRatio: a.rebufferMs > 0 ? round3(a.rebufferMs / (a.watch * 1000 + a.rebufferMs)) : 0,
  errors: a.errors,
  deliveredBytes: a.bytes,
  requests: a.requests,
});

/** The statistics API's reads (stale-tolerant: on the replica when there is one). */
export class StatsQueries {
  constructor(
    private readonly db: Database,
    /** How long views are kept (days): exact unique viewers over a range need them. */
    private readonly viewsRetentionDays: number,
  ) {}

  async video(tenantId: string, videoId: string, q: StatsQuery, now = Date.now()) {
    const r = rangeOf(q, now);
    const rows = await this.db.read((db) =>
      db
        .selectFrom('stats_video')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('video_id', '=', videoId)
        .where('granularity', '=', r.granularity)
        .where('period', '>=', r.from)
        .where('period', '<', r.to)
        .execute(),
    );
    const byPeriod = new Map(rows.map((x) => [x.period, x]));
    const total = emptyAcc();
    const series = periodsBetween(r.granularity, r.fromMs, r.toMs).map((time) => {
      const x = byPeriod.get(time);
      const a = emptyAcc();
      if (x) {
        a.views = num(x.views);
        a.viewers = num(x.viewers);
        a.watch = num(x.watch_seconds);
        a.hist = parseHistogram(x.startup_hist);
        a.rebufferCount = num(x.rebuffer_count);
        a.rebufferMs = num(x.rebuffer_ms);
        a.errors = num(x.errors);
        a.bytes = num(x.delivered_bytes);
        a.requests = num(x.requests);
        total.views += a.views;
        total.viewers += a.viewers;
        total.watch += a.watch;
        merge(total.hist, a.hist);
        total.rebufferCount += a.rebufferCount;
        total.rebufferMs += a.rebufferMs;
        total.errors += a.errors;
        total.bytes += a.bytes;
        total.requests += a.requests;
      }
      return { time, ...viewerFields(a) };
    });
    // Unique viewers over the whole range: distinct daily hashes of the views (a hash is one viewer on one day),
    // exact while the views are kept; older ranges add up the periods' own counts.
    if (r.fromMs >= now - this.viewsRetentionDays * DAY) {
      const u = await this.db.read((db) =>
        db
          .selectFrom('stats_views')
          .select((eb) => eb.fn.count<number>('viewer_hash').distinct().as('n'))
          .where('tenant_id', '=', tenantId)
          .where('video_id', '=', videoId)
          .where('played', '=', 1)
          .where('started_at', '>=', r.from)
          .where('started_at', '<', r.to)
          .executeTakeFirst(),
      );
      total.viewers = num(u?.n);
    }
    return {
      videoId,
      from: r.from,
      to: r.to,
      granularity: r.granularity,
      totals: viewerFields(total),
      series,
    };
  }

  async usage(tenantId: string, q: StatsQuery, now = Date.now()) {
    const r = rangeOf(q, now);
    const rows = await this.db.read((db) =>
      db
        .selectFrom('stats_usage')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('granularity', '=', r.granularity)
        .where('period', '>=', r.from)
        .where('period', '<', r.to)
        .execute(),
    );
    // Storage is measured per day: an hour or minute shows its day's measurement.
    const days = await this.db.read((db) =>
      db
        .selectFrom('storage_usage')
        .select(['day', 'source_bytes', 'output_bytes'])
        .where('tenant_id', '=', tenantId)
        .where('day', '>=', r.from.slice(0, 10))
        .where('day', '<', new Date(r.toMs + DAY).toISOString().slice(0, 10))
        .execute(),
    );
    const storageOf = new Map(days.map((d) => [d.day, num(d.source_bytes) + num(d.output_bytes)]));
    const byPeriod = new Map(rows.map((x) => [x.period, x]));
    const totals = {
      storageBytes: null as number | null,
      deliveredBytes: 0,
      requests: 0,
      peakMbps: 0,
      transcodedSeconds: 0,
      uploads: 0,
      imports: 0,
    };
    const series = periodsBetween(r.granularity, r.fromMs, r.toMs).map((time) => {
      const x = byPeriod.get(time);
      const storage = storageOf.get(time.slice(0, 10)) ?? null;
      if (storage !== null && Date.parse(time) < now) totals.storageBytes = storage;
      const p = {
        time,
        storageBytes: storage,
        deliveredBytes: num(x?.delivered_bytes),
        requests: num(x?.requests),
        peakMbps: num(x?.peak_mbps),
        transcodedSeconds: round3(num(x?.transcoded_seconds)),
        uploads: num(x?.uploads),
        imports: num(x?.imports),
      };
      totals.deliveredBytes += p.deliveredBytes;
      totals.requests += p.requests;
      totals.peakMbps = Math.max(totals.peakMbps, p.peakMbps);
      totals.transcodedSeconds += p.transcodedSeconds;
      totals.uploads += p.uploads;
      totals.imports += p.imports;
      return p;
    });
    const renditions = await this.db.read((db) =>
      db
        .selectFrom('transcode_usage')
        .select(['rendition', (eb) => eb.fn.sum<number>('seconds').as('s')])
        .where('tenant_id', '=', tenantId)
        .where('created_at', '>=', r.from)
        .where('created_at', '<', r.to)
        .groupBy('rendition')
        .execute(),
    );
    const byRendition: Record<string, number> = {};
    for (const x of renditions) byRendition[x.rendition] = round3(num(x.s));
    return {
      from: r.from,
      to: r.to,
      granularity: r.granularity,
      totals: {
        ...totals,
        transcodedSeconds: round3(totals.transcodedSeconds),
        transcodedSecondsByRendition: byRendition,
      },
      series,
    };
  }

  /** Day rows for ranges of a week or more, else hour rows (whole periods: the range is widened to them). */
  async topVideos(tenantId: string, q: TopVideosQuery, now = Date.now()) {
    const r = rangeOf({ from: q.from, to: q.to, granularity: 'hour' }, now);
    const g: Granularity = r.toMs - r.fromMs >= 7 * DAY ? 'day' : 'hour';
    const from = periodOf(g, r.fromMs);
    const column = {
      views: 'views',
      watchSeconds: 'watch_seconds',
      deliveredBytes: 'delivered_bytes',
    } as const;
    const rows = await this.db.read((db) =>
      db
        .selectFrom('stats_video')
        .select((eb) => [
          'video_id',
          eb.fn.sum<number>('views').as('views'),
          eb.fn.sum<number>('watch_seconds').as('watch_seconds'),
          eb.fn.sum<number>('delivered_bytes').as('delivered_bytes'),
        ])
        .where('tenant_id', '=', tenantId)
        .where('granularity', '=', g)
        .where('period', '>=', from)
        .where('period', '<', r.to)
        .groupBy('video_id')
        .orderBy(sql.ref(column[q.metric]), 'desc')
        .orderBy('video_id')
        .limit(q.limit)
        .execute(),
    );
    const titles = await this.db.read((db) =>
      videoTitles(
        db,
        tenantId,
        rows.map((x) => x.video_id),
      ),
    );
    return {
      from,
      to: r.to,
      metric: q.metric,
      data: rows.map((x) => ({
        videoId: x.video_id,
        title: titles.get(x.video_id) ?? null,
        views: num(x.views),
        watchSeconds: round3(num(x.watch_seconds)),
        deliveredBytes: num(x.delivered_bytes),
      })),
    };
  }

  /** From the views (kept VOD_STATS_HOUR_RETENTION_DAYS): played views grouped by one dimension. */
  async breakdown(tenantId: string, q: BreakdownQuery, now = Date.now()) {
    const toMs = q.to ? Date.parse(q.to) : now;
    const fromMs = q.from ? Date.parse(q.from) : toMs - DAY;
    if (!(fromMs < toMs)) throw new AppError('validation_failed', '`from` must be before `to`');
    const r = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
    const views = await this.db.read((db) => {
      let s = db
        .selectFrom('stats_views')
        .select([
          'browser',
          'os',
          'device',
          'renditions',
          'referrer_host',
          'watch_seconds',
          'rebuffer_ms',
          'errors',
          'played',
        ])
        .where('tenant_id', '=', tenantId)
        .where('started_at', '>=', r.from)
        .where('started_at', '<', r.to);
      if (q.videoId) s = s.where('video_id', '=', q.videoId);
      return s.execute();
    });
    const groups = new Map<
      string | null,
      { views: number; watch: number; rebufferMs: number; errors: number }
    >();
    const add = (value: string | null, v: (typeof views)[number]) => {
      const g = groups.get(value) ?? { views: 0, watch: 0, rebufferMs: 0, errors: 0 };
      groups.set(value, g);
      if (num(v.played)) g.views += 1;
      g.watch += num(v.watch_seconds);
      g.rebufferMs += num(v.rebuffer_ms);
      g.errors += num(v.errors);
    };
    for (const v of views) {
      if (q.by === 'rendition') {
        let list: string[] = [];
        try {
          list = JSON.parse(v.renditions) as string[];
        } catch {}
        if (list.length === 0) add(null, v);
        for (const x of list) add(x, v);
      } else
        add(
          q.by === 'referrer'
            ? v.referrer_host
            : q.by === 'browser'
              ? v.browser
              : q.by === 'os'
                ? v.os
                : v.device,
          v,
        );
    }
    const data = [...groups.entries()]
      .map(([value, g]) => ({
        value,
        views: g.views,
        watchSeconds: round3(g.watch),
        rebufferRatio: g.rebufferMs > 0 ? round3(g.rebufferMs / (g.watch * 1000 + g.rebufferMs)) : 0,
        errors: g.errors,
      }))
      .sort((a, b) => b.views - a.views || b.watchSeconds - a.watchSeconds)
      .slice(0, q.limit);
    return { from: r.from, to: r.to, by: q.by, data };
  }

  /** Every tenant's usage over the range (platform admin), from day rows (whole days). */
  async adminUsage(q: AdminUsageQuery, now = Date.now()) {
    const r = rangeOf({ from: q.from, to: q.to, granularity: 'hour' }, now);
    const useDays = r.toMs - r.fromMs >= 2 * DAY;
    const g: Granularity = useDays ? 'day' : 'hour';
    const from = periodOf(g, r.fromMs);
    const [tenants, usage, views, storage] = await this.db.read((db) =>
      Promise.all([
        db.selectFrom('tenants').select(['id', 'name']).orderBy('name').execute(),
        db
          .selectFrom('stats_usage')
          .select((eb) => [
            'tenant_id',
            eb.fn.sum<number>('delivered_bytes').as('delivered_bytes'),
            eb.fn.sum<number>('requests').as('requests'),
            eb.fn.max<number>('peak_mbps').as('peak_mbps'),
            eb.fn.sum<number>('transcoded_seconds').as('transcoded_seconds'),
            eb.fn.sum<number>('uploads').as('uploads'),
            eb.fn.sum<number>('imports').as('imports'),
          ])
          .where('granularity', '=', g)
          .where('period', '>=', from)
          .where('period', '<', r.to)
          .groupBy('tenant_id')
          .execute(),
        db
          .selectFrom('stats_video')
          .select((eb) => ['tenant_id', eb.fn.sum<number>('views').as('views')])
          .where('granularity', '=', g)
          .where('period', '>=', from)
          .where('period', '<', r.to)
          .groupBy('tenant_id')
          .execute(),
        db
          .selectFrom('storage_usage')
          .select(['tenant_id', 'day', 'source_bytes', 'output_bytes'])
          .where('day', '>=', from.slice(0, 10))
          .where('day', '<=', r.to.slice(0, 10))
          .orderBy('day')
          .execute(),
      ]),
    );
    const u = new Map(usage.map((x) => [x.tenant_id, x]));
    const v = new Map(views.map((x) => [x.tenant_id, num(x.views)]));
    const s = new Map<string, number>();
    for (const x of storage) s.set(x.tenant_id, num(x.source_bytes) + num(x.output_bytes)); // the last day wins
    return {
      from,
      to: r.to,
      data: tenants.map((t) => {
        const x = u.get(t.id);
        return {
          tenantId: t.id,
          tenantName: t.name,
          views: v.get(t.id) ?? 0,
          storageBytes: s.get(t.id) ?? null,
          deliveredBytes: num(x?.delivered_bytes),
          requests: num(x?.requests),
          peakMbps: num(x?.peak_mbps),
          transcodedSeconds: round3(num(x?.transcoded_seconds)),
          uploads: num(x?.uploads),
          imports: num(x?.imports),
        };
      }),
    };
  }
}
