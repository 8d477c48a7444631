import {
  ChunkJob,
  CoverJob,
  DetectJob,
  FinalizeJob,
  GenerationJob,
  ImportJob,
  ProcessJob,
  PurgeJob,
  RecordingFinalizeJob,
  RecordingImportJob,
  RecordingPartJob,
  StatsRollupJob,
  UploadsSweepJob,
  WebhookDeliverJob,
} from '@vodcloud/contracts';
import type { z } from 'zod';
import type { BackoffOptions, QueueClass } from '../ports/queue';

/**
 * Every background job of the server, by name: its payload schema (packages/contracts/src/jobs.ts), its
 * resource queue, its defaults, and how its job id is made. `Jobs` (./jobs.ts) defines and enqueues them
 * by these names only, so a wrong name or payload is a compile error, and the queue validates the payload
 * again at run time.
 */
interface JobSpec<S extends z.ZodType> {
  schema: S;
  queue: QueueClass;
  /** Total attempts including the first (the definition may override it, e.g. from configuration). */
  attempts: number;
  timeoutMs?: number;
  backoff?: BackoffOptions;
  /**
   * The job's id when it can be derived from its payload (enqueueing it twice is one job). Jobs without
   * one are given an id at the call site, from `jobIds`.
   */
  id?: (p: z.input<S>) => string;
  /**
   * The video the job works on: a video's jobs are cancelled when it is deleted. A video job without a
   * derivable `id` is recorded (table video_jobs) when enqueued, so the delete finds it.
   */
  video?: (p: z.input<S>) => string;
}

const spec = <S extends z.ZodType>(s: JobSpec<S>) => s;

/** Job ids: one builder per kind, the only place they are spelled. */
export const jobIds = {
  /** The first processing of an upload or import (one per video). */
  process: (videoId: string) => `process.${videoId}`,
  /** A retranscode: a new id per request (a queue id is used once, even after its job ended). */
  retranscode: (videoId: string, request: string) => `process.${videoId}.${request}`,
  chunk: (generation: string, chunk: number) => `chunk.${generation}.${chunk}`,
  audio: (generation: string) => `audio.${generation}`,
  images: (generation: string) => `images.${generation}`,
  publish: (generation: string) => `publish.${generation}`,
  /** A cover change: a new id per request. */
  cover: (videoId: string, request: string) => `cover.${videoId}.${request}`,
  purge: (videoId: string, request: string) => `purge.${videoId}.${request}`,
  import: (videoId: string) => `import.${videoId}`,
  finalize: (videoId: string) => `finalize.${videoId}`,
  /** The automatic detection of a video (once per video: its source does not change). */
  detect: (videoId: string) => `detect.${videoId}`,
  /** An on-demand detection run (POST /v1/videos/{id}/detect): a new id per request. */
  detectRun: (videoId: string, request: string) => `detect.${videoId}.${request}`,
  /** A recorder's file (once per reported file). */
  recordingPart: (partId: string) => `rec.part.${partId}`,
  /** A recording's finalisation, scheduled again by each new part or publish-done (a new id each time). */
  recordingFinalize: (recordingId: string, request: string) => `rec.final.${recordingId}.${request}`,
  /** A recording imported by URL (once per recording). */
  recordingImport: (recordingId: string) => `rec.import.${recordingId}`,
  /** The periodic upload sweep of one time slot (deduplicated cluster-wide). */
  uploadsSweep: (slot: number) => `uploads.sweep.${slot}`,
  /** The periodic statistics roll-up of one time slot (deduplicated cluster-wide). */
  statsRollup: (slot: number) => `stats.rollup.${slot}`,
  /** One delivery per endpoint and event: a redelivered event (listener run twice) is one delivery. */
  webhookDelivery: (webhookId: string, eventId: string) => `wh.${webhookId}.${eventId}`,
} as const;

const videoOf = (p: { videoId: string }) => p.videoId;

export const JOBS = {
  // The media pipeline (modules/pipeline/steps): process → (chunk × n, images) → publish.
  'video.process': spec({
    schema: ProcessJob,
    queue: 'io',
    attempts: 4,
    id: (p) => jobIds.process(p.videoId),
    video: videoOf,
  }),
  'video.chunk': spec({
    schema: ChunkJob,
    queue: 'cpu',
    attempts: 4,
    timeoutMs: 60 * 60_000,
    id: (p) => jobIds.chunk(p.generation, p.chunk),
    video: videoOf,
  }),
  /** The audio track (now made by video.process itself; kept for jobs enqueued by earlier versions). */
  'video.audio': spec({
    schema: GenerationJob,
    queue: 'cpu',
    attempts: 4,
    timeoutMs: 60 * 60_000,
    id: (p) => jobIds.audio(p.generation),
    video: videoOf,
  }),
  'video.images': spec({
    schema: GenerationJob,
    // Beside the chunks, not after them: a few seeks and a JPEG (steps/images.ts).
    queue: 'io',
    attempts: 3,
    timeoutMs: 30 * 60_000,
    id: (p) => jobIds.images(p.generation),
    video: videoOf,
  }),
  'video.publish': spec({
    schema: GenerationJob,
    queue: 'io',
    attempts: 5,
    timeoutMs: 60 * 60_000,
    id: (p) => jobIds.publish(p.generation),
    video: videoOf,
  }),
  'video.cover': spec({ schema: CoverJob, queue: 'cpu', attempts: 3, video: videoOf }),
  // Detection (modules/detection): its own resource class, so it never holds up a ladder.
  'video.detect': spec({
    schema: DetectJob,
    queue: 'detect',
    attempts: 3,
    timeoutMs: 2 * 60 * 60_000,
    backoff: { baseMs: 5000, maxMs: 60_000 },
    // On-demand runs are given jobIds.detectRun at the call site (recorded, so a delete cancels them).
    id: (p) => jobIds.detect(p.videoId),
    video: videoOf,
  }),
  // The video's lifecycle (modules/videos/lifecycle.ts); a purge runs after the delete, never cancelled by it.
  'video.purge': spec({ schema: PurgeJob, queue: 'io', attempts: 5 }),
  'video.import': spec({
    schema: ImportJob,
    queue: 'io',
    attempts: 3,
    backoff: { baseMs: 2000, maxMs: 30_000 },
    id: (p) => jobIds.import(p.videoId),
    video: videoOf,
  }),
  // Live recordings (modules/recordings): the transfers are io; the merge's ffmpeg runs in the recording
  // provider (a worker), called from these jobs.
  'recording.part': spec({
    schema: RecordingPartJob,
    queue: 'io',
    attempts: 5,
    timeoutMs: 60 * 60_000,
    backoff: { baseMs: 2000, maxMs: 30_000 },
    id: (p) => jobIds.recordingPart(p.partId),
  }),
  'recording.finalize': spec({
    schema: RecordingFinalizeJob,
    queue: 'io',
    attempts: 5,
    timeoutMs: 2 * 60 * 60_000,
    backoff: { baseMs: 2000, maxMs: 30_000 },
  }),
  'recording.import': spec({
    schema: RecordingImportJob,
    queue: 'io',
    attempts: 3,
    timeoutMs: 2 * 60 * 60_000,
    backoff: { baseMs: 2000, maxMs: 30_000 },
    id: (p) => jobIds.recordingImport(p.recordingId),
  }),
  'upload.finalize': spec({
    schema: FinalizeJob,
    queue: 'io',
    attempts: 8,
    id: (p) => jobIds.finalize(p.videoId),
    video: videoOf,
  }),
  'uploads.sweep': spec({ schema: UploadsSweepJob, queue: 'fast', attempts: 3 }),
  'stats.rollup': spec({ schema: StatsRollupJob, queue: 'fast', attempts: 2, timeoutMs: 15 * 60_000 }),
  'webhook.deliver': spec({
    schema: WebhookDeliverJob,
    queue: 'io',
    attempts: 31,
    id: (p) => jobIds.webhookDelivery(p.webhookId, p.eventId),
  }),
} as const;

export type JobName = keyof typeof JOBS;
/** The payload a caller enqueues for job `N`. */
export type JobOf<N extends JobName> = z.input<(typeof JOBS)[N]['schema']>;
/** The payload the handler of job `N` receives (after validation). */
export type JobPayload<N extends JobName> = z.output<(typeof JOBS)[N]['schema']>;

export const JOB_NAMES = Object.keys(JOBS) as JobName[];

/** The derived id of a job, or undefined when its ids are given at the call site. */
export function derivedJobId<N extends JobName>(name: N, payload: JobOf<N>): string | undefined {
  const s = JOBS[name] as JobSpec<z.ZodType>;
  return s.id?.(payload);
}

/** The video a job belongs to (cancelled with it), or undefined. */
export function jobVideo<N extends JobName>(name: N, payload: JobOf<N>): string | undefined {
  const s = JOBS[name] as JobSpec<z.ZodType>;
  return s.video?.(payload);
}

/**
 * The ids of a video's jobs that follow from its row: its first processing, upload, import and detection, and every
 * step of its current generation. (Retranscodes and cover changes are recorded instead: video_jobs.)
 */
export function derivedVideoJobIds(row: {
  id: string;
  generation?: string | null;
  plan?: string | null;
}): string[] {
  const ids = [jobIds.process(row.id), jobIds.finalize(row.id), jobIds.import(row.id), jobIds.detect(row.id)];
  const g = row.generation;
  if (g) {
    const plan = JSON.parse(row.plan ?? 'null') as { chunks?: unknown[] } | null;
    ids.push(
      jobIds.publish(g),
      jobIds.audio(g),
      jobIds.images(g),
      ...(plan?.chunks ?? []).map((_, k) => jobIds.chunk(g, k)),
    );
  }
  return ids;
}
