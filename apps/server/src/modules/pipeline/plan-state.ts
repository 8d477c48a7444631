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
}

export const outputPrefix = (tenantId: string, videoId: string, generation: string) =>
  `${tenantId}/${videoId}/${generation}`;
