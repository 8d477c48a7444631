/** Row types of every table, as Kysely sees them. Times are ISO-8601 UTC strings. JSON columns are text. */

import type { RecordingHooksTable, RecordingPartsTable, RecordingsTable } from './schema-recordings';
import type {
  BeaconsTable,
  DeliveryStatsTable,
  StatsUsageTable,
  StatsVideoTable,
  StatsViewsTable,
  StorageUsageTable,
  TranscodeUsageTable,
} from './schema-stats';

export * from './schema-recordings';
export * from './schema-stats';
export interface TenantsTable {
  id: string;
  name: string;
  created_at: string;
  /** Null: the platform default (VOD_TENANT_QUOTA_BYTES); 0: unlimited. */
  storage_quota_bytes?: number | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string | null;
  name: string;
  scopes: string; // comma separated
  secret_hash: string; // sha256 hex of the secret part
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface CategoriesTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface TemplatesTable {
  id: string;
  tenant_id: string;
  name: string;
  is_default: number;
  spec: string; // JSON: renditions, audio, hls, mp4, watermark
  created_at: string;
  updated_at: string;
}

export interface VideosTable {
  id: string;
  tenant_id: string;
  title: string | null;
  description: string | null;
  category_id: string | null;
  tags: string; // JSON array
  status: string;
  status_before_block: string | null;
  playable: number;
  progress: number;
  duration: number | null;
  width: number | null;
  height: number | null;
  size_bytes: number | null;
  source_info: string | null; // JSON
  renditions: string; // JSON array
  playback_id: string;
  playback_policy: string;
  template_id: string | null;
  input_url: string | null;
  cover_time: number | null;
  detection: string | null; // JSON
  error_code: string | null;
  error_message: string | null;
  meta: string; // JSON object
  passthrough: string | null;
  created_at: string;
  updated_at: string;
  ready_at: string | null;
  /** JSON: the ladder, segments and chunks of `generation` (migration 005). */
  plan?: string | null;
  /** The output generation being made; objects live under {tenant}/{video}/{generation}/. */
  generation?: string | null;
  /** The generation players are served (switched by one update when a generation is complete). */
  published_generation?: string | null;
  /** JSON: keys of the published outputs (master playlist, MP4s, poster, storyboard). */
  outputs?: string | null;
  /** AES-128 key of `generation`, sealed with the cluster secret (base64); see sealedKeyOf in videos/keys.ts. */
  hls_key?: string | null;
  /** AES-128 key of `published_generation`, sealed likewise (migration 013). */
  published_hls_key?: string | null;
  processing_started_at?: string | null;
  chunks_done?: number;
  /** All the source's bytes were in (upload or import complete) (migration 009). */
  upload_completed_at?: string | null;
  /** When a player could first start it. */
  playable_at?: string | null;
  /** Bytes of the published outputs (migration 019; null before the first publish). */
  output_bytes?: number | null;
  /**
   * Moderation's hold on a video (migration 020): checking (held until its detection completes, policy
   * `hold`), pending (sent to review: waiting for a moderator), approved, rejected. Held (not played) while
   * checking or pending.
   */
  review_status?: 'checking' | 'pending' | 'approved' | 'rejected' | null;
}

/** One tenant's detection policy (JSON of DetectionPolicy without updatedAt; migration 020). */
export interface DetectionPoliciesTable {
  tenant_id: string;
  policy: string;
  updated_at: string;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface DB {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  categories: CategoriesTable;
  templates: TemplatesTable;
  videos: VideosTable;
  settings: SettingsTable;
  jobs: JobsTable;
  uploads: UploadsTable;
  delivery_stats: DeliveryStatsTable;
  events: EventsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  signing_keys: SigningKeysTable;
  referrer_policies: ReferrerPoliciesTable;
  beacons: BeaconsTable;
  stats_views: StatsViewsTable;
  stats_video: StatsVideoTable;
  stats_usage: StatsUsageTable;
  transcode_usage: TranscodeUsageTable;
  storage_usage: StorageUsageTable;
  rpc_stats: RpcStatsTable;
  alerts: AlertsTable;
  video_jobs: VideoJobsTable;
  audit_events: AuditEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  users: UsersTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  detection_policies: DetectionPoliciesTable;
  recording_hooks: RecordingHooksTable;
  recordings: RecordingsTable;
  recording_parts: RecordingPartsTable;
}

export interface UploadsTable {
  id: string;
  tenant_id: string;
  video_id: string;
  /** sha256 of the upload token; null for uploads created with an API key on the tus endpoint. */
  token_hash: string | null;
  status: string; // waiting | uploading | complete | expired | cancelled
  /** The tus upload id, which is also the object key of the source: {tenant}/{video}/source. */
  tus_id: string;
  size: number | null;
  max_size_bytes: number;
  filename: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string;
  completed_at: string | null;
}

export interface EventsTable {
  id: string;
  tenant_id: string;
  type: string;
  video_id: string | null;
  data: string; // JSON
  created_at: string;
  /** Migration 016: when every listener took the event (null: to be dispatched again). */
  dispatched_at: string | null;
}

/** The durable job queue (migration 002_jobs). Times are epoch milliseconds here, not ISO strings. */
export interface JobsTable {
  id: string;
  name: string;
  queue: string; // cpu | io | fast
  state: string; // waiting | blocked | active | completed | failed | cancelled
  payload: string; // JSON
  priority: number;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_token: string | null;
  lease_until: number | null;
  cancel_requested: number;
  progress: string | null; // JSON
  result: string | null; // JSON
  error: string | null;
  parent_id: string | null;
  pending_children: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/**
 * A job of a video whose id cannot be derived from the video's row (a retranscode, a cover change),
 * recorded when it is enqueued so a delete can cancel it (migration 012).
 */
export interface VideoJobsTable {
  job_id: string;
  tenant_id: string;
  video_id: string;
  name: string;
  created_at: string;
}

/** Migration 004_webhooks. The secret is kept as issued (it signs every delivery) and never returned after creation. */
export interface WebhooksTable {
  id: string;
  tenant_id: string;
  url: string;
  events: string; // JSON array of event types
  description: string | null;
  secret: string; // whsec_<base64 key>, or sealed with the master key (v1:<kid>:…, lib/secretbox.ts)
  created_at: string;
  disabled_at: string | null;
}

/** One row per delivery attempt. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  status: string; // pending | succeeded | failed | retrying
  response_status: number | null;
  response_body: string | null; // at most 2 KiB
  error: string | null;
  duration_ms: number | null;
  created_at: string;
  next_attempt_at: string | null;
}

/** Migration 006_playback. `private_key` only for the managed key (sealed: lib/secretbox.ts). */
export interface SigningKeysTable {
  id: string;
  tenant_id: string;
  public_key: string; // SPKI PEM
  private_key: string | null; // sealed PKCS#8 PEM, managed key only
  managed: number;
  created_at: string;
  revoked_at: string | null;
}

/** A tenant's referrer policy has video_id = ''; a video's overrides it. */
export interface ReferrerPoliciesTable {
  tenant_id: string;
  video_id: string;
  referrers: string; // JSON array
  allow_no_referrer: number;
  updated_at: string;
}

/** The monitor's per-minute call statistics (migration 010). */
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

/** Alerts the monitor opened and resolved (migration 011). */
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

/** The audit log: one row per write or admin request (migration 014, modules/audit). */
export interface AuditEventsTable {
  id: string;
  /** When the response was sent (ISO-8601 UTC). */
  at: string;
  /** The tenant the action concerns; null for platform actions (and refused requests of no tenant). */
  tenant_id: string | null;
  /** `api_key`, `upload_token`, `anonymous` (refused before a key was known), `cli`; `user` is reserved. */
  actor_kind: string;
  /** The API key's id, the upload's id or the OS user of `cli`, never a secret; null for `anonymous`. */
  actor_id: string | null;
  /** A stable dotted name: `video.create`, `api_key.revoke`, … */
  action: string;
  target_type: string | null;
  target_id: string | null;
  method: string;
  /** The route pattern, e.g. `/v1/videos/:id`. */
  route: string;
  status: number;
  request_id: string;
  address: string | null;
  /** A small JSON object (at most 1000 characters): the error code of a refusal, related ids. */
  detail: string | null;
  /** The email of the session's user when `actor_kind` is `user` (migration 018). */
  actor_email?: string | null;
}

/** The stored responses of Idempotency-Key requests (migration 017, modules/idempotency). */
export interface IdempotencyKeysTable {
  /** sha256(scope, key) in hex: the key itself is not stored. */
  id: string;
  /** `tenant:<id>` or `admin:<key id>`: whose key it is. */
  scope: string;
  /** sha256 of method, URL and body of the first request. */
  request_hash: string;
  /** `pending` while the first request runs, then `done`. */
  state: string;
  status: number | null;
  /** The response (headers and body) as JSON, sealed (kind `idempotent-response`, ref `id`). */
  response: string | null;
  created_at: string;
  expires_at: string;
}

/** Users of a tenant, or platform admins (migration 018, modules/accounts). */
export interface UsersTable {
  id: string;
  /** Null for a platform admin. */
  tenant_id: string | null;
  /** Lower-cased; unique. */
  email: string;
  name: string;
  /** `owner`, `admin`, `member` or `viewer`; null for a platform admin. */
  role: string | null;
  /** 1 for a platform admin, else 0. */
  platform_admin: number;
  /** argon2id, PHC string. */
  password_hash: string;
  created_at: string;
  last_login_at: string | null;
  disabled_at: string | null;
}

/** Signed-in sessions: the id is sha256 (hex) of the cookie's secret. */
export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: string;
  /** The absolute end (VOD_SESSION_MAX_AGE after sign-in); the idle end follows from last_seen_at. */
  expires_at: string;
  last_seen_at: string;
  ip: string | null;
  user_agent: string | null;
}

/** One-time links: invitations to a tenant and password resets. */
export interface InvitationsTable {
  id: string;
  /** sha256 (hex) of the token in the link. */
  token_hash: string;
  tenant_id: string;
  email: string;
  name: string | null;
  role: string;
  /** `invite` or `reset`. */
  kind: string;
  /** The user a reset is for. */
  user_id: string | null;
  /** Who made it: `user:<id>` or `api_key:<id>`. */
  created_by: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}
