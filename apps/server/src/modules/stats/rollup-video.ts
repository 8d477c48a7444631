import type { Kysely } from 'kysely';
import type { DB, StatsVideoTable } from '../../db/schema';
import { addTo, type Histogram, merge, parseHistogram } from './histogram';
import type { Granularity } from './periods';
import { periodOf } from './periods';
import { type Group, groupKeys, type Key, num, replaceRows, round3 } from './rollup-keys';

type Acc = StatsVideoTable & { hist: Histogram; viewerSet: Set<string> };

const empty = (tenant: string, video: string, g: Granularity, period: string): Acc => ({
  tenant_id: tenant,
  video_id: video,
  granularity: g,
  period,
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
});

/**
 * Recomputes a level of the video rows for the changed keys: minute rows from the views and the delivery
 * counts; hour and day rows by adding up the level below, with unique viewers counted from the views (a
 * distinct count cannot be added up). Returns the parent level's keys.
 */
export async function rollupVideos(db: Kysely<DB>, g: Granularity, keys: Set<Key>): Promise<Set<Key>> {
  const { groups, parents } = groupKeys(g, keys);
  for (const group of groups) {
    const rows = new Map<string, Acc>();
    const rowOf = (p: string) => {
      const r = rows.get(p) ?? empty(group.tenant, group.subject, g, p);
      rows.set(p, r);
      return r;
    };
    await fromViews(db, g, group, rowOf);
    if (g === 'minute') await fromDelivery(db, group, rowOf);
    else await fromLowerLevel(db, g, group, rowOf);
    const out: StatsVideoTable[] = [];
    for (const r of rows.values()) {
      const { hist, viewerSet, ...row } = r;
      row.viewers = viewerSet.size;
      row.watch_seconds = round3(row.watch_seconds);
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
    await replaceRows(
      db,
      'stats_video',
      { tenant: group.tenant, video: group.subject, granularity: g, periods: [...group.periods] },
      out,
    );
  }
  return parents;
}

/** Unique viewers at every level; at the minute level, every figure of the views that started in it. */
async function fromViews(db: Kysely<DB>, g: Granularity, group: Group, rowOf: (p: string) => Acc) {
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
    .where('tenant_id', '=', group.tenant)
    .where('video_id', '=', group.subject)
    .where('started_at', '>=', group.from)
    .where('started_at', '<', group.to)
    .execute();
  for (const v of views) {
    const p = periodOf(g, v.started_at);
    if (!group.periods.has(p)) continue;
    const r = rowOf(p);
    const played = num(v.played) === 1;
    if (played && v.viewer_hash) r.viewerSet.add(v.viewer_hash);
    if (g !== 'minute') continue;
    if (played) {
      r.views += 1;
      if (v.startup_ms !== null) {
        r.startup_count += 1;
        addTo(r.hist, num(v.startup_ms));
      }
    }
    r.watch_seconds += num(v.watch_seconds);
    r.rebuffer_count += num(v.rebuffer_count);
    r.rebuffer_ms += num(v.rebuffer_ms);
    r.errors += num(v.errors);
  }
}

async function fromDelivery(db: Kysely<DB>, group: Group, rowOf: (p: string) => Acc) {
  const delivered = await db
    .selectFrom('delivery_stats')
    .select(['period', 'bytes', 'requests'])
    .where('tenant_id', '=', group.tenant)
    .where('video_id', '=', group.subject)
    .where('period', '>=', group.from)
    .where('period', '<', group.to)
    .execute();
  for (const d of delivered) {
    const p = periodOf('minute', d.period);
    if (!group.periods.has(p)) continue;
    const r = rowOf(p);
    r.delivered_bytes += num(d.bytes);
    r.requests += num(d.requests);
  }
}

async function fromLowerLevel(db: Kysely<DB>, g: Granularity, group: Group, rowOf: (p: string) => Acc) {
  const lower = await db
    .selectFrom('stats_video')
    .selectAll()
    .where('tenant_id', '=', group.tenant)
    .where('video_id', '=', group.subject)
    .where('granularity', '=', g === 'hour' ? 'minute' : 'hour')
    .where('period', '>=', group.from)
    .where('period', '<', group.to)
    .execute();
  for (const c of lower) {
    const p = periodOf(g, c.period);
    if (!group.periods.has(p)) continue;
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
