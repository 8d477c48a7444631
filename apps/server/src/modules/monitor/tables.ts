/** Row types of the monitor's tables (migrations 010 and 011). Times are ISO-8601 UTC strings. */
export interface RpcStatsTable {
  /** Start of the minute, e.g. 2026-11-24T09:15:00.000Z. */
  minute: string;
  service: string;
  method: string;
  side: string;
  node: string;
  calls: number;
  errors: number;
  sum_ms: number;
  max_ms: number;
  /** JSON array: non-cumulative counts per BUCKETS_MS bound, +Inf last. */
  buckets: string;
}

export interface AlertsTable {
  id: string;
  rule: string;
  subject: string;
  severity: string;
  message: string;
  value: number | null;
  threshold: number | null;
  opened_at: string;
  resolved_at: string | null;
  last_seen_at: string;
  /** "rule|subject" while open, null once resolved (unique: one open alert per rule and subject). */
  open_key: string | null;
}
