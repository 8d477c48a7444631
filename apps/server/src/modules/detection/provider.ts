import type { QcResult } from '@vodcloud/contracts';
import { analyzeMedia, isMediaError, type QcResult as MediaQc } from '@vodcloud/media';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import { AppError } from '../../lib/errors';
import type { Foreground } from '../../lib/foreground';
import type { SourceCache } from '../pipeline';
import type { detectionService, Impl } from '../rpc';
import type { VideoService } from '../videos/service';
import type { DetectionMetrics } from './metrics';
import { type Classifier, MODEL_NAME } from './model/classifier';
import { FrameScorer } from './scorer';

interface ProviderDeps {
  node: () => string | undefined;
  videos: VideoService;
  sources: SourceCache;
  classifier: Classifier;
  config: Config['detection'];
  metrics: DetectionMetrics;
  /** Detection's ffmpeg is stopped while this node's foreground work runs (process steps, JIT encodes). */
  foreground?: Foreground;
  log: Logger;
}

/**
 * The `detection` RPC service, provided by workers: one decode of the video's source (ffmpeg, at background
 * priority and nice) yields the quality checks and the sampled frames, which the model scores in its worker
 * thread while the decode goes on. This process's event loop only moves frames between the two.
 */
export function detectionProvider(d: ProviderDeps): Impl<typeof detectionService> {
  return {
    async analyze({ tenantId, videoId, qc, moderation }, ctx) {
      const row = await d.videos.getRow(tenantId, videoId); // 404 for another tenant's or a missing video
      const source = row.source_info
        ? (JSON.parse(row.source_info) as { videoCodec?: string | null; audioCodec?: string | null })
        : null;
      if (!source) throw new AppError('conflict', 'The video has no probed source to analyse yet');
      const hasVideo = Boolean(source.videoCodec);
      const hasAudio = Boolean(source.audioCodec);
      const input = await d.sources.local(tenantId, videoId, ctx.signal);
      const scorer = moderation && hasVideo ? new FrameScorer(d.classifier, ctx.signal) : null;
      let unyield: (() => void) | undefined;
      try {
        const out = await analyzeMedia(input, {
          durationSec: row.duration ?? 0,
          hasVideo,
          hasAudio,
          thresholds: thresholdsOf(d.config.qc),
          frames:
            scorer && moderation
              ? {
                  intervalSec: moderation.intervalSec,
                  max: moderation.maxFrames,
                  size: 224,
                  onFrame: (f) => scorer.add(f),
                }
              : undefined,
          timeoutMs: Math.max(1000, ctx.deadline - Date.now()),
          signal: ctx.signal,
          nice: d.config.nice,
          onSpawn: (pid) => {
            unyield = d.foreground?.yieldsTo(pid);
          },
        });
        const frames = scorer ? await scorer.finish() : null;
        if (frames) d.metrics.frames.inc(frames.length);
        return {
          node: d.node() ?? 'unregistered',
          qc: qc ? publicQc(out.qc) : null,
          moderation: frames ? { model: MODEL_NAME, frames } : null,
          timings: { qcMs: Math.round(out.ms), moderationMs: scorer ? Math.round(scorer.modelMs) : null },
        };
      } catch (err) {
        scorer?.abandon();
        // ffmpeg ended by a signal nobody here sent (the OOM killer, an operator): not the file's fault,
        // so the job tries again (elsewhere, if this node is going away) instead of failing the video.
        if (isMediaError(err) && err.code === 'ffmpeg_failed' && err.signal)
          throw new AppError('unavailable', `ffmpeg was killed (${err.signal}) during the analysis; retried`);
        if (isMediaError(err) && err.code === 'ffmpeg_failed')
          throw new AppError(
            'unsupported_media',
            `The source could not be analysed: ${err.message.slice(0, 300)}`,
          );
        throw err;
      } finally {
        unyield?.();
      }
    },
  };
}

/** The contract's QC result (the media package also returns idet counts and scene times, for frame picking). */
function publicQc(q: MediaQc): QcResult {
  return {
    black: q.black,
    freeze: q.freeze,
    silence: q.silence,
    loudness: q.loudness,
    interlaced: q.interlaced,
    crop: q.crop,
    sceneChanges: q.sceneChanges,
  };
}

/** The configured thresholds as the media package names them. */
function thresholdsOf(c: Config['detection']['qc']) {
  return {
    blackMinSec: c.blackMinSec,
    blackPixel: c.blackPixel,
    freezeMinSec: c.freezeMinSec,
    freezeNoiseDb: c.freezeNoiseDb,
    silenceMinSec: c.silenceMinSec,
    silenceNoiseDb: c.silenceNoiseDb,
    sceneThreshold: c.sceneThreshold,
  };
}
