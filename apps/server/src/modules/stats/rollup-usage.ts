import type { Kysely } from 'kysely';
import type { DB, StatsUsageTable } from '../../db/schema';
import { createdSince } from '../videos';
import type { Granularity } from './periods';
import { periodOf } from './periods';
import { type Group, groupKeys, type Key, num, replaceRows, round3 } from './rollup-keys';

const mbps = (bytes: number, seconds: number) => round3((bytes * 8) / seconds / 1e6);

const empty = (tenant: string, g: Granularity, period: string): StatsUsageTable => ({
  tenant_id: tenant,
  granularity: g,
  period,
  delivered_bytes: 0,
  requests: 0,
  peak_mbps: 0,
  transcoded_seconds: 0,
  uploads: 0,
  imports: 0,
  storage_bytes: null,
});

/**
 * Recomputes a level of a tenant's usage rows for the changed keys: minutes and hours from the delivery
 * counts (the 5-minute peaks too), transcode usage and the videos created; days by adding up hours (the peak:
 * the highest hour's) with the day's storage snapshot. Returns the parent level's keys.
 */
export async function rollupUsage(db: Kysely<DB>, g: Granularity, keys: Set<Key>): Promise<Set<Key>> {
  const { groups, parents } = groupKeys(g, keys);
  for (const group of groups) {
    const rows = new Map<string, StatsUsageTable>();
    for (const p of group.periods) rows.set(p, empty(group.tenant, g, p));
    if (g === 'day') await fromHours(db, group, rows);
    else {
      await fromDelivery(db, g, group, rows);
      await fromTranscodesAndVideos(db, g, group, rows);
    }
    const out = [...rows.values()]
      .map((r) => ({ ...r, transcoded_seconds: round3(r.transcoded_seconds) }))
      .filter(
        (r) =>
          r.delivered_bytes ||
          r.requests ||
          r.transcoded_seconds ||
          r.uploads ||
          r.imports ||
          r.storage_bytes !== null,
      );
    await replaceRows(
      db,
      'stats_usage',
      { tenant: group.tenant, granularity: g, periods: [...group.periods] },
      out,
    );
  }
  return parents;
}

/** Delivery per minute summed over the tenant's videos: the sums, and the peaks of 5-minute windows. */
async function fromDelivery(
  db: Kysely<DB>,
  g: Granularity,
  group: Group,
  rows: Map<string, StatsUsageTable>,
) {
  const delivered = await db
    .selectFrom('delivery_stats')
    .select(['period', 'bytes', 'requests'])
    .where('tenant_id', '=', group.tenant)
    .where('period', '>=', group.from)
    .where('period', '<', group.to)
    .execute();
  const windows = new Map<string, number>();
  for (const d of delivered) {
    const r = rows.get(periodOf(g, d.period));
    if (!r) continue;
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
}

async function fromTranscodesAndVideos(
  db: Kysely<DB>,
  g: Granularity,
  group: Group,
  rows: Map<string, StatsUsageTable>,
) {
  const transcoded = await db
    .selectFrom('transcode_usage')
    .select(['created_at', 'seconds'])
    .where('tenant_id', '=', group.tenant)
    .where('created_at', '>=', group.from)
    .where('created_at', '<', group.to)
    .execute();
  for (const t of transcoded) {
    const r = rows.get(periodOf(g, t.created_at));
    if (r) r.transcoded_seconds += num(t.seconds);
  }
  const created = await createdSince(db, group.from, { tenantId: group.tenant, to: group.to });
  for (const v of created) {
    const r = rows.get(periodOf(g, v.created_at));
    if (!r) continue;
    if (v.input_url) r.imports += 1;
    else r.uploads += 1;
  }
}

async function fromHours(db: Kysely<DB>, group: Group, rows: Map<string, StatsUsageTable>) {
  const hours = await db
    .selectFrom('stats_usage')
    .selectAll()
    .where('tenant_id', '=', group.tenant)
    .where('granularity', '=', 'hour')
    .where('period', '>=', group.from)
    .where('period', '<', group.to)
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
    .where('tenant_id', '=', group.tenant)
    .where('day', '>=', group.from.slice(0, 10))
    .where('day', '<', group.to.slice(0, 10))
    .execute();
  for (const s of storage) {
    const r = rows.get(`${s.day}T00:00:00.000Z`);
    if (r) r.storage_bytes = num(s.source_bytes) + num(s.output_bytes);
  }
}
