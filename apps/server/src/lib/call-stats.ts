import { z } from 'zod';

/**
 * Call statistics as nodes send them to the monitor: totals since the previous report, per service,
 * method and side. Durations in milliseconds; `buckets[i]` counts calls with duration <= BUCKETS_MS[i],
 * the last element (index BUCKETS_MS.length) counts the rest (+Inf). Buckets are not cumulative.
 * Kept here, below both the rpc module (which counts and sends them) and the monitor (which sums and
 * reads them), so neither feature imports the other for it.
 */
export const BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

export const CallTotals = z.object({
  service: z.string().min(1).max(100),
  method: z.string().min(1).max(100),
  side: z.enum(['consumer', 'provider']),
  calls: z.number().int().min(0),
  errors: z.number().int().min(0),
  sumMs: z.number().min(0),
  maxMs: z.number().min(0),
  buckets: z.array(z.number().int().min(0)).length(BUCKETS_MS.length + 1),
});
export type CallTotals = z.infer<typeof CallTotals>;

export const StatsReport = z.object({
  /** Registry instance id of the reporting node. */
  node: z.string().min(1).max(200),
  roles: z.array(z.string()).max(10),
  /** ISO 8601: the interval the totals cover. */
  from: z.string(),
  to: z.string(),
  entries: z.array(CallTotals).max(10_000),
});
export type StatsReport = z.infer<typeof StatsReport>;

/** The p-quantile (0..1) estimated from bucket counts (upper bound of the bucket it falls in; max for +Inf). */
export function quantileMs(buckets: readonly number[], q: number, maxMs: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return i < BUCKETS_MS.length ? Math.min(BUCKETS_MS[i]!, maxMs) : maxMs;
  }
  return maxMs;
}
