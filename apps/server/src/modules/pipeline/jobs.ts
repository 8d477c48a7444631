import type { PipelineDeps } from './deps';
import { JitEncoder, type JitOptions, type SegmentRequest, type SegmentResult } from './jit';
import { defineAudioStep } from './steps/audio';
import { defineChunkStep } from './steps/chunk';
import { defineCoverStep } from './steps/cover';
import { defineImagesStep } from './steps/images';
import { defineProcessStep } from './steps/process';
import { definePublishStep } from './steps/publish';

export type { PipelineDeps } from './deps';
export type { SegmentRequest } from './jit';

export interface Pipeline {
  /**
   * Just in time: makes one segment of one rendition unless it is stored already, and returns its key.
   * Concurrent calls for one segment share one encode; `signal` ends the caller's wait, not the run.
   */
  ensureSegment(p: SegmentRequest, signal?: AbortSignal, opts?: JitOptions): Promise<SegmentResult>;
  /** Just-in-time encodes running in this process. */
  activeSegments(): number;
}

/**
 * The media pipeline: one job per step (./steps), each reading top to bottom —
 * process (probe, plan, fast path, playable) → chunk × n and images (the flow's children) → publish;
 * cover on a cover change; audio for jobs of earlier versions. The just-in-time encoder (./jit.ts) serves
 * segments players ask for before the chunks reach them.
 */
export function definePipeline(d: PipelineDeps): Pipeline {
  const jit = new JitEncoder(d);
  defineProcessStep(d, jit);
  defineChunkStep(d);
  defineAudioStep(d, jit);
  defineImagesStep(d);
  defineCoverStep(d);
  definePublishStep(d);
  return {
    ensureSegment: (p, signal, opts) => jit.ensureSegment(p, signal, opts),
    activeSegments: () => jit.active(),
  };
}
