// The statistics' ranges and how their figures are written (watch time, percentages, rates).

/** The range picker's choices: the last 24 hours by hour, the last 7 or 30 days by day. */
export const RANGES = {
  '24h': { ms: 24 * 3_600_000, granularity: 'hour' },
  '7d': { ms: 7 * 86_400_000, granularity: 'day' },
  '30d': { ms: 30 * 86_400_000, granularity: 'day' },
} as const;
export type RangeId = keyof typeof RANGES;
export const RANGE_IDS = Object.keys(RANGES) as RangeId[];

export type RangeQuery = {
  from: string;
  to: string;
  granularity: 'hour' | 'day';
};

/** The query of a range ending now (to the next minute, so that a re-render asks the same). */
export function rangeQuery(id: RangeId, now = Date.now()): RangeQuery {
  const to = Math.ceil(now / 60_000) * 60_000;
  const r = RANGES[id];
  return {
    from: new Date(to - r.ms).toISOString(),
    to: new Date(to).toISOString(),
    granularity: r.granularity,
  };
}

/** A same-origin link to an API path as CSV (a GET: the session cookie authenticates it). */
export function csvHref(path: string, query: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  q.set('format', 'csv');
  return `${path}?${q}`;
}

/** Seconds as h:mm:ss (12 → "0:00:12", 3725 → "1:02:05"; hours past 99 keep growing). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A ratio (0.0123) as a percentage ("1.2%", "1,2 %" as the language writes it). */
export const formatPercent = (ratio: number, lang: string): string =>
  new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(ratio);

export const formatNumber = (n: number, lang: string, digits = 0): string =>
  new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(n);

/** A period's start as its label: the hour in local time, a day (UTC, as the server counts days) as a date. */
export function periodLabel(iso: string, granularity: string, lang: string): string {
  const d = new Date(iso);
  if (granularity === 'day')
    return new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d);
  if (granularity === 'hour')
    return new Intl.DateTimeFormat(lang, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    }).format(d);
  return new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' }).format(d);
}
