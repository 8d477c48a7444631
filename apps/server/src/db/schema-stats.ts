/** Row types of the statistics tables (migration 019, modules/stats); re-exported by schema.ts. */

/** One view (migration 019), recomputed from its raw beacons by the statistics roll-up. */
export interface StatsViewsTable {
  video_id: string;
  view_id: string;
  tenant_id: string;
  started_at: string;
  last_event_at: string;
  ended_at: string | null;
  /** 1: ended (view_end) or timed out; its figures no longer change. */
  closed: number;
  /** 1: the view played (a playing event or watched seconds); only these count as views. */
  played: number;
  watch_seconds: number;
  startup_ms: number | null;
  rebuffer_count: number;
  rebuffer_ms: number;
  errors: number;
  /** JSON array of the renditions played, in order of first use. */
  renditions: string;
  browser: string | null;
  os: string | null;
  device: string | null;
  viewer_hash: string | null;
  /** The host of the page the player ran in (from the beacons' Referer). */
  referrer_host: string | null;
  updated_at: string;
}

/** A video's viewer metrics for one period (migration 019); granularity 'minute' | 'hour' | 'day'. */
export interface StatsVideoTable {
  tenant_id: string;
  video_id: string;
  granularity: string;
  period: string;
  views: number;
  viewers: number;
  watch_seconds: number;
  startup_count: number;
  /** JSON object: log-bucket index → views (see stats/histogram.ts). */
  startup_hist: string | null;
  rebuffer_count: number;
  rebuffer_ms: number;
  errors: number;
  /** Bytes and requests the stream role served for the video in the period (from delivery_stats). */
  delivered_bytes: number;
  requests: number;
}

/** A tenant's usage for one period (migration 019). */
export interface StatsUsageTable {
  tenant_id: string;
  granularity: string;
  period: string;
  delivered_bytes: number;
  requests: number;
  /** The highest 5-minute average delivery rate in the period, megabits per second. */
  peak_mbps: number;
  transcoded_seconds: number;
  uploads: number;
  imports: number;
  /** Day rows: the storage snapshot of that day (null when none was taken). */
  storage_bytes: number | null;
}

/** Seconds of output encoded per rendition of a published generation (migration 019). */
export interface TranscodeUsageTable {
  video_id: string;
  generation: string;
  rendition: string;
  tenant_id: string;
  seconds: number;
  created_at: string;
}

/** A tenant's stored bytes measured once a day (migration 019). */
export interface StorageUsageTable {
  tenant_id: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  source_bytes: number;
  output_bytes: number;
  videos: number;
  measured_at: string;
}

/** One QoE event of a player view (migration 007). */
export interface BeaconsTable {
  id: string;
  tenant_id: string;
  video_id: string;
  playback_id: string;
  view_id: string;
  event: string;
  position: number;
  startup_ms: number | null;
  watched_sec: number | null;
  /** Seconds played since the view started, as the player counted them (migration 019). */
  played_sec?: number | null;
  error: string | null;
  user_agent: string | null;
  referrer: string | null;
  /** The event's time: the player's clock corrected by the server's (migration 019: before, when received). */
  created_at: string;
  /** When the row reached the database (the roll-up's watermark; null on rows before migration 019). */
  ingested_at?: string | null;
  /** The rendition playing, e.g. `720p` (rendition_change, playing, heartbeat). */
  rendition?: string | null;
  /** rebuffer_end: how long the stall lasted, as the player measured it. */
  rebuffer_ms?: number | null;
  /** Salted daily hash of the viewer's address and user agent (no address is stored). */
  viewer_hash?: string | null;
  /** The event's number within its view (the player counts from 0). */
  seq?: number | null;
}

/** Bytes and requests served per tenant, video and hour (migration 008). */
export interface DeliveryStatsTable {
  tenant_id: string;
  video_id: string;
  /** The minute, ISO-8601 UTC (e.g. 2026-11-24T07:15:00.000Z; rows before migration 019 are hours). */
  period: string;
  bytes: number;
  requests: number;
  /** When the row was last added to (migration 019; the roll-up's watermark). */
  updated_at?: string | null;
}
