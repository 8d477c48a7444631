import { extractFrame } from '@vodcloud/media';
import { coverPosterName, imageKey } from '../../videos';
import { current, type PipelineDeps } from '../deps';

/** A new cover for a published video: a new poster object (objects of a generation are cached as immutable). */
export function defineCoverStep(d: PipelineDeps): void {
  d.jobs.define('video.cover', {
    handler: async ({ tenantId, videoId, time }, ctx) => {
      const row = await current(d, tenantId, videoId);
      if (!row?.published_generation) return { skipped: true };
      const input = await d.sources.local(tenantId, videoId, ctx.signal);
      const frame = await extractFrame(input, {
        timeSec: time,
        width: 1280,
        format: 'jpeg',
        timeoutMs: 120_000,
        signal: ctx.signal,
      });
      const name = coverPosterName(frame.timeSec);
      await d.storage.put(imageKey(tenantId, videoId, row.published_generation, name), frame.data, {
        contentType: 'image/jpeg',
      });
      const outputs = JSON.parse(row.outputs ?? '{}') as { images?: Record<string, unknown> };
      outputs.images = { ...(outputs.images ?? {}), poster: name, posterTime: frame.timeSec };
      await d.videos.repo.setCover(tenantId, videoId, outputs);
      return { poster: name };
    },
  });
}
