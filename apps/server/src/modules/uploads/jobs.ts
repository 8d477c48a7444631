import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { FileObjectStore, type ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import { Jobs, jobIds } from '../../jobs';
import type { JobQueue } from '../../ports/queue';
import { UnrecoverableJobError } from '../../ports/queue';
import { parseSourceKey, sourceKey } from '../videos';
import type { UploadService } from './service';
import type { TusHandle } from './tus';

export interface UploadJobDeps {
  jobs: Jobs;
  storage: ObjectStore;
  uploads: UploadService;
  /** The tus server, made on first use (a node that never runs these jobs never loads it). */
  tus: () => Promise<TusHandle>;
  log: Logger;
  /** How long an upload may stay unfinished: an open multipart upload older than that has no live upload. */
  uploadExpiresInSec: number;
}

export function defineUploadJobs(d: UploadJobDeps): void {
  /**
   * Puts a finished upload's bytes at {tenant}/{video}/source and starts processing. With S3 they are
   * already there (tus wrote them with multipart); with the file store they are published into the
   * object store atomically, then the tus file is removed. Re-running is harmless.
   */
  d.jobs.define('upload.finalize', {
    handler: async ({ tenantId, videoId }) => {
      const key = sourceKey(tenantId, videoId);
      const tus = await d.tus();
      const file = tus.filePath(key);
      if (file) {
        const st = await stat(file).catch(() => undefined);
        if (st) {
          if (d.storage instanceof FileObjectStore) {
            // Same disk: the finished upload is renamed into place, not copied.
            await d.storage.adoptFile(key, file, { contentType: 'application/octet-stream' });
          } else {
            await d.storage.put(key, createReadStream(file, { highWaterMark: 1 << 20 }), {
              contentLength: st.size,
              contentType: 'application/octet-stream',
            });
          }
          await tus.remove(key);
        }
      }
      const head = await d.storage.head(key);
      if (!head) throw new UnrecoverableJobError(`the source of video ${videoId} is missing at ${key}`);
      // A finished upload has no multipart upload left open: any still open under its key leaked.
      const { abortLeftoverMultiparts } = await import('./tus-store');
      const leftover = await abortLeftoverMultiparts(tus.store, key);
      if (leftover)
        d.log.warn({ key, aborted: leftover }, 'aborted multipart uploads left open by an upload');
      await d.jobs.enqueue('video.process', { tenantId, videoId });
      return { key, size: head.size };
    },
  });

  /**
   * Expires stale uploads, completes any whose completion was interrupted (e.g. the node died in the hook),
   * and aborts leaked S3 multipart uploads (`sweepMultiparts`).
   */
  d.jobs.define('uploads.sweep', {
    handler: async () => {
      const tus = await d.tus();
      return {
        expired: await d.uploads.expire((tusId) => tus.remove(tusId)),
        abortedMultiparts: await sweepMultiparts(d),
        recovered: await d.uploads.reconcile(async (tusId) => {
          try {
            const u = await tus.datastore.getUpload(tusId);
            return u.size !== undefined && u.offset === u.size ? u.size : undefined;
          } catch {
            return undefined;
          }
        }),
      };
    },
  });
}

/**
 * Aborts the S3 multipart uploads of source keys started before `now` less the upload expiry (an hour at
 * least: an import writes its source with multipart too, without an upload row) whose key has no live
 * upload: a live upload that old would have expired. Any such multipart leaked.
 */
export async function sweepMultiparts(
  d: Pick<UploadJobDeps, 'tus' | 'uploads' | 'uploadExpiresInSec'>,
  now = new Date(),
): Promise<number> {
  const { abortStaleMultiparts } = await import('./tus-store');
  return abortStaleMultiparts(
    (await d.tus()).store,
    new Date(now.getTime() - Math.max(d.uploadExpiresInSec, 3600) * 1000),
    async (key) => !parseSourceKey(key) || (await d.uploads.isLive(key)),
  );
}

/** Every node with the worker role enqueues the periodic expiry sweep; the job id dedupes it cluster-wide. */
export function scheduleUploadExpiry(queue: JobQueue, log: Logger, everyMs = 60_000): () => void {
  const jobs = new Jobs(queue);
  const tick = () => {
    const slot = Math.floor(Date.now() / everyMs);
    jobs
      .enqueue('uploads.sweep', { at: new Date().toISOString() }, { jobId: jobIds.uploadsSweep(slot) })
      .catch((err) => log.warn({ err }, 'could not schedule the upload expiry sweep'));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
