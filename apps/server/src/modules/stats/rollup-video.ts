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
  // Videos a chunk at a time: one read per source for the chunk, not one per video.
  for (let i = 0; i < groups.length; i += CHUNK) {
    const chunk = new Map<string, { group: Group; rows: Map<string, Acc> }>();
    for (const group of groups.slice(i, i + CHUNK)) chunk.set(group.subject, { group, rows: new Map() });
    const rowOf = (video: string, p: string): Acc | undefined => {
      const e = chunk.get(video);
      if (!e?.group.periods.has(p)) return undefined;
      const r = e.rows.get(p) ?? empty(e.group.tenant, video, g, p);
      e.rows.set(p, r);
      return r;
    };
    const scope = scopeOf([...chunk.values()].map((e) => e.group));
    await fromViews(db, g, scope, rowOf);
    if (g === 'minute') await fromDelivery(db, scope, rowOf);
    else await fromLowerLevel(db, g, scope, rowOf);
    for (const { group, rows } of chunk.values()) {
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
  }
  return parents;
}

const CHUNK = 200;

interface Scope {
  tenants: string[];
  videos: string[];
  from: string;
  to: string;
}

/** The tenants, videos and the time range covering a chunk of groups (rows outside their periods are skipped). */
function scopeOf(groups: Group[]): Scope {
  return {
    tenants: [...new Set(groups.map((x) => x.tenant))],
    videos: groups.map((x) => x.subject),
    // ISO times compare as strings
    from: groups.map((x) => x.from).sort()[0]!,
    to: groups
      .map((x) => x.to)
      .sort()
      .at(-1)!,
  };
}

type RowOf = (video: string, period: string) => Acc | undefined;

/** Unique viewers at every level; at the minute level, every figure of the views that started in it. */
async function fromViews(db: Kysely<DB>, g: Granularity, scope: Scope, rowOf: RowOf) {
  const views = await db
    .selectFrom('stats_views')
    .select([
      'video_id',
      'started_at',
      'played',
      'watch_seconds',
      'startup_ms',
      'rebuffer_count',
      'rebuffer_ms',
      'errors',
      'viewer_hash',
    ])
    .where('tenant_id', 'in', scope.tenants)
    .where('video_id', 'in', scope.videos)
    .where('started_at', '>=', scope.from)
    .where('started_at', '<', scope.to)
    .execute();
  for (const v of views) {
    const r = rowOf(v.video_id, periodOf(g, v.started_at));
    if (!r) continue;
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

async function fromDelivery(db: Kysely<DB>, scope: Scope, rowOf: RowOf) {
  const delivered = await db
    .selectFrom('delivery_stats')
    .select(['video_id', 'period', 'bytes', 'requests'])
    .where('tenant_id', 'in', scope.tenants)
    .where('video_id', 'in', scope.videos)
    .where('period', '>=', scope.from)
    .where('period', '<', scope.to)
    .execute();
  for (const d of delivered) {
    const r = rowOf(d.video_id, periodOf('minute', d.period));
    if (!r) continue;
    r.delivered_bytes += num(d.bytes);
    r.requests += num(d.requests);
  }
}

async function fromLowerLevel(db: Kysely<DB>, g: Granularity, scope: Scope, rowOf: RowOf) {
  const lower = await db
    .selectFrom('stats_video')
    .selectAll()
    .where('tenant_id', 'in', scope.tenants)
    .where('video_id', 'in', scope.videos)
    .where('granularity', '=', g === 'hour' ? 'minute' : 'hour')
    .where('period', '>=', scope.from)
    .where('period', '<', scope.to)
    .execute();
  for (const c of lower) {
    const r = rowOf(c.video_id, periodOf(g, c.period));
    if (!r) continue;
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
