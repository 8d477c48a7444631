/**
 * The pipeline module's public surface for other features: the node's cache of video sources (for
 * ffmpeg work outside the pipeline, e.g. thumbnails) and the pipeline's in-process entry points.
 * Its jobs are defined by the context (jobs.ts: definePipeline).
 */
export type { Pipeline, SegmentRequest } from './jobs';
export { SourceCache } from './sources';
