import { type Recording, type RecordingHook, withoutUnsafeText } from '@vodcloud/contracts';
import type { RecordingHooksTable, RecordingsTable } from '../../db/schema';

/** A hook's options, stored as JSON (recording_hooks.settings). */
export interface HookSettings {
  reconnectWindowSec: number;
  templateId: string | null;
  categoryId: string | null;
  titleTemplate: string;
  playbackPolicy: 'public' | 'signed' | null;
  fetchBaseUrl: string | null;
  recordDir: string | null;
  deleteAfterImport: boolean;
}

export function settingsOf(row: RecordingHooksTable): HookSettings {
  return JSON.parse(row.settings) as HookSettings;
}

export function hookView(row: RecordingHooksTable): RecordingHook {
  const s = settingsOf(row);
  return {
    id: row.id,
    name: row.name,
    reconnectWindowSec: s.reconnectWindowSec,
    templateId: s.templateId,
    categoryId: s.categoryId,
    titleTemplate: s.titleTemplate,
    playbackPolicy: s.playbackPolicy,
    fetchBaseUrl: s.fetchBaseUrl,
    recordDir: s.recordDir,
    deleteAfterImport: s.deleteAfterImport,
    tokenPrefix: row.token_prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export function recordingView(row: RecordingsTable): Recording {
  return {
    id: row.id,
    videoId: row.video_id,
    hookId: row.hook_id,
    origin: row.origin as Recording['origin'],
    app: row.app,
    streamName: row.stream_name,
    clientId: row.client_id,
    status: row.status as Recording['status'],
    live: row.live === 1,
    parts: row.parts,
    mergeMode: row.merge_mode as Recording['mergeMode'],
    startedAt: row.started_at,
    endedAt: row.ended_at,
    importedAt: row.imported_at,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    createdAt: row.created_at,
  };
}

/** The title from the hook's template: {app}, {name}, {startedAt}; bounded and free of control characters. */
export function titleFrom(template: string, v: { app: string; name: string; startedAt: string }): string {
  const t = template
    .replaceAll('{app}', v.app)
    .replaceAll('{name}', v.name)
    .replaceAll('{startedAt}', v.startedAt.replace(/\.\d{3}Z$/, 'Z'));
  return withoutUnsafeText(t).slice(0, 500).trim() || v.name;
}
