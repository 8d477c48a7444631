import { JOBS } from '../../../jobs';
import { current, type PipelineDeps } from '../deps';
import { deletedMeanwhile, failsVideo } from '../failure';
import type { JitEncoder } from '../jit';
import { planOf } from '../plan-state';

/** 3. the audio track (now made by video.process itself; kept for jobs enqueued by earlier versions). */
export function defineAudioStep(d: PipelineDeps, jit: JitEncoder): void {
  d.jobs.define('video.audio', {
    handler: failsVideo(d, JOBS['video.audio'].attempts, async ({ tenantId, videoId, generation }, ctx) => {
      const row = await current(d, tenantId, videoId, generation);
      if (!row) return { skipped: true };
      const plan = planOf(row);
      await jit.makeAudio(row, plan, ctx.signal);
      if (await deletedMeanwhile(d, tenantId, videoId)) return { skipped: 'deleted' };
      return { segments: plan.segments.length };
    }),
  });
}
