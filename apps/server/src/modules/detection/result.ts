import {
  type ClassScores,
  type Detection,
  type DetectionPolicy,
  ModerationClass,
  type ModerationResult,
  type QcResult,
} from '@vodcloud/contracts';
import type { VideosTable } from '../../db/schema';

/** Spans of each kind kept per video (the result lives in one column; a pathological source has thousands). */
export const MAX_SPANS = 100;

const CLASSES = ModerationClass.options;
const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const zeroScores = (): ClassScores => ({ porn: 0, sexy: 0, hentai: 0, drawing: 0, neutral: 0 });

/** The model's output for one video, before the tenant's policy is applied. */
export interface ModerationRun {
  model: string;
  frames: Array<{ time: number; scores: ClassScores }>;
}

/** Moderation's summary: the highest score of each class, and the classes at or over their threshold. */
export function summarizeModeration(
  run: ModerationRun,
  thresholds: DetectionPolicy['moderation']['thresholds'],
): ModerationResult {
  const max = zeroScores();
  const frames = run.frames.map((f) => {
    const scores = zeroScores();
    for (const c of CLASSES) {
      scores[c] = round(f.scores[c], 4);
      max[c] = Math.max(max[c], scores[c]);
    }
    return { time: round(f.time, 3), scores };
  });
  const flaggedClasses = CLASSES.filter((c) => {
    const t = thresholds[c];
    return t !== null && t !== undefined && run.frames.length > 0 && max[c] >= t;
  });
  return {
    model: run.model,
    framesAnalyzed: frames.length,
    max,
    flagged: flaggedClasses.length > 0,
    flaggedClasses,
    frames,
  };
}

/** The quality checks as stored: times to the millisecond, at most MAX_SPANS spans of each kind. */
export function capQc(qc: QcResult): QcResult {
  const spans = (s: QcResult['black']) =>
    s.slice(0, MAX_SPANS).map((x) => ({ start: round(x.start, 3), end: round(x.end, 3) }));
  return { ...qc, black: spans(qc.black), freeze: spans(qc.freeze), silence: spans(qc.silence) };
}

export type Action = Detection['action'];
export type Review = NonNullable<Detection['review']>;

/**
 * What the policy does with a result: nothing when nothing crossed a threshold; else mark, hold for review
 * or block. A moderator's decision on an earlier run of the same video stands (the source is the same).
 */
export function decide(
  moderation: ModerationResult | null,
  action: DetectionPolicy['moderation']['action'],
  previous: Review | null,
): { action: Action; review: Review | null } {
  if (!moderation?.flagged || action === 'none') return { action: 'none', review: previous };
  if (action === 'flag') return { action: 'flagged', review: previous };
  if (action === 'block') return { action: 'blocked', review: previous };
  if (previous && previous.status !== 'pending') return { action: 'review', review: previous };
  return { action: 'review', review: { status: 'pending', decidedAt: null, decidedBy: null } };
}

/** The detection stored on a video row (JSON), or null before the first run. */
export const detectionOf = (row: Pick<VideosTable, 'detection'>): Detection | null =>
  row.detection ? (JSON.parse(row.detection) as Detection) : null;
