import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { chunkArgs, runFfmpeg } from '@vodcloud/media';
import { JOBS } from '../../../jobs';
import { current, type PipelineDeps, workDir } from '../deps';
import { deletedMeanwhile, failsVideo } from '../failure';
import { encodedRenditions, planOf } from '../plan-state';
import { storeSegments } from '../segment-store';
import { watermarkFor } from '../watermark';

/** 2. one chunk of consecutive segments, every rendition, one decode. */
export function defineChunkStep(d: PipelineDeps): void {
  const { videos } = d;
  d.jobs.define('video.chunk', {
    handler: failsVideo(
      d,
      JOBS['video.chunk'].attempts,
      async ({ tenantId, videoId, generation, chunk }, ctx) => {
        const row = await current(d, tenantId, videoId, generation);
        if (!row) return { skipped: true };
        const plan = planOf(row);
        const segs = plan.chunks[chunk]!.map((i) => plan.segments[i]!);
        const renditions = encodedRenditions(plan);
        const input = await d.sources.local(tenantId, videoId, ctx.signal);
        const dir = await workDir(d, videoId, generation, `c${chunk}`);
        try {
          for (const r of renditions) await mkdir(path.join(dir, r.name), { recursive: true });
          const start = segs[0]!.start;
          const end = segs.at(-1)!.end;
          const args = chunkArgs({
            input,
            startSec: start,
            endSec: end,
            segments: segs,
            renditions,
            outDir: dir,
            deinterlace: plan.ladder.deinterlace,
            watermark: await watermarkFor(d, tenantId, videoId, plan, dir),
          });
          let unyield: (() => void) | undefined;
          await runFfmpeg(args, {
            timeoutMs: Math.max(300_000, (end - start) * 60_000),
            signal: ctx.signal,
            // Background work yields to the path to playable: niced (CFS weight 110 vs 1024), and stopped
            // while this node runs foreground work (a process step, a just-in-time segment: someone waits),
            // as nice alone still left those starting behind the busy cores (lib/foreground.ts).
            nice: 10,
            onSpawn: (pid) => {
              unyield = d.foreground?.yieldsTo(pid);
            },
          }).finally(() => unyield?.());
          for (const r of renditions) d.metrics?.transcoded.inc({ rendition: `${r.height}p` }, end - start);
          for (const r of renditions)
            await storeSegments(
              d,
              row,
              plan,
              r.name,
              segs.map((x) => x.index),
              dir,
              true,
            );
          if (await deletedMeanwhile(d, tenantId, videoId)) return { skipped: 'deleted' };
          const done = await videos.repo.bumpChunks(tenantId, videoId, generation);
          await videos.repo.setProgress(
            tenantId,
            videoId,
            Math.min(0.95, 0.05 + (0.85 * done) / plan.chunks.length),
          );
          return { segments: segs.length };
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    ),
  });
}
