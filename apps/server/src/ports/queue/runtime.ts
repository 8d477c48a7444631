/** What both adapters share: the registry of definitions, payload checks, backoff, running one attempt, metrics. */
import {
  type BackoffOptions,
  type DurationStats,
  type EnqueueOptions,
  type JobContext,
  type JobDefinition,
  type JobMetrics,
  type JobProgress,
  JobQueueError,
  type JobRunCounts,
  QUEUE_CLASSES,
  type QueueClass,
  type QueueLogger,
  UnrecoverableJobError,
} from './types';

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 60_000 };
export const DEFAULT_LEASE_MS = 30_000;
const MAX_PRIORITY = 1_000_000;
const JOB_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const JOB_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

export const silentLogger: QueueLogger = { info() {}, warn() {}, error() {} };

export function childLogger(log: QueueLogger, fields: object): QueueLogger {
  return {
    info: (obj, msg) => log.info({ ...fields, ...obj }, msg),
    warn: (obj, msg) => log.warn({ ...fields, ...obj }, msg),
    error: (obj, msg) => log.error({ ...fields, ...obj }, msg),
  };
}

export class Registry {
  private readonly defs = new Map<string, JobDefinition>();

  define(name: string, def: JobDefinition): void {
    if (!JOB_NAME.test(name)) throw new JobQueueError('invalid_options', `Invalid job name "${name}"`);
    if (this.defs.has(name))
      throw new JobQueueError('duplicate_job_name', `Job "${name}" is already defined`);
    if (!QUEUE_CLASSES.includes(def.queue)) {
      throw new JobQueueError(
        'invalid_options',
        `Job "${name}": queue must be one of ${QUEUE_CLASSES.join(', ')}`,
      );
    }
    if (def.attempts !== undefined && (!Number.isInteger(def.attempts) || def.attempts < 1)) {
      throw new JobQueueError('invalid_options', `Job "${name}": attempts must be a positive integer`);
    }
    this.defs.set(name, def);
  }

  get(name: string): JobDefinition | undefined {
    return this.defs.get(name);
  }

  require(name: string): JobDefinition {
    const def = this.defs.get(name);
    if (!def) throw new JobQueueError('unknown_job_name', `No job named "${name}" is defined`);
    return def;
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  namesIn(queue: QueueClass): string[] {
    return [...this.defs].filter(([, d]) => d.queue === queue).map(([n]) => n);
  }

  /** Throws unknown_job_name listing the stored names that have no definition. */
  assertKnown(storedNames: Iterable<string>): void {
    const unknown = [...new Set(storedNames)].filter((n) => !this.defs.has(n)).sort();
    if (unknown.length) {
      throw new JobQueueError(
        'unknown_job_name',
        `The job store holds pending jobs with no registered handler: ${unknown.join(', ')}`,
      );
    }
  }
}

/** Validates a payload against the definition's schema; returns it unchanged (the input form is what is stored). */
export function checkPayload(name: string, def: JobDefinition, payload: unknown): unknown {
  const parsed = def.schema.safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new JobQueueError(
      'invalid_payload',
      `Invalid payload for job "${name}": ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  // Round-trip through JSON now so what a handler receives later is what the store can hold.
  return payload === undefined ? null : JSON.parse(JSON.stringify(payload));
}

export interface CheckedOptions {
  jobId?: string;
  priority: number;
  delayMs: number;
  attempts: number;
}

export function checkOptions(def: JobDefinition, opts: EnqueueOptions = {}): CheckedOptions {
  if (opts.jobId !== undefined && (!JOB_ID.test(opts.jobId) || /^\d+$/.test(opts.jobId))) {
    throw new JobQueueError(
      'invalid_options',
      `Invalid jobId "${opts.jobId}": 1–128 of A-Z a-z 0-9 _ . - and not only digits`,
    );
  }
  const priority = opts.priority ?? 0;
  if (!Number.isInteger(priority) || Math.abs(priority) > MAX_PRIORITY) {
    throw new JobQueueError('invalid_options', `priority must be an integer within ±${MAX_PRIORITY}`);
  }
  const delayMs = Math.max(0, Math.round(opts.delayMs ?? 0));
  const attempts = opts.attempts ?? def.attempts ?? DEFAULT_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new JobQueueError('invalid_options', 'attempts must be ≥ 1');
  return { jobId: opts.jobId, priority, delayMs, attempts };
}

/** BullMQ runs lower numbers first (1 = highest); ours runs higher first. */
export function toBullPriority(priority: number): number {
  return MAX_PRIORITY + 1 - priority;
}
export function fromBullPriority(bull: number | undefined): number {
  return bull ? MAX_PRIORITY + 1 - bull : 0;
}

/** Delay before the attempt after `attempt` (1-based): baseMs · 2^(attempt−1), capped at maxMs. */
export function backoffDelay(def: JobDefinition | undefined, attempt: number): number {
  const { baseMs, maxMs } = def?.backoff ?? DEFAULT_BACKOFF;
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export const iso = (ms: number | null | undefined): string | undefined =>
  ms === null || ms === undefined ? undefined : new Date(ms).toISOString();

// --- running one attempt ------------------------------------------------------------------------------

export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
  constructor() {
    super('cancelled');
  }
}
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
  }
}
/** The worker lost the job (lease taken over, or it stops past its bound): it must write nothing. */
export class JobAbandonedError extends Error {
  override name = 'JobAbandonedError';
}

export type AttemptOutcome =
  | { status: 'completed'; result: unknown }
  /** `deferred`: a dependency was away (see AttemptInput.transient): retried soon, the attempt not counted. */
  | { status: 'failed'; error: string; retry: boolean; deferred?: boolean }
  | { status: 'cancelled' }
  | { status: 'abandoned' };

export interface AttemptInput {
  id: string;
  name: string;
  attempt: number;
  maxAttempts: number;
  payload: unknown;
  controller: AbortController;
  progress(value: JobProgress): Promise<void>;
  childResults(): Promise<Record<string, unknown>>;
  log: QueueLogger;
  /**
   * Errors saying a dependency is away for a while (the database during a failover): the attempt is tried
   * again after at most DEFER_MAX_MS and does not use up one of the job's attempts, however long it lasts.
   */
  transient?: (err: unknown) => boolean;
}

/** The longest wait before a deferred attempt runs again. */
export const DEFER_MAX_MS = 10_000;

/** When a deferred attempt runs again: the job's backoff, at most DEFER_MAX_MS. */
export function deferDelay(def: JobDefinition | undefined, attempt: number): number {
  return Math.min(backoffDelay(def, attempt), DEFER_MAX_MS);
}

/**
 * Runs the handler once. The outcome is decided by whichever comes first: the handler settling or the
 * attempt's signal aborting (cancel, timeout, lost lease, stop) — a handler that ignores its signal
 * cannot hold the job past those.
 */
export async function runAttempt(def: JobDefinition, job: AttemptInput): Promise<AttemptOutcome> {
  const { controller } = job;
  const parsed = def.schema.safeParse(job.payload);
  if (!parsed.success) {
    return { status: 'failed', error: `invalid stored payload: ${parsed.error.message}`, retry: false };
  }
  let timer: NodeJS.Timeout | undefined;
  if (def.timeoutMs) {
    const ms = def.timeoutMs;
    timer = setTimeout(() => controller.abort(new JobTimeoutError(ms)), ms);
  }
  const aborted = new Promise<never>((_, reject) => {
    if (controller.signal.aborted) reject(controller.signal.reason);
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => {});
  const ctx: JobContext = {
    jobId: job.id,
    name: job.name,
    attempt: job.attempt,
    signal: controller.signal,
    progress: job.progress,
    childResults: job.childResults,
    log: job.log,
  };
  try {
    const result = await Promise.race([Promise.resolve().then(() => def.handler(parsed.data, ctx)), aborted]);
    if (controller.signal.aborted) return outcomeOfAbort(controller.signal.reason, job);
    return { status: 'completed', result: result === undefined ? null : JSON.parse(JSON.stringify(result)) };
  } catch (err) {
    if (controller.signal.aborted) return outcomeOfAbort(controller.signal.reason, job);
    const error = err instanceof Error ? err.message : String(err);
    if (!(err instanceof UnrecoverableJobError) && job.transient?.(err))
      return { status: 'failed', error, retry: true, deferred: true };
    return {
      status: 'failed',
      error,
      retry: !(err instanceof UnrecoverableJobError) && job.attempt < job.maxAttempts,
    };
  } finally {
    clearTimeout(timer);
  }
}

function outcomeOfAbort(reason: unknown, job: AttemptInput): AttemptOutcome {
  if (reason instanceof JobCancelledError) return { status: 'cancelled' };
  if (reason instanceof JobTimeoutError) {
    return { status: 'failed', error: reason.message, retry: job.attempt < job.maxAttempts };
  }
  return { status: 'abandoned' };
}

// --- metrics ------------------------------------------------------------------------------------------

const BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const WINDOW = 1000;

interface Counters {
  completed: number;
  failed: number;
  retried: number;
  cancelled: number;
  count: number;
  sumMs: number;
  buckets: number[];
  recent: number[];
}

type Gauges = { waiting: number; delayed: number; active: number; oldestWaitingMs: number };
const ZERO_GAUGES: Gauges = { waiting: 0, delayed: 0, active: 0, oldestWaitingMs: 0 };

/** Per-name counters of what this instance ran; the adapters add the store-wide gauges. */
export class MetricsRecorder {
  private readonly byName = new Map<string, Counters>();

  record(name: string, outcome: AttemptOutcome, durationMs: number): void {
    if (outcome.status === 'abandoned') return;
    let c = this.byName.get(name);
    if (!c) {
      c = {
        completed: 0,
        failed: 0,
        retried: 0,
        cancelled: 0,
        count: 0,
        sumMs: 0,
        buckets: BUCKETS_S.map(() => 0),
        recent: [],
      };
      this.byName.set(name, c);
    }
    if (outcome.status === 'completed') c.completed++;
    else if (outcome.status === 'cancelled') c.cancelled++;
    else if (outcome.retry) c.retried++;
    else c.failed++;
    c.count++;
    c.sumMs += durationMs;
    BUCKETS_S.forEach((b, i) => {
      if (durationMs <= b * 1000) c.buckets[i]!++;
    });
    c.recent.push(durationMs);
    if (c.recent.length > WINDOW) c.recent.shift();
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Every name's counters (what this instance ran). */
  ran(): Record<string, JobRunCounts> {
    return Object.fromEntries(this.names().map((n) => [n, this.snapshot(n, ZERO_GAUGES)]));
  }

  snapshot(name: string, gauges: Gauges): JobMetrics {
    const c = this.byName.get(name);
    const duration: DurationStats = {
      count: c?.count ?? 0,
      sumMs: c?.sumMs ?? 0,
      p95Ms: c ? percentile(c.recent, 0.95) : 0,
      buckets: Object.fromEntries(
        BUCKETS_S.map((b, i) => [String(b), c?.buckets[i] ?? 0]).concat([['+Inf', c?.count ?? 0]]),
      ),
    };
    return {
      ...gauges,
      completed: c?.completed ?? 0,
      failed: c?.failed ?? 0,
      retried: c?.retried ?? 0,
      cancelled: c?.cancelled ?? 0,
      duration,
    };
  }
}

function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export function concurrencyOf(
  opts: { concurrency?: Partial<Record<QueueClass, number>> } = {},
): Record<QueueClass, number> {
  const c = { cpu: 1, io: 4, fast: 8, detect: 1, ...opts.concurrency };
  for (const q of QUEUE_CLASSES) {
    if (!Number.isInteger(c[q]) || c[q] < 0)
      throw new JobQueueError('invalid_options', `concurrency.${q} must be ≥ 0`);
  }
  return c;
}

/** Whether `p` settled within `ms` milliseconds. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Pending-job counts per job name, for metrics: `of(name)` creates a name's zeroed entry on first use. */
export function gaugeTable() {
  const gauges = new Map<string, Gauges>();
  const of = (name: string) => {
    let v = gauges.get(name);
    if (!v) {
      v = { ...ZERO_GAUGES };
      gauges.set(name, v);
    }
    return v;
  };
  /** Counts a waiting job of `name` that has been ready to run since `since` (epoch ms). */
  const waiting = (name: string, since: number, now: number) => {
    const g = of(name);
    g.waiting++;
    g.oldestWaitingMs = Math.max(g.oldestWaitingMs, now - since);
  };
  return { gauges, of, waiting, zero: ZERO_GAUGES };
}
