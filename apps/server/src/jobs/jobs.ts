import { withLogFields } from '../logger';
import type { BackoffOptions, EnqueueOptions, FlowNode, JobContext, JobInfo, JobQueue } from '../ports/queue';
import { JobQueueError } from '../ports/queue';
import {
  derivedJobId,
  derivedVideoJobIds,
  JOB_NAMES,
  JOBS,
  type JobName,
  type JobOf,
  type JobPayload,
  jobVideo,
} from './registry';

/** A job's handler and the defaults it overrides (attempts, backoff and timeout from configuration). */
export interface JobHandler<N extends JobName, R = unknown> {
  handler(payload: JobPayload<N>, ctx: JobContext): Promise<R> | R;
  attempts?: number;
  backoff?: BackoffOptions;
  timeoutMs?: number;
}

/** A job to enqueue in a flow, built by `Jobs.node` (name and payload checked together). */
export interface JobNode<N extends JobName = JobName> extends FlowNode {
  name: N;
  payload: JobOf<N>;
}

/** Where the ids of a video's jobs that cannot be derived are recorded (table video_jobs). */
export interface VideoJobStore {
  record(job: { jobId: string; tenantId: string; videoId: string; name: string }): Promise<void>;
  list(tenantId: string, videoId: string): Promise<string[]>;
  forget(tenantId: string, videoId: string): Promise<void>;
}

/** Names defined on each queue, by any `Jobs` over it (one process may wrap its queue more than once). */
const definedOn = new WeakMap<JobQueue, Set<JobName>>();

/**
 * The typed face of the job queue port: jobs are defined and enqueued by their registry name (./registry),
 * so the payload is checked at compile time, and the queue validates it again at run time with the
 * registry's schema. Job ids come from the registry; a video's jobs can all be cancelled at once.
 */
export class Jobs {
  constructor(
    readonly queue: JobQueue,
    private readonly videoJobs?: VideoJobStore,
  ) {}

  private defined(): Set<JobName> {
    const names = definedOn.get(this.queue) ?? new Set<JobName>();
    definedOn.set(this.queue, names);
    return names;
  }

  /** Registers the handler of `name` with the registry's schema, queue class and defaults; once per name. */
  define<N extends JobName, R>(name: N, def: JobHandler<N, R>): void {
    const names = this.defined();
    if (names.has(name)) throw new JobQueueError('duplicate_job_name', `job ${name} is defined twice`);
    const s = JOBS[name];
    this.queue.define(name, {
      queue: s.queue,
      schema: s.schema,
      attempts: def.attempts ?? s.attempts,
      backoff: def.backoff ?? ('backoff' in s ? s.backoff : undefined),
      timeoutMs: def.timeoutMs ?? ('timeoutMs' in s ? s.timeoutMs : undefined),
      // Every line the handler logs names the job, and its video and tenant (logger.ts).
      handler: (p: unknown, ctx: JobContext) =>
        withLogFields(jobLogFields(name, ctx.jobId, p), () =>
          (def.handler as (p: unknown, ctx: JobContext) => Promise<R> | R)(p, ctx),
        ),
    });
    names.add(name);
  }

  /** Start-up check: every job of the registry has a handler in this process. */
  assertAllDefined(): void {
    const names = this.defined();
    const missing = JOB_NAMES.filter((n) => !names.has(n));
    if (missing.length)
      throw new JobQueueError('unknown_job_name', `jobs without a handler: ${missing.join(', ')}`);
  }

  /**
   * Enqueues job `name`; its id is the registry's derived one unless `opts.jobId` (from `jobIds`) is
   * given. A video's job whose id cannot be derived is recorded first, so deleting the video cancels it.
   */
  async enqueue<N extends JobName>(name: N, payload: JobOf<N>, opts: EnqueueOptions = {}): Promise<string> {
    const node = await this.prepare(this.node(name, payload, opts));
    return this.queue.enqueue(node.name, node.payload, node.opts);
  }

  /** A flow node of job `name` (for enqueueFlow), with its id filled in. */
  node<N extends JobName>(name: N, payload: JobOf<N>, opts: EnqueueOptions = {}): JobNode<N> {
    return { name, payload, opts: { ...opts, jobId: opts.jobId ?? derivedJobId(name, payload) } };
  }

  /** The parent runs once every child completed (see JobQueue.enqueueFlow). */
  async enqueueFlow(parent: JobNode, children: JobNode[]) {
    for (const n of [parent, ...children]) await this.prepare(n);
    return this.queue.enqueueFlow({ parent, children });
  }

  private async prepare<N extends JobName>(node: JobNode<N>): Promise<JobNode<N>> {
    const videoId = jobVideo(node.name, node.payload);
    const jobId = node.opts?.jobId;
    if (!videoId) return node;
    if (!jobId) throw new Error(`job ${node.name} needs an id from jobIds (it belongs to a video)`);
    if (jobId === derivedJobId(node.name, node.payload)) return node;
    if (!this.videoJobs) throw new Error(`job ${node.name} with its own id needs the video job store`);
    const { tenantId } = node.payload as { tenantId: string };
    await this.videoJobs.record({ jobId, tenantId, videoId, name: node.name });
    return node;
  }

  cancel(jobId: string): Promise<boolean> {
    return this.queue.cancel(jobId);
  }

  getJob(jobId: string): Promise<JobInfo | undefined> {
    return this.queue.getJob(jobId);
  }

  /**
   * Cancels every job of a video (on delete): those derived from its row (first processing, upload,
   * import, every step of its current generation) and those recorded (retranscodes, cover changes).
   * Waiting ones never run; running ones stop.
   */
  async cancelVideoJobs(row: {
    id: string;
    tenant_id: string;
    generation?: string | null;
    plan?: string | null;
  }): Promise<void> {
    const recorded = this.videoJobs ? await this.videoJobs.list(row.tenant_id, row.id) : [];
    const ids = [...new Set([...derivedVideoJobIds(row), ...recorded])];
    await Promise.allSettled(ids.map((id) => this.queue.cancel(id)));
    await this.videoJobs?.forget(row.tenant_id, row.id);
  }
}

/** The log fields of a job run: its name and id, and the video and tenant of its payload when it has them. */
export function jobLogFields(name: string, jobId: string, payload: unknown): Record<string, string> {
  const p = (payload ?? {}) as { videoId?: unknown; tenantId?: unknown };
  return {
    job: name,
    jobId,
    ...(typeof p.videoId === 'string' && { videoId: p.videoId }),
    ...(typeof p.tenantId === 'string' && { tenantId: p.tenantId }),
  };
}
