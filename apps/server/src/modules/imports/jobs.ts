import type { ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import { JOBS, type Jobs } from '../../jobs';
import { UnrecoverableJobError } from '../../ports/queue';
import type { EventService } from '../events/service';
import { sourceKey } from '../videos';
import type { VideoService } from '../videos/service';
import { FetchError, fetchToStorage } from './fetcher';

/** Failures worth another try: the network or the remote server may recover. */
const transient = (err: FetchError) =>
  err.code === 'network' ||
  err.code === 'timeout' ||
  (err.code === 'http_status' && (err.status ?? 0) >= 500);

export interface ImportJobDeps {
  config: Config;
  jobs: Jobs;
  storage: ObjectStore;
  videos: VideoService;
  events: EventService;
  log: Logger;
}

export const IMPORT_ATTEMPTS = JOBS['video.import'].attempts;

export function defineImportJobs(d: ImportJobDeps): void {
  d.jobs.define('video.import', {
    timeoutMs: d.config.fetchTimeoutMs + 60_000,
    handler: async ({ tenantId, videoId, url }, ctx) => {
      const key = sourceKey(tenantId, videoId);
      try {
        const result = await fetchToStorage({
          url,
          store: d.storage,
          key,
          maxBytes: d.config.fetchMaxBytes,
          timeoutMs: d.config.fetchTimeoutMs,
          allowHosts: d.config.fetchAllowHosts,
          signal: ctx.signal,
        });
        await d.videos.setStatus(tenantId, videoId, 'queued', { sizeBytes: result.size });
        await d.events.emit(tenantId, 'upload.completed', videoId, {
          videoId,
          size: result.size,
          source: 'url',
          url: result.finalUrl,
        });
        await d.jobs.enqueue('video.process', { tenantId, videoId });
        return { size: result.size, redirects: result.redirects };
      } catch (err) {
        if (!(err instanceof FetchError)) throw err; // storage or database trouble: retried by the queue
        const last = ctx.attempt >= IMPORT_ATTEMPTS;
        if (transient(err) && !last) throw err;
        await d.videos.fail(tenantId, videoId, 'fetch_failed', err.message);
        throw new UnrecoverableJobError(err.message);
      }
    },
  });
}
