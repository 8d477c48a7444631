// The admin Usage page's order and totals (every tenant's usage over a range, GET /v1/admin/usage).
import type { TenantUsage } from '../../api/types';

export const USAGE_COLUMNS = [
  'tenantName',
  'views',
  'storageBytes',
  'deliveredBytes',
  'requests',
  'peakMbps',
  'transcodedSeconds',
  'uploads',
  'imports',
] as const;
export type UsageColumn = (typeof USAGE_COLUMNS)[number];
export type UsageSort = { by: UsageColumn; descending: boolean };

/** Rows in the sort's order; ties by name; storage not measured is last either way. */
export function sortUsage(rows: readonly TenantUsage[], sort: UsageSort, lang: string): TenantUsage[] {
  const byName = (a: TenantUsage, b: TenantUsage) => a.tenantName.localeCompare(b.tenantName, lang);
  return [...rows].sort((a, b) => {
    if (sort.by === 'tenantName') return sort.descending ? byName(b, a) : byName(a, b);
    const x = a[sort.by];
    const y = b[sort.by];
    if (x === null || y === null) return x === y ? byName(a, b) : x === null ? 1 : -1;
    return (sort.descending ? y - x : x - y) || byName(a, b);
  });
}

/** A click on the sorted column turns its order round; another column starts descending (names ascending). */
export const nextSort = (s: UsageSort, by: UsageColumn): UsageSort =>
  s.by === by ? { by, descending: !s.descending } : { by, descending: by !== 'tenantName' };

/**
 * The totals row: sums, storage summed over the tenants measured (null when none is). No peak rate: tenants
 * peak at different times, so neither the sum nor the highest is the platform's peak.
 */
export function usageTotals(rows: readonly TenantUsage[]) {
  const sum = (k: 'views' | 'deliveredBytes' | 'requests' | 'transcodedSeconds' | 'uploads' | 'imports') =>
    rows.reduce((n, r) => n + r[k], 0);
  const measured = rows.filter((r) => r.storageBytes !== null);
  return {
    views: sum('views'),
    storageBytes: measured.length ? measured.reduce((n, r) => n + (r.storageBytes ?? 0), 0) : null,
    deliveredBytes: sum('deliveredBytes'),
    requests: sum('requests'),
    transcodedSeconds: sum('transcodedSeconds'),
    uploads: sum('uploads'),
    imports: sum('imports'),
  };
}

/** A tenant with nothing in the range and nothing stored (or storage not measured). */
export const unused = (r: TenantUsage): boolean =>
  !r.storageBytes &&
  r.views === 0 &&
  r.deliveredBytes === 0 &&
  r.requests === 0 &&
  r.transcodedSeconds === 0 &&
  r.uploads === 0 &&
  r.imports === 0;
