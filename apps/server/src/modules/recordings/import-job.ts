import type { JobPayload } from '../../jobs';
import { nowIso } from '../../lib/time';
import type { JobContext } from '../../ports/queue';
import { sourceKey } from '../videos';
import { codeOf, emitImported, FINAL, msgOf } from './job-common';
import type { RecordingDeps } from './service';

/** `recording.import`: a recording given by URL (POST /v1/recordings). */
export function defineImportJob(d: RecordingDeps): void {
  d.jobs.define('recording.import', { handler: (p, ctx) => runImport(d, p, ctx) });
}

/** POST /v1/recordings: the URL (a file or an HLS playlist) stored as the video's source, then processed. */
async function runImport(
  d: RecordingDeps,
  { tenantId, recordingId }: JobPayload<'recording.import'>,
  ctx: JobContext,
) {
  const rec = await d.repo.find(tenantId, recordingId);
  if (rec?.status !== 'importing' || !rec.video_id || !rec.source_url)
    return { skipped: rec?.status ?? 'gone' };
  const videoId = rec.video_id;
  if (!(await d.videos.repo.find(tenantId, videoId))) {
    await d.repo.fail(rec.id, 'gone', 'the video was deleted');
    return { skipped: 'video deleted' };
  }
  try {
    const got = await d.client.fetch(
      { tenantId, url: rec.source_url, key: sourceKey(tenantId, videoId) },
      { hashKey: rec.id, signal: ctx.signal },
    );
    await d.videos.setStatus(tenantId, videoId, 'queued', { sizeBytes: got.size });
    await d.events.emit(tenantId, 'upload.completed', videoId, {
      videoId,
      size: got.size,
      source: 'recording',
      recordingId: rec.id,
    });
    await d.jobs.enqueue('video.process', { tenantId, videoId });
    const at = nowIso();
    const done = {
      ...rec,
      status: 'imported',
      parts: 1,
      merge_mode: 'single',
      imported_at: at,
      updated_at: at,
    };
    await d.repo.update(rec.id, {
      status: 'imported',
      parts: 1,
      merge_mode: 'single',
      imported_at: at,
      updated_at: at,
    });
    await emitImported(d, done);
    return { videoId, size: got.size, kind: got.kind, segments: got.segments, ended: got.ended };
  } catch (err) {
    if (!FINAL.has(codeOf(err)) && ctx.attempt < 3 && !ctx.signal.aborted) throw err;
    await d.repo.fail(rec.id, codeOf(err), msgOf(err));
    await d.videos.fail(
      tenantId,
      videoId,
      'fetch_failed',
      `the recording could not be imported: ${msgOf(err)}`,
    );
    return { failed: codeOf(err) };
  }
}
