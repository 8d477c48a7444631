import type { ObjectStore } from '@vodcloud/storage';
import { type Jobs, jobIds } from '../../jobs';
import { newId } from '../../lib/ids';
import type { EventService } from '../events/service';
import { sourceKey, videoPrefix } from './layout';
import type { VideoService } from './service';

export interface VideoLifecycleDeps {
  videos: VideoService;
  jobs: Jobs;
  storage: ObjectStore;
  events: EventService;
  /** Removes the data of an upload still in progress (tus), by its id: the source key. */
  removeUpload(key: string): Promise<void>;
}

/**
 * What happens around a video's life, beside its own service: a delete (once its row is removed) cancels
 * every job of the video and removes its objects (then sweeps once more), a video created from a URL is
 * imported, a retranscode and a cover change enqueue their jobs, an error is announced. Wired once at
 * start-up (context.ts).
 */
export function defineVideoLifecycle(d: VideoLifecycleDeps): void {
  const { videos, jobs, storage, events } = d;
  videos.hooks.push({
    // The row is already gone (the delete that removed it runs this, once): a job that starts now finds no
    // video and stops.
    afterDelete: async (row) => {
      await d.removeUpload(sourceKey(row.tenant_id, row.id)).catch(() => undefined);
      let failed: unknown;
      try {
        await jobs.cancelVideoJobs(row);
        await storage.deletePrefix(videoPrefix(row.tenant_id, row.id));
      } catch (err) {
        failed = err;
      }
      // A job stopped by the cancel may still finish a write it had begun: sweep again a little later (this
      // sweep also finishes a removal that failed just now).
      await jobs.enqueue(
        'video.purge',
        { tenantId: row.tenant_id, videoId: row.id },
        { jobId: jobIds.purge(row.id, newId()), delayMs: 3_000 },
      );
      await events.emit(row.tenant_id, 'video.deleted', row.id, { id: row.id });
      if (failed) throw failed;
    },
    afterCreate: async (row) => {
      if (row.input_url)
        await jobs.enqueue('video.import', { tenantId: row.tenant_id, videoId: row.id, url: row.input_url });
    },
    onRetranscode: async (row, templateId) => {
      // Its own job id (recorded, so a delete cancels it while it waits).
      await jobs.enqueue(
        'video.process',
        { tenantId: row.tenant_id, videoId: row.id, templateId },
        { jobId: jobIds.retranscode(row.id, newId()) },
      );
    },
    onCoverChanged: async (row) => {
      if (row.published_generation)
        await jobs.enqueue(
          'video.cover',
          { tenantId: row.tenant_id, videoId: row.id, time: row.cover_time ?? 0 },
          { jobId: jobIds.cover(row.id, newId()) },
        );
    },
    onErrored: async (row) => {
      await events.emit(row.tenant_id, 'video.errored', row.id, {
        id: row.id,
        error: { code: row.error_code, message: row.error_message },
      });
    },
  });
  jobs.define('video.purge', {
    handler: async ({ tenantId, videoId }) => {
      if (await videos.repo.find(tenantId, videoId)) return { skipped: 'exists' };
      await storage.deletePrefix(videoPrefix(tenantId, videoId));
      return { purged: true };
    },
  });
}
