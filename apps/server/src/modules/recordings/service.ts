import type { CreateRecording, Recording } from '@vodcloud/contracts';
import type { ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import type { RecordingHooksTable, RecordingsTable } from '../../db/schema';
import { type Jobs, jobIds } from '../../jobs';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { isoAt, nowIso } from '../../lib/time';
import type { EventService } from '../events/service';
import type { Client, recordingService } from '../rpc';
import type { VideoService } from '../videos/service';
import type { RecordingRepository } from './repository';
import { recordingView, settingsOf } from './views';

export interface RecordingDeps {
  repo: RecordingRepository;
  videos: VideoService;
  jobs: Jobs;
  events: EventService;
  storage: ObjectStore;
  client: Client<typeof recordingService>;
  log: Logger;
}

/** What a recorder's callback says about its stream. */
export interface StreamCall {
  recorder: 'nginx-rtmp' | 'srs';
  app: string;
  name: string;
  clientId: string | null;
}

/** Where the reported file is: a path to read (already checked on receipt) or a URL to download. */
export type PartLocation = { kind: 'path'; path: string } | { kind: 'url'; url: string };

/** Object key of a recorder's file until its recording is final (parts of one broadcast, then merged). */
export const partKey = (tenantId: string, partId: string) => `${tenantId}/recording-parts/${partId}`;

/**
 * Live recordings: a recorder's callbacks (publish, publish-done, a recorded file) and recordings imported by
 * URL. A broadcast is one recording and one video: the video is made from its first part at once (playable
 * within seconds), and when the reconnect window passes without a new part, the parts are merged into one
 * source and the video transcoded again (jobs.ts). The publish callbacks, when the recorder sends them, keep a
 * recording open while the stream is live, so a long broadcast split by the recorder stays one video.
 */
export class RecordingService {
  constructor(private readonly d: RecordingDeps) {}

  /** The stream went live: a recording still open (a reconnect within the window) continues, else a new one. */
  async published(hook: RecordingHooksTable, call: StreamCall): Promise<void> {
    const now = Date.now();
    const open = await this.d.repo.open(hook.id, call.app, call.name);
    if (open && (open.live === 1 || Date.parse(open.window_until ?? '') >= now)) {
      await this.d.repo.update(open.id, { live: 1, window_until: null, updated_at: isoAt(now) });
      return;
    }
    await this.d.repo.insert(this.newRow(hook.tenant_id, { hookId: hook.id, call, live: 1, at: isoAt(now) }));
  }

  /** The stream stopped: its recording is finalised when the reconnect window passes without a new publish. */
  async unpublished(hook: RecordingHooksTable, call: StreamCall): Promise<void> {
    const open = await this.d.repo.open(hook.id, call.app, call.name);
    if (!open) return;
    const now = Date.now();
    const until = isoAt(now + settingsOf(hook).reconnectWindowSec * 1000);
    await this.d.repo.update(open.id, { live: 0, window_until: until, updated_at: isoAt(now) });
    await this.scheduleFinalize(hook.tenant_id, open.id, until);
  }

  /** A file was recorded: noted at once (the answer to the recorder), stored and joined by a job. */
  async recorded(
    hook: RecordingHooksTable,
    call: StreamCall,
    location: PartLocation,
  ): Promise<{ partId: string }> {
    const at = nowIso();
    const id = newId();
    await this.d.repo.insertPart({
      id,
      tenant_id: hook.tenant_id,
      hook_id: hook.id,
      recording_id: null,
      seq: null,
      app: call.app,
      stream_name: call.name,
      client_id: call.clientId,
      recorder: call.recorder,
      location_kind: location.kind,
      location: location.kind === 'path' ? location.path : location.url,
      status: 'pending',
      object_key: null,
      size_bytes: null,
      duration: null,
      started_at: null,
      ended_at: at,
      error_message: null,
      created_at: at,
    });
    await this.d.repo.hookUsed(hook.id, at);
    await this.d.jobs.enqueue('recording.part', { tenantId: hook.tenant_id, partId: id });
    return { partId: id };
  }

  /** Schedules the finalisation at `until` (a new job each time: the latest one decides, the others skip). */
  async scheduleFinalize(tenantId: string, recordingId: string, until: string): Promise<void> {
    await this.d.jobs.enqueue(
      'recording.finalize',
      { tenantId, recordingId },
      {
        jobId: jobIds.recordingFinalize(recordingId, newId()),
        delayMs: Math.max(0, Date.parse(until) - Date.now()),
      },
    );
  }

  /** POST /v1/recordings: a video from a recording's URL (a file or an HLS playlist), imported by a job. */
  async createFromUrl(tenantId: string, input: CreateRecording): Promise<Recording> {
    const name = input.streamName ?? null;
    const video = await this.d.videos.create(
      tenantId,
      {
        title: input.title ?? name ?? undefined,
        templateId: input.templateId,
        categoryId: input.categoryId,
        playbackPolicy: input.playbackPolicy,
        meta: {
          recording: { streamName: name, startedAt: input.startedAt ?? null, endedAt: input.endedAt ?? null },
        },
      },
      { status: 'uploading' },
    );
    const row: RecordingsTable = {
      ...this.newRow(tenantId, { hookId: null, call: null, live: 0, at: nowIso() }),
      video_id: video.id,
      origin: 'api',
      stream_name: name,
      source_url: input.source.url,
      status: 'importing',
      started_at: input.startedAt ?? null,
      ended_at: input.endedAt ?? null,
    };
    await this.d.repo.insert(row);
    await this.d.jobs.enqueue('recording.import', { tenantId, recordingId: row.id });
    return recordingView(row);
  }

  async get(tenantId: string, id: string): Promise<Recording> {
    return recordingView(await this.require(tenantId, id));
  }

  async require(tenantId: string, id: string): Promise<RecordingsTable> {
    const row = await this.d.repo.find(tenantId, id);
    if (!row) throw new AppError('not_found', 'Recording not found');
    return row;
  }

  async list(
    tenantId: string,
    filter: { streamName?: string; status?: string },
    limit: number,
    beforeId?: string,
  ) {
    return (await this.d.repo.list(tenantId, filter, limit, beforeId)).map(recordingView);
  }

  newRow(
    tenantId: string,
    o: { hookId: string | null; call: StreamCall | null; live: 0 | 1; at: string },
  ): RecordingsTable {
    return {
      id: newId(),
      tenant_id: tenantId,
      hook_id: o.hookId,
      video_id: null,
      origin: o.call?.recorder ?? 'api',
      app: o.call?.app ?? null,
      stream_name: o.call?.name ?? null,
      client_id: o.call?.clientId ?? null,
      source_url: null,
      status: 'recording',
      live: o.live,
      parts: 0,
      merge_mode: null,
      started_at: null,
      ended_at: null,
      window_until: null,
      imported_at: null,
      error_code: null,
      error_message: null,
      created_at: o.at,
      updated_at: o.at,
    };
  }
}
