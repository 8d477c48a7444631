import { z } from 'zod';
import { Id, IsoTime } from './common';

/** The classes of the moderation model (nsfwjs), lower case. */
export const ModerationClass = z.enum(['porn', 'sexy', 'hentai', 'drawing', 'neutral']);
export type ModerationClass = z.infer<typeof ModerationClass>;

const Probability = z.number().min(0).max(1);
export const ClassScores = z
  .object({
    porn: Probability,
    sexy: Probability,
    hentai: Probability,
    drawing: Probability,
    neutral: Probability,
  })
  .meta({ id: 'ClassScores' });
export type ClassScores = z.infer<typeof ClassScores>;

export const Span = z
  .object({ start: z.number().describe('seconds of the source'), end: z.number() })
  .meta({ id: 'Span' });

export const QcResult = z
  .object({
    black: z.array(Span).describe('black picture (ffmpeg blackdetect), accurate to one frame'),
    freeze: z.array(Span).describe('frozen picture (freezedetect), black spans excluded'),
    silence: z.array(Span).describe('silence (silencedetect), accurate to 10 ms'),
    loudness: z
      .object({ integratedLufs: z.number(), lra: z.number(), truePeakDbtp: z.number() })
      .nullable()
      .describe('EBU R128 (ebur128): integrated loudness, loudness range, true peak; null without sound'),
    interlaced: z.boolean().describe('idet: most frames are interlaced'),
    crop: z
      .object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() })
      .nullable()
      .describe('the picture inside black borders (cropdetect), in source pixels; null without borders'),
    sceneChanges: z.number().int(),
  })
  .meta({ id: 'QcResult' });
export type QcResult = z.infer<typeof QcResult>;

export const ModerationFrame = z.object({ time: z.number(), scores: ClassScores });

export const ModerationResult = z
  .object({
    model: z.string().describe('nsfwjs-mobilenet_v2'),
    framesAnalyzed: z.number().int(),
    max: ClassScores.describe('the highest score of each class over the frames analysed'),
    flagged: z.boolean().describe('a class reached its threshold in the tenant policy'),
    flaggedClasses: z.array(ModerationClass),
    frames: z
      .array(ModerationFrame)
      .describe(
        'in the video object: the (at most 10) frames with the highest non-neutral scores, in time order; every frame analysed is at GET /v1/videos/{id}/detection',
      ),
  })
  .meta({ id: 'ModerationResult' });
export type ModerationResult = z.infer<typeof ModerationResult>;

export const DetectionStatus = z.enum(['pending', 'running', 'completed', 'failed']);
export const DetectionAction = z.enum(['none', 'flagged', 'blocked', 'review']);
export const ReviewStatus = z.enum(['pending', 'approved', 'rejected']);

export const Detection = z
  .object({
    status: DetectionStatus,
    qc: QcResult.nullable(),
    moderation: ModerationResult.nullable(),
    action: DetectionAction.describe(
      'what the tenant policy did: none; flagged (marked only); review (not playable until approved); blocked',
    ),
    review: z
      .object({ status: ReviewStatus, decidedAt: IsoTime.nullable(), decidedBy: z.string().nullable() })
      .nullable()
      .describe('the human review of a video the policy sent to review'),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    requestedAt: IsoTime,
    completedAt: IsoTime.nullable(),
    timings: z
      .object({ qcMs: z.number().nullable(), moderationMs: z.number().nullable() })
      .nullable()
      .describe('time spent on the quality checks and on the model'),
  })
  .meta({ id: 'Detection' });
export type Detection = z.infer<typeof Detection>;

const Threshold = Probability.nullable().describe('a score at or above it flags the video; null: never');

export const DetectionPolicy = z
  .object({
    enabled: z
      .boolean()
      .describe('run detection on every new video (POST …/detect runs it on demand anyway)'),
    qc: z.boolean().describe('run the quality checks'),
    moderation: z.object({
      enabled: z.boolean(),
      action: z
        .enum(['none', 'flag', 'review', 'block'])
        .describe('what a flagged video gets: none; flag (marked only); review (held until approved); block'),
      thresholds: z.object({
        porn: Threshold,
        sexy: Threshold,
        hentai: Threshold,
        drawing: Threshold,
        neutral: Threshold,
      }),
      intervalSec: z.number().min(1).max(600).describe('one frame every N seconds, plus scene changes'),
      maxFrames: z.number().int().min(1).max(300).describe('frames analysed per video at most'),
      hold: z
        .boolean()
        .describe(
          'hold every new video (not playable) until its moderation completed; a failed run sends it to review',
        ),
    }),
    updatedAt: IsoTime.nullable(),
  })
  .meta({ id: 'DetectionPolicy' });
export type DetectionPolicy = z.infer<typeof DetectionPolicy>;

export const UpdateDetectionPolicy = z
  .object({
    enabled: z.boolean().optional(),
    qc: z.boolean().optional(),
    moderation: z
      .object({
        enabled: z.boolean().optional(),
        action: z.enum(['none', 'flag', 'review', 'block']).optional(),
        thresholds: z
          .object({
            porn: Threshold.optional(),
            sexy: Threshold.optional(),
            hentai: Threshold.optional(),
            drawing: Threshold.optional(),
            neutral: Threshold.optional(),
          })
          .strict()
          .optional(),
        intervalSec: z.number().min(1).max(600).optional(),
        maxFrames: z.number().int().min(1).max(300).optional(),
        hold: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type UpdateDetectionPolicy = z.infer<typeof UpdateDetectionPolicy>;

/** A video waiting for a moderator (GET /v1/moderation/queue). */
export const ModerationQueueItem = z
  .object({
    videoId: Id,
    title: z.string().nullable(),
    status: z.string(),
    flaggedClasses: z.array(ModerationClass),
    max: ClassScores,
    completedAt: IsoTime.nullable(),
  })
  .meta({ id: 'ModerationQueueItem' });
