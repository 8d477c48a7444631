/**
 * Startup times are kept as a sparse log histogram so that percentiles can be merged across periods (a
 * percentile of percentiles is meaningless): bucket i holds values in [1.05^i, 1.05^(i+1)) ms, so a reported
 * percentile (the bucket's geometric middle) is within 2.5 % of the exact one.
 */
const BASE = 1.05;
const LOG_BASE = Math.log(BASE);

export type Histogram = Record<string, number>;

export const bucketOf = (ms: number) => (ms < 1 ? 0 : Math.floor(Math.log(ms) / LOG_BASE));

export function addTo(h: Histogram, ms: number, n = 1): void {
  const b = String(bucketOf(ms));
  h[b] = (h[b] ?? 0) + n;
}

export function merge(into: Histogram, from: Histogram | null | undefined): Histogram {
  if (from) for (const [b, n] of Object.entries(from)) into[b] = (into[b] ?? 0) + n;
  return into;
}

export const parseHistogram = (s: string | null | undefined): Histogram => {
  if (!s) return {};
  try {
    return JSON.parse(s) as Histogram;
  } catch {
    return {};
  }
};

/** The q-quantile (0..1) in ms, or null for an empty histogram. */
export function quantile(h: Histogram, q: number): number | null {
  const buckets = Object.entries(h)
    .map(([b, n]) => [Number(b), n] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [b, n] of buckets) {
    seen += n;
    if (seen >= rank) return Math.round(BASE ** (b + 0.5));
  }
  return null;
}
