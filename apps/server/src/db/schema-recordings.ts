/** Row types of the live-recording tables (migration 021, modules/recordings); re-exported by schema.ts. */

/** A recording server's hook (migration 021): `settings` is the JSON of the hook's options. */
export interface RecordingHooksTable {
  id: string;
  tenant_id: string;
  name: string;
  /** sha256 (hex) of the token; the token itself is shown once. */
  token_hash: string;
  token_prefix: string;
  settings: string;
  created_at: string;
  last_used_at: string | null;
}

/** One broadcast of one stream, or one recording imported by URL (migration 021). */
export interface RecordingsTable {
  id: string;
  tenant_id: string;
  hook_id: string | null;
  video_id: string | null;
  /** nginx-rtmp | srs | api */
  origin: string;
  app: string | null;
  stream_name: string | null;
  client_id: string | null;
  source_url: string | null;
  /** recording (parts may still come) | importing | imported | failed */
  status: string;
  live: number;
  parts: number;
  /** single | copy | reencode (how the parts became one source) */
  merge_mode: string | null;
  started_at: string | null;
  ended_at: string | null;
  window_until: string | null;
  imported_at: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
}

/** One file a recorder reported (migration 021); joins its recording once stored and measured. */
export interface RecordingPartsTable {
  id: string;
  tenant_id: string;
  hook_id: string;
  recording_id: string | null;
  seq: number | null;
  app: string;
  stream_name: string;
  client_id: string | null;
  /** nginx-rtmp | srs */
  recorder: string;
  /** path (under VOD_RECORDING_DIRS) | url (the hook's fetchBaseUrl) */
  location_kind: string;
  location: string;
  /** pending | stored | attached | failed */
  status: string;
  object_key: string | null;
  size_bytes: number | string | null;
  duration: number | null;
  started_at: string | null;
  ended_at: string;
  error_message: string | null;
  created_at: string;
}
