import type { LadderPlan, Segment } from '@vodcloud/media';

/** What the process step decides and every later step of the same generation reads (videos.plan). */
export interface VideoPlan {
  generation: string;
  ladder: LadderPlan;
  segments: Segment[];
  /** Segment indices of each chunk, in order. */
  chunks: number[][];
  /** Renditions that also get a progressive MP4. */
  mp4: string[];
  encryption: 'none' | 'aes-128';
  audioOnly: boolean;
  durationSec: number;
  watermark: unknown | null;
  /**
   * Fast path for a web-ready source: the top rendition is a stream copy of the source's video (no
   * re-encode), cut at the source's keyframes; `segments` holds its real durations once remuxed.
   */
  passthrough?: {
    rendition: string;
    codec: { profile: string; level: string };
    segments: Array<{ index: number; duration: number }>;
  } | null;
  /** The audio track is a stream copy of the source's AAC (else encoded once for the whole video). */
  audioCopy?: boolean;
}

/** Renditions the chunk jobs encode (all but a passthrough one). */
export const encodedRenditions = (plan: VideoPlan) =>
  plan.ladder.renditions.filter((r) => r.name !== plan.passthrough?.rendition);

/** The plan of the row's generation (videos.plan). */
export const planOf = (row: { plan?: string | null }) => JSON.parse(row.plan ?? 'null') as VideoPlan;
