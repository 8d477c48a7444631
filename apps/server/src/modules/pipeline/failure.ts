import { isMediaError } from '@vodcloud/media';
import { type JobContext, UnrecoverableJobError } from '../../ports/queue';
import { videoPrefix } from '../videos';
import type { PipelineDeps } from './deps';

/**
 * A pipeline step that fails for good (last attempt, or unrecoverable) errors its video, so no video
 * stays in `processing`: media trouble is `malformed_media` with ffmpeg's first words, anything else
 * `internal` (and logged). A step cancelled because its video went away changes nothing.
 */
export const failsVideo =
  <P extends { tenantId: string; videoId: string }, R>(
    d: PipelineDeps,
    attempts: number,
    fn: (p: P, ctx: JobContext) => Promise<R>,
  ) =>
  async (p: P, ctx: JobContext): Promise<R> => {
    try {
      return await fn(p, ctx);
    } catch (err) {
      const last = err instanceof UnrecoverableJobError || ctx.attempt >= attempts;
      if (last && !ctx.signal.aborted) await failVideo(d, p, ctx, err);
      throw err;
    }
  };

async function failVideo(
  d: PipelineDeps,
  p: { tenantId: string; videoId: string },
  ctx: JobContext,
  err: unknown,
): Promise<void> {
  const row = await d.videos.repo.find(p.tenantId, p.videoId);
  if (!row || row.status === 'errored') return;
  if (isMediaError(err)) {
    const first = err.message.split('\n')[0]!.slice(0, 300);
    await d.videos.fail(
      p.tenantId,
      p.videoId,
      'malformed_media',
      `the media could not be processed: ${first}`,
    );
  } else if (err instanceof UnrecoverableJobError) {
    await d.videos.fail(p.tenantId, p.videoId, 'malformed_media', err.message);
  } else {
    d.log.error({ err, job: ctx.name, videoId: p.videoId }, 'processing failed');
    await d.videos.fail(
      p.tenantId,
      p.videoId,
      'internal',
      `processing failed in ${ctx.name}; the error was logged`,
    );
  }
}

/**
 * A video deleted while a job was writing its objects: the delete already removed the prefix, so the
 * job removes what it wrote after that and reports it skipped.
 */
export async function deletedMeanwhile(d: PipelineDeps, tenantId: string, videoId: string): Promise<boolean> {
  if (await d.videos.repo.find(tenantId, videoId)) return false;
  await d.storage.deletePrefix(videoPrefix(tenantId, videoId));
  return true;
}
