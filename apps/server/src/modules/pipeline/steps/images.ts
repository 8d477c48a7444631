import { choosePoster, extractFrame } from '@vodcloud/media';
import type { VideosTable } from '../../../db/schema';
import { JOBS } from '../../../jobs';
import { imageKey, POSTER } from '../../videos';
import { current, type PipelineDeps } from '../deps';
import { deletedMeanwhile, failsVideo } from '../failure';
import { planOf, type VideoPlan } from '../plan-state';

/**
 * 4. the poster. On the `io` queue class, so it runs beside the chunks instead of after them (a few seeks, no
 * full decode); its ffmpeg runs are background work that yields to the path to playable like the chunks'.
 */
export function defineImagesStep(d: PipelineDeps): void {
  d.jobs.define('video.images', {
    handler: failsVideo(d, JOBS['video.images'].attempts, async ({ tenantId, videoId, generation }, ctx) => {
      const row = await current(d, tenantId, videoId, generation);
      if (!row) return { skipped: true };
      const plan = planOf(row);
      const input = await d.sources.local(tenantId, videoId, ctx.signal);
      const yielding: Array<() => void> = [];
      const run: ImageRun = {
        signal: ctx.signal,
        nice: 10,
        onSpawn: d.foreground ? (pid) => yielding.push(d.foreground!.yieldsTo(pid)) : undefined,
      };
      const images = await makeImages(input, plan, row, run).finally(() => {
        for (const unyield of yielding) unyield();
      });
      for (const [name, body, type] of images.files)
        await d.storage.put(imageKey(tenantId, videoId, generation, name), body, { contentType: type });
      if (await deletedMeanwhile(d, tenantId, videoId)) return { skipped: 'deleted' };
      return images.summary;
    }),
  });
}

interface ImageRun {
  signal: AbortSignal;
  nice: number;
  onSpawn: ((pid: number) => void) | undefined;
}

/** The poster: the cover frame when one was chosen, else a representative non-black one (a few seeks, no full decode). */
async function makeImages(
  input: string,
  plan: VideoPlan,
  row: VideosTable,
  run: ImageRun,
): Promise<{ files: Array<[string, Buffer | string, string]>; summary: Record<string, unknown> }> {
  const files: Array<[string, Buffer | string, string]> = [];
  let posterTime: number;
  if (row.cover_time !== null && row.cover_time !== undefined) {
    const frame = await extractFrame(input, {
      timeSec: row.cover_time,
      width: 1280,
      format: 'jpeg',
      timeoutMs: 120_000,
      ...run,
    });
    files.push([POSTER, frame.data, 'image/jpeg']);
    posterTime = row.cover_time;
  } else {
    const poster = await choosePoster(input, { durationSec: plan.durationSec, timeoutMs: 120_000, ...run });
    files.push([POSTER, poster.jpeg, 'image/jpeg']);
    posterTime = poster.timeSec;
  }
  return {
    files,
    summary: { poster: POSTER, posterTime },
  };
}
