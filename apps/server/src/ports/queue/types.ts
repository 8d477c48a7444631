import type { z } from 'zod';

/** Resource classes: jobs are grouped into one queue (and one worker pool) per class, never one per job type. */
/**
 * Resource classes, each with its own concurrency per worker: `cpu` (ladder encodes), `io` (downloads, probes,
 * publishing), `fast` (short bookkeeping), `detect` (quality checks and moderation: background work that must
 * never hold up a ladder, so it has its own slot).
 */
export const QUEUE_CLASSES = ['cpu', 'io', 'fast', 'detect'] as const;
export type QueueClass = (typeof QUEUE_CLASSES)[number];

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

/** Structured logger, pino-compatible (`log.info({ jobId }, 'msg')`). */
export interface QueueLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type JobProgress = number | Record<string, unknown>;

export interface JobContext {
  jobId: string;
  name: string;
  /** 1 on the first attempt; an attempt is counted each time a worker claims the job (a lost worker's too). */
  attempt: number;
  /** Aborted when the job is cancelled, times out, loses its lease, or the worker stops past its bound. */
  signal: AbortSignal;
  /** A number in 0..1 or a JSON object; visible through getJob().progress. */
  progress(value: JobProgress): Promise<void>;
  /** Results of a flow parent's children, keyed by child job id (empty for jobs without children). */
  childResults(): Promise<Record<string, unknown>>;
  log: QueueLogger;
}

export interface BackoffOptions {
  /** Delay before the 2nd attempt; doubles on each further attempt. */
  baseMs: number;
  maxMs: number;
}

export interface JobDefinition<S extends z.ZodType = z.ZodType, R = unknown> {
  queue: QueueClass;
  /** Validates the payload at enqueue (input side) and again before the handler runs (output side). */
  schema: S;
  /** Must be idempotent: delivery is at-least-once. The result must be JSON-serializable. */
  handler(payload: z.output<S>, ctx: JobContext): Promise<R> | R;
  /** Total attempts including the first; default 5. */
  attempts?: number;
  /** Default { baseMs: 1000, maxMs: 60_000 }. */
  backoff?: BackoffOptions;
  /** An attempt running longer fails (and is retried) with a timeout error; its signal is aborted. */
  timeoutMs?: number;
}

export interface EnqueueOptions {
  /** Deduplicates: enqueueing an id that already exists (in any state) returns it without a second job. */
  jobId?: string;
  /** Higher runs first within a queue class; integer in −1 000 000..1 000 000, default 0. */
  priority?: number;
  delayMs?: number;
  /** Overrides the definition's attempts for this job. */
  attempts?: number;
}

export interface FlowNode {
  name: string;
  payload: unknown;
  opts?: EnqueueOptions;
}

export interface Flow {
  parent: FlowNode;
  children: FlowNode[];
}

export interface JobInfo {
  id: string;
  name: string;
  queue: QueueClass;
  state: JobState;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  priority: number;
  payload: unknown;
  progress: JobProgress;
  result?: unknown;
  /** Last error message (kept when the job ends failed). */
  error?: string;
  parentId?: string;
  /** ISO-8601 UTC. */
  createdAt: string;
  finishedAt?: string;
}

export interface DurationStats {
  /** Handler attempts run by this instance (successful or not). */
  count: number;
  sumMs: number;
  p95Ms: number;
  /** Cumulative Prometheus-style buckets: upper bound in seconds → attempts at or below it. */
  buckets: Record<string, number>;
}

export interface JobMetrics {
  /** Ready to run now (store-wide). */
  waiting: number;
  /** Scheduled for later: delayed or backing off before a retry (store-wide). */
  delayed: number;
  /** Running (store-wide). */
  active: number;
  /** How long the oldest job ready to run has waited, in ms (0 when none waits; store-wide). */
  oldestWaitingMs: number;
  /** Jobs this instance finished as completed since it was created (a counter). */
  completed: number;
  /** Jobs this instance finished as failed, after their last attempt (a counter). */
  failed: number;
  /** Attempts this instance failed and scheduled for a retry (a counter). */
  retried: number;
  /** Jobs this instance ended as cancelled while running (a counter). */
  cancelled: number;
  duration: DurationStats;
}

export type JobRunCounts = Pick<JobMetrics, 'completed' | 'failed' | 'retried' | 'cancelled' | 'duration'>;

export interface StartOptions {
  concurrency?: Partial<Record<QueueClass, number>>;
}

export interface JobQueue {
  readonly kind: 'db' | 'bullmq';
  /** Registers a job type; a name can be defined once. */
  define<S extends z.ZodType, R>(name: string, def: JobDefinition<S, R>): void;
  /** Validates the payload and stores the job; returns its id (the existing one when opts.jobId already exists). */
  enqueue(name: string, payload: unknown, opts?: EnqueueOptions): Promise<string>;
  /**
   * The parent runs once every child completed; ctx.childResults() gives their results.
   * A child that ends failed or cancelled fails the parent, which then never runs.
   */
  enqueueFlow(flow: Flow): Promise<{ parentId: string; childIds: string[] }>;
  /** True when the job was waiting, delayed or active and is now cancelled (or being cancelled). */
  cancel(jobId: string): Promise<boolean>;
  getJob(jobId: string): Promise<JobInfo | undefined>;
  /** Throws (code unknown_job_name) when the store holds a pending job whose name has no definition. */
  start(opts?: StartOptions): Promise<void>;
  /** Stops taking jobs and waits for running ones up to timeoutMs (default 30 s); later ones are re-run after their lease. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  metrics(): Promise<Record<string, JobMetrics>>;
  /** What this instance ran, per job name (its counters of metrics(), without asking the store). */
  ran(): Record<string, JobRunCounts>;
  health(): Promise<{ ok: boolean; detail: string }>;
  /** stop() then release connections the queue owns (never the caller's Database). */
  close(): Promise<void>;
}

export type JobQueueErrorCode =
  | 'unknown_job_name'
  | 'duplicate_job_name'
  | 'invalid_payload'
  | 'invalid_options'
  | 'not_started'
  | 'already_started';

export class JobQueueError extends Error {
  constructor(
    readonly code: JobQueueErrorCode,
    message: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(message);
    this.name = 'JobQueueError';
  }
}

/** Thrown by a handler to fail the job at once, without further attempts. */
export class UnrecoverableJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrecoverableJobError';
  }
}
