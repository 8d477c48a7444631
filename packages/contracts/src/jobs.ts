import { z } from 'zod';

/**
 * Payloads of the server's background jobs, one schema per job name. The job registry
 * (apps/server/src/jobs) pairs each with its name, queue class and job id; the queue validates every
 * payload against it when the job is enqueued and again before its handler runs.
 */
const VideoRef = z.object({ tenantId: z.string(), videoId: z.string() });

/** video.process: probe, validate, plan, fast path, then the chunk/images/publish flow. */
export const ProcessJob = VideoRef.extend({ templateId: z.string().optional() });
/** A step of one output generation (video.audio, video.images, video.publish). */
export const GenerationJob = VideoRef.extend({ generation: z.string() });
/** video.chunk: one chunk of consecutive segments of a generation, every encoded rendition. */
export const ChunkJob = GenerationJob.extend({ chunk: z.number().int().min(0) });
/** video.cover: a new poster for the published generation. */
export const CoverJob = VideoRef.extend({ time: z.number().min(0) });
/**
 * video.detect: quality checks and moderation of a video's source (modules/detection); `request` names an
 * on-demand run (POST /v1/videos/{id}/detect), absent for the automatic one.
 */
export const DetectJob = VideoRef.extend({ request: z.string().max(64).optional() });
/** video.purge: sweeps a deleted video's objects once more. */
export const PurgeJob = VideoRef;
/** video.import: fetches a source from a URL. */
export const ImportJob = VideoRef.extend({ url: z.string() });
/** upload.finalize: puts a finished upload's bytes at the source key and starts processing. */
export const FinalizeJob = VideoRef.extend({ uploadId: z.string() });
/** uploads.sweep: expires stale uploads and completes interrupted ones. */
export const UploadsSweepJob = z.object({ at: z.string() });
/** stats.rollup: one run of the statistics roll-up (modules/stats/rollup.ts). */
export const StatsRollupJob = z.object({ at: z.string() });
/** webhook.deliver: one attempt to deliver one event to one endpoint. */
export const WebhookDeliverJob = z.object({ webhookId: z.string(), eventId: z.string() });

/** recording.part: store and measure one file a recorder reported, then join it to its recording. */
export const RecordingPartJob = z.object({ tenantId: z.string(), partId: z.string() });
/** recording.finalize: a recording whose reconnect window passed becomes one source (parts merged). */
export const RecordingFinalizeJob = z.object({ tenantId: z.string(), recordingId: z.string() });
/** recording.import: a recording given by URL (POST /v1/recordings) stored as its video's source. */
export const RecordingImportJob = z.object({ tenantId: z.string(), recordingId: z.string() });
