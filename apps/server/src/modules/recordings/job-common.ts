import type { RecordingsTable } from '../../db/schema';
import type { RecordingDeps } from './service';

/** Errors that another attempt cannot fix: the file or URL is the problem. */
export const FINAL = new Set([
  'validation_failed',
  'unsupported_media',
  'payload_too_large',
  'forbidden',
  'not_found',
]);
export const codeOf = (err: unknown) => (err as { code?: string }).code ?? 'internal';
export const msgOf = (err: unknown) => String((err as Error).message ?? err).slice(0, 500);

/** `recording.imported`: the recording's source is final. */
export async function emitImported(d: RecordingDeps, rec: RecordingsTable) {
  await d.events.emit(rec.tenant_id, 'recording.imported', rec.video_id, {
    recordingId: rec.id,
    videoId: rec.video_id,
    origin: rec.origin,
    app: rec.app,
    streamName: rec.stream_name,
    clientId: rec.client_id,
    startedAt: rec.started_at,
    endedAt: rec.ended_at,
    parts: rec.parts,
    mergeMode: rec.merge_mode,
  });
}
