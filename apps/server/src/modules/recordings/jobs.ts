import { FileObjectStore, type ObjectStore } from '@vodcloud/storage';
import type { RecordingHooksTable, RecordingPartsTable, RecordingsTable } from '../../db/schema';
import type { JobPayload } from '../../jobs';
import { isoAt, nowIso } from '../../lib/time';
import type { JobContext } from '../../ports/queue';
import { sourceKey } from '../videos';
import { defineImportJob } from './import-job';
import { codeOf, emitImported, FINAL, msgOf } from './job-common';
import { partKey, type RecordingDeps, type RecordingService } from './service';
import { type HookSettings, settingsOf, titleFrom } from './views';

/**
 * The jobs of live recordings: a reported file stored, measured and joined to its broadcast's recording
 * (`recording.part`), a recording finalised once its reconnect window passed (`recording.finalize`: parts
 * merged, the video transcoded again), a recording given by URL imported (`recording.import`).
 */
export function defineRecordingJobs(d: RecordingDeps, service: RecordingService): void {
  d.jobs.define('recording.part', { handler: (p, ctx) => runPart(d, service, p, ctx) });
  d.jobs.define('recording.finalize', { handler: (p, ctx) => finalize(d, service, p, ctx) });
  defineImportJob(d);
}

async function runPart(
  d: RecordingDeps,
  service: RecordingService,
  { tenantId, partId }: JobPayload<'recording.part'>,
  ctx: JobContext,
) {
  let part = await d.repo.part(tenantId, partId);
  if (!part || part.status === 'failed' || part.status === 'attached')
    return { skipped: part?.status ?? 'gone' };
  const hook = await d.repo.hook(tenantId, part.hook_id);
  if (!hook) {
    await d.repo.updatePart(partId, { status: 'failed', error_message: 'the hook was deleted' });
    return { skipped: 'hook deleted' };
  }
  // The parts of one stream join in the order the recorder reported them.
  const earlier = (await d.repo.pendingParts(hook.id, part.app, part.stream_name, part.id)).length;
  if (earlier > 0) throw new Error(`${earlier} earlier part(s) of the stream are still being stored`);
  if (part.status === 'pending') {
    const key = partKey(tenantId, partId);
    try {
      const media = await d.client.ingest(
        {
          tenantId,
          location:
            part.location_kind === 'path'
              ? { kind: 'path', path: part.location }
              : { kind: 'url', url: part.location },
          key,
          deleteAfter: settingsOf(hook).deleteAfterImport,
        },
        { hashKey: `${hook.id}/${part.stream_name}`, signal: ctx.signal },
      );
      const ended = Date.parse(part.ended_at);
      await d.repo.updatePart(partId, {
        status: 'stored',
        object_key: key,
        size_bytes: media.size,
        duration: media.durationSec,
        started_at: isoAt(ended - media.durationSec * 1000),
      });
    } catch (err) {
      if (!FINAL.has(codeOf(err)) && ctx.attempt < 5 && !ctx.signal.aborted) throw err;
      await d.repo.updatePart(partId, { status: 'failed', error_message: msgOf(err) });
      d.log.warn({ err, partId, path: part.location }, 'recording part not imported');
      return { failed: codeOf(err) };
    }
    part = (await d.repo.part(tenantId, partId))!;
  }
  return attach(d, service, hook, part);
}

/**
 * Joins a stored part to its stream's open recording when it started within the reconnect window of the
 * previous part's end (or the stream is live), else starts a new recording and its video. A recording's first
 * part becomes its video's source at once, so the broadcast is playable within seconds.
 */
async function attach(
  d: RecordingDeps,
  service: RecordingService,
  hook: RecordingHooksTable,
  part: RecordingPartsTable,
) {
  const s = settingsOf(hook);
  const started = Date.parse(part.started_at ?? part.ended_at);
  let rec = await d.repo.open(hook.id, part.app, part.stream_name);
  const joins = rec && (rec.live === 1 || rec.parts === 0 || Date.parse(rec.window_until ?? '') >= started);
  if (!rec || !joins) {
    rec = service.newRow(hook.tenant_id, {
      hookId: hook.id,
      call: {
        recorder: part.recorder as 'nginx-rtmp' | 'srs',
        app: part.app,
        name: part.stream_name,
        clientId: part.client_id,
      },
      live: 0,
      at: nowIso(),
    });
    await d.repo.insert(rec);
  }
  const seq = rec.parts + 1;
  const startedAt = rec.started_at ?? isoAt(started);
  // Each step can be run again by a retry of this job: the video is recorded on the recording as soon as it
  // exists, the part is marked attached last.
  let videoId = rec.video_id;
  if (!videoId) {
    videoId = (await createVideo(d, hook, s, rec, startedAt)).id;
    await d.repo.update(rec.id, { video_id: videoId, updated_at: nowIso() });
  }
  if (seq === 1) await becomeSource(d, hook.tenant_id, videoId, rec.id, part);
  const until = rec.live === 1 ? null : isoAt(Date.parse(part.ended_at) + s.reconnectWindowSec * 1000);
  await d.repo.update(rec.id, {
    parts: seq,
    started_at: startedAt,
    ended_at: part.ended_at,
    window_until: until,
    client_id: part.client_id ?? rec.client_id,
    updated_at: nowIso(),
  });
  await d.repo.updatePart(part.id, { recording_id: rec.id, seq, status: 'attached' });
  if (until) await service.scheduleFinalize(hook.tenant_id, rec.id, until);
  return { recordingId: rec.id, videoId, seq };
}

/** A recording's first part becomes its video's source, and the video is processed (playable in seconds). */
async function becomeSource(
  d: RecordingDeps,
  tenantId: string,
  videoId: string,
  recordingId: string,
  part: RecordingPartsTable,
): Promise<void> {
  const source = sourceKey(tenantId, videoId);
  if (part.object_key !== source) {
    await moveObject(d.storage, part.object_key!, source);
    // The first part now lives at the source key (a later merge reads it from there).
    await d.repo.updatePart(part.id, { object_key: source });
  }
  const size = Number(part.size_bytes);
  await d.videos.setStatus(tenantId, videoId, 'queued', { sizeBytes: size });
  await d.events.emit(tenantId, 'upload.completed', videoId, {
    videoId,
    size,
    source: 'recording',
    recordingId,
  });
  await d.jobs.enqueue('video.process', { tenantId, videoId });
}

async function createVideo(
  d: RecordingDeps,
  hook: RecordingHooksTable,
  s: HookSettings,
  rec: RecordingsTable,
  startedAt: string,
) {
  const app = rec.app ?? '';
  const name = rec.stream_name ?? '';
  return d.videos.create(
    hook.tenant_id,
    {
      title: titleFrom(s.titleTemplate, { app, name, startedAt }),
      templateId: s.templateId ?? undefined,
      categoryId: s.categoryId,
      playbackPolicy: s.playbackPolicy ?? undefined,
      meta: { recording: recordingMeta(rec, { startedAt }) },
    },
    { status: 'uploading' },
  );
}

/** The video's `meta.recording`: where it came from and when. */
function recordingMeta(rec: RecordingsTable, over: Partial<Record<string, unknown>> = {}) {
  return {
    id: rec.id,
    app: rec.app,
    streamName: rec.stream_name,
    clientId: rec.client_id,
    startedAt: rec.started_at,
    endedAt: rec.ended_at,
    parts: rec.parts,
    ...over,
  };
}

/** The reconnect window passed: the parts become one source (merged when several) and the event is sent. */
async function finalize(
  d: RecordingDeps,
  service: RecordingService,
  { tenantId, recordingId }: JobPayload<'recording.finalize'>,
  ctx: JobContext,
) {
  const rec = await d.repo.find(tenantId, recordingId);
  if (rec?.status !== 'recording') return { skipped: rec?.status ?? 'gone' };
  if (rec.live === 1 || !rec.window_until) return { skipped: 'live' };
  if (Date.parse(rec.window_until) > Date.now()) return { skipped: 'window extended' };
  // A part reported meanwhile and not joined yet may belong here: decide once it has been.
  if (
    rec.hook_id &&
    (await d.repo.pendingParts(rec.hook_id, rec.app ?? '', rec.stream_name ?? '')).length > 0
  ) {
    await service.scheduleFinalize(tenantId, rec.id, isoAt(Date.now() + 2000));
    return { skipped: 'parts pending' };
  }
  if (
    !(await d.repo.transition(
      rec.id,
      { status: 'recording', windowUntil: rec.window_until },
      { status: 'importing', updated_at: nowIso() },
    ))
  )
    return { skipped: 'raced' };
  const all = await d.repo.parts(rec.id);
  // A recorder may close a file a few milliseconds into a split (nginx-rtmp's last part of 3 ms, audio only):
  // such a sliver is not merged, it would only force a re-encode.
  const long = all.filter((p) => (p.duration ?? 0) >= 0.1);
  const parts = long.length > 0 ? long : all.slice(0, 1);
  const video = rec.video_id ? await d.videos.repo.find(tenantId, rec.video_id) : undefined;
  if (!video || all.length === 0) {
    // A broadcast whose files all failed (or that the recorder never wrote) is kept as failed, for the operator.
    if (rec.video_id && !video)
      await d.repo.fail(rec.id, 'video_deleted', 'the video was deleted while it was recorded');
    else await d.repo.fail(rec.id, 'no_file', 'no usable recorded file was reported for this broadcast');
    await removeParts(d, all);
    return { skipped: 'no video' };
  }
  let mode: 'single' | 'copy' | 'reencode' = 'single';
  // The first part is the video's source already; anything else is merged into a new one.
  if (parts.length > 1 || parts[0]!.seq !== 1) {
    try {
      const merged = await d.client.merge(
        {
          tenantId,
          recordingId: rec.id,
          keys: parts.map((p) => p.object_key!),
          outKey: sourceKey(tenantId, video.id),
        },
        { hashKey: rec.id, signal: ctx.signal },
      );
      mode = merged.mode;
      await d.videos.repo.update(tenantId, video.id, { size_bytes: merged.size, updated_at: nowIso() });
    } catch (err) {
      // Back to collecting so the retry finds it; the last attempt keeps the first part's video as it is.
      if (ctx.attempt < 5 && !FINAL.has(codeOf(err))) {
        await d.repo.update(rec.id, { status: 'recording', updated_at: nowIso() });
        throw err;
      }
      await d.repo.fail(rec.id, codeOf(err), msgOf(err));
      return { failed: codeOf(err) };
    }
    // A new generation from the merged source; the first part's outputs keep playing until it is published.
    // Every video records its template when created (VideoService.create).
    await d.videos.retranscode(tenantId, video.id, video.template_id!);
  }
  const done = { ...rec, status: 'imported', merge_mode: mode, imported_at: nowIso(), updated_at: nowIso() };
  await d.repo.update(rec.id, {
    status: 'imported',
    merge_mode: mode,
    imported_at: done.imported_at,
    updated_at: done.updated_at,
  });
  await d.videos.update(tenantId, video.id, {
    meta: { ...metaOf(video.meta), recording: recordingMeta(done) },
  });
  await emitImported(d, done);
  await removeParts(d, all);
  return { videoId: video.id, parts: parts.length, mode };
}

const metaOf = (json: string) => {
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
};

/** The parts' own objects (not the first part's, which is the video's source). */
async function removeParts(d: RecordingDeps, parts: RecordingPartsTable[]) {
  for (const p of parts)
    if (p.object_key && p.object_key === partKey(p.tenant_id, p.id))
      await d.storage.delete(p.object_key).catch(() => undefined);
}

/**
 * An object moved to another key: with the file store its file is renamed into place (a recording's first
 * part becomes the video's source at once, however large), else copied (S3: server-side) and removed.
 */
async function moveObject(storage: ObjectStore, from: string, to: string): Promise<void> {
  if (storage instanceof FileObjectStore) {
    const file = await storage.localPath(from);
    if (file) {
      await storage.adoptFile(to, file);
      await storage.delete(from);
      return;
    }
  }
  await storage.copy(from, to);
  await storage.delete(from);
}
