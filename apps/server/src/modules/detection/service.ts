import type { Detection, DetectionPolicy } from '@vodcloud/contracts';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { VideosTable } from '../../db/schema';
import { type JobPayload, type Jobs, jobIds } from '../../jobs';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import { type JobContext, UnrecoverableJobError } from '../../ports/queue';
import type { EventService } from '../events/service';
import type { Client, detectionService } from '../rpc';
import type { VideoService } from '../videos/service';
import type { DetectionMetrics } from './metrics';
import type { DetectionPolicies } from './policy';
import { capQc, decide, detectionOf, summarizeModeration } from './result';

export interface DetectionDeps {
  config: Config['detection'];
  videos: VideoService;
  jobs: Jobs;
  events: EventService;
  policies: DetectionPolicies;
  /** The `detection` RPC service (workers provide it; load-balanced and failed over by the RPC layer). */
  client: Client<typeof detectionService>;
  metrics: DetectionMetrics;
  log: Logger;
}

/** Attempts of video.detect (the registry's), after which the detection is marked failed. */
const ATTEMPTS = 3;
/** Errors a retry cannot fix: the source cannot be analysed, the video is gone. */
const FINAL_CODES = new Set(['unsupported_media', 'not_found', 'conflict']);

/** States of a video whose source is stored and probed: detection can read it. */
const HAS_SOURCE = ['processing', 'ready', 'blocked'];

/**
 * Detection of a video: scheduled when it becomes playable (never before: it must not delay playback) or on
 * demand; run by the `video.detect` job on its own resource class, which calls the `detection` RPC service,
 * applies the tenant's policy to the scores, stores the result and announces `video.detection_completed`.
 */
export class DetectionService {
  constructor(private readonly d: DetectionDeps) {}

  /** Whether the tenant's policy holds new videos until their moderation completed (policy `hold`). */
  private holds(policy: DetectionPolicy): boolean {
    return this.d.config.enabled && policy.enabled && policy.moderation.enabled && policy.moderation.hold;
  }

  /** A new video (before any byte is in): held from the start when the policy says so. */
  async onCreate(row: VideosTable): Promise<void> {
    if (!this.holds(await this.d.policies.get(row.tenant_id))) return;
    await this.d.videos.repo.update(row.tenant_id, row.id, { review_status: 'checking' });
  }

  /** The automatic run of a new video: once per video, when the platform and the tenant's policy want it. */
  async schedule(tenantId: string, videoId: string): Promise<void> {
    const row = await this.d.videos.repo.find(tenantId, videoId);
    if (!row || row.detection) return; // deleted, or detected already (a retranscode keeps its source)
    const policy = await this.d.policies.get(tenantId);
    const runs = this.d.config.enabled && policy.enabled && (policy.qc || policy.moderation.enabled);
    if (!runs || (row.review_status === 'checking' && !this.holds(policy))) {
      // The policy changed since the video was created: nothing holds it any more.
      if (row.review_status === 'checking')
        await this.d.videos.repo.update(tenantId, videoId, { review_status: null, updated_at: nowIso() });
      if (!runs) return;
    }
    await this.write(row, pending(null));
    // Low priority within its class: on-demand runs (default priority) go first.
    await this.d.jobs.enqueue('video.detect', { tenantId, videoId }, { priority: -10 });
  }

  /** POST /v1/videos/{id}/detect: runs again now; the previous result stays until the new one is complete. */
  async request(tenantId: string, videoId: string): Promise<VideosTable> {
    const row = await this.d.videos.getRow(tenantId, videoId);
    if (!HAS_SOURCE.includes(row.status) || !row.source_info)
      throw new AppError('conflict', 'The video has no processed source to analyse yet');
    const request = newId();
    await this.write(row, pending(detectionOf(row)));
    await this.d.jobs.enqueue(
      'video.detect',
      { tenantId, videoId, request },
      { jobId: jobIds.detectRun(videoId, request) },
    );
    return this.d.videos.getRow(tenantId, videoId);
  }

  /** The video.detect job. */
  async run(p: JobPayload<'video.detect'>, ctx: JobContext): Promise<unknown> {
    const { tenantId, videoId } = p;
    const row = await this.d.videos.repo.find(tenantId, videoId);
    if (!row) return { skipped: 'deleted' };
    const policy = await this.d.policies.get(tenantId);
    const before = detectionOf(row) ?? pending(null);
    await this.write(row, { ...before, status: 'running' });
    try {
      const duration = row.duration ?? 0;
      const out = await this.d.client.analyze(
        {
          tenantId,
          videoId,
          qc: policy.qc,
          moderation: policy.moderation.enabled
            ? { intervalSec: policy.moderation.intervalSec, maxFrames: policy.moderation.maxFrames }
            : null,
        },
        // A decode at background priority: allow five times the duration on top of ten minutes.
        {
          hashKey: videoId,
          timeoutMs: Math.min(2 * 3600_000, 600_000 + duration * 5000),
          signal: ctx.signal,
        },
      );
      const moderation = out.moderation
        ? summarizeModeration(out.moderation, policy.moderation.thresholds)
        : null;
      const { action, review } = decide(moderation, policy.moderation.action, before.review);
      const done: Detection = {
        status: 'completed',
        qc: out.qc ? capQc(out.qc) : null,
        moderation,
        action,
        review,
        error: null,
        requestedAt: before.requestedAt,
        completedAt: nowIso(),
        timings: out.timings,
      };
      return await this.complete(tenantId, videoId, done, out.node);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'internal';
      const last = ctx.attempt >= ATTEMPTS || FINAL_CODES.has(code) || err instanceof UnrecoverableJobError;
      if (!last || ctx.signal.aborted) throw err;
      const fresh = await this.d.videos.repo.find(tenantId, videoId);
      // A video held until checked that could not be checked goes to a moderator.
      const toReview = fresh?.review_status === 'checking';
      const failed: Detection = {
        ...before,
        status: 'failed',
        error: { code, message: (err as Error).message.slice(0, 500) },
        completedAt: nowIso(),
        ...(toReview
          ? {
              action: 'review' as const,
              review: { status: 'pending' as const, decidedAt: null, decidedBy: null },
            }
          : {}),
      };
      if (fresh) await this.write(fresh, failed);
      this.d.log.warn({ err, videoId }, 'detection failed');
      this.d.metrics.runs.inc({ outcome: 'failed', action: failed.action });
      await this.d.events.emit(tenantId, 'video.detection_completed', videoId, {
        id: videoId,
        detection: failed,
      });
      throw new UnrecoverableJobError(`detection failed: ${(err as Error).message}`);
    }
  }

  /** Stores a completed result, applies its action, and announces it. */
  private async complete(tenantId: string, videoId: string, done: Detection, node: string) {
    const row = await this.d.videos.repo.find(tenantId, videoId);
    if (!row) return { skipped: 'deleted' };
    await this.write(row, done);
    this.d.metrics.runs.inc({ outcome: 'completed', action: done.action });
    if (done.timings?.qcMs != null) this.d.metrics.seconds.observe({ part: 'qc' }, done.timings.qcMs / 1000);
    if (done.timings?.moderationMs != null)
      this.d.metrics.seconds.observe({ part: 'moderation' }, done.timings.moderationMs / 1000);
    if (done.action === 'blocked') await this.d.videos.block(tenantId, videoId);
    await this.d.events.emit(tenantId, 'video.detection_completed', videoId, {
      id: videoId,
      detection: done,
    });
    return {
      node,
      action: done.action,
      flagged: done.moderation?.flagged ?? false,
      frames: done.moderation?.framesAnalyzed ?? 0,
    };
  }

  /**
   * Writes the result and the review status the video is found by (the moderation queue, playback): the
   * review's, else still `checking` (held until checked) while the run is not finished.
   */
  private async write(row: VideosTable, detection: Detection): Promise<void> {
    const unfinished = detection.status === 'pending' || detection.status === 'running';
    const checking = unfinished && row.review_status === 'checking' ? 'checking' : null;
    await this.d.videos.repo.update(row.tenant_id, row.id, {
      detection: JSON.stringify(detection),
      review_status: detection.review?.status ?? checking,
      updated_at: nowIso(),
    });
  }
}

/** A run waiting for its turn; the previous run's results (if any) stay visible meanwhile. */
function pending(previous: Detection | null): Detection {
  return {
    status: 'pending',
    qc: previous?.qc ?? null,
    moderation: previous?.moderation ?? null,
    action: previous?.action ?? 'none',
    review: previous?.review ?? null,
    error: null,
    requestedAt: nowIso(),
    completedAt: null,
    timings: previous?.timings ?? null,
  };
}
