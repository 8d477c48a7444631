/**
 * Job queue on Redis through BullMQ 5: one Queue + one Worker per resource class (cpu, io, fast) with that
 * class's concurrency, dispatching by job name; a FlowProducer for flows.
 *
 * Leases are BullMQ's job locks: lockDuration = leaseMs (renewed every leaseMs/2 while the handler
 * runs), and the stalled-job checker (every leaseMs/2) returns the job of a dead worker to `wait`.
 *
 * Cancellation: BullMQ 5 has Worker.cancelJob(), which aborts a signal but only in the process that
 * runs the job. So cancel() (1) records the id in the hash `<prefix>:vodq:cancelled` — a worker checks
 * it before running a job and fails it without running the handler; (2) removes a waiting/delayed job
 * outright; (3) publishes the id on `<prefix>:vodq:cancel`, to which every started instance listens and
 * aborts the handler's signal. A cancelled job ends BullMQ-`failed` (UnrecoverableError, no retry) and
 * is reported `cancelled`.
 */
import { DelayedError, FlowProducer, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { newId } from '../../lib/ids';
import { type AnyJob, bullJobInfo, CANCELLED, idOfKey, stateOf } from './bullmq-jobs';
import {
  backoffDelay,
  checkOptions,
  checkPayload,
  childLogger,
  concurrencyOf,
  DEFAULT_LEASE_MS,
  deferDelay,
  gaugeTable,
  JobAbandonedError,
  JobCancelledError,
  MetricsRecorder,
  Registry,
  runAttempt,
  silentLogger,
  toBullPriority,
  within,
} from './runtime';
import {
  type EnqueueOptions,
  type Flow,
  type JobDefinition,
  type JobInfo,
  type JobMetrics,
  type JobQueue,
  JobQueueError,
  QUEUE_CLASSES,
  type QueueClass,
  type QueueLogger,
  type StartOptions,
} from './types';

export interface BullJobQueueOptions {
  /** Key prefix of every queue (default `vod`); give each deployment or test its own. */
  prefix?: string;
  leaseMs?: number;
  /** A job whose worker was lost this many times ends failed (BullMQ maxStalledCount). Default 5. */
  maxStalls?: number;
  log?: QueueLogger;
  /** Errors of a dependency away for a while: the attempt is deferred, not counted (runtime.ts). */
  transient?: (err: unknown) => boolean;
}

const PENDING_TYPES = ['wait', 'prioritized', 'delayed', 'waiting-children', 'active', 'paused'] as const;
const SCAN_LIMIT = 10_000;

export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly registry = new Registry();
  private readonly recorder = new MetricsRecorder();
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly maxStalls: number;
  private readonly log: QueueLogger;
  private readonly transient?: (err: unknown) => boolean;
  private readonly producer: Redis;
  private readonly queues: Record<QueueClass, Queue>;
  private readonly flows: FlowProducer;
  private workerConn?: Redis;
  private subscriber?: Redis;
  private workers: Worker[] = [];
  private readonly running = new Map<string, AbortController>();
  private started = false;

  constructor(
    private readonly url: string,
    opts: BullJobQueueOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'vod';
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.maxStalls = opts.maxStalls ?? 5;
    this.log = opts.log ?? silentLogger;
    this.transient = opts.transient;
    // Producing fails fast when Redis is down (a request should not hang); workers retry forever.
    this.producer = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false });
    this.producer.on('error', (err) => this.log.warn({ err: err.message }, 'redis (queue producer) error'));
    this.queues = Object.fromEntries(
      QUEUE_CLASSES.map((q) => [q, new Queue(q, { connection: this.producer, prefix: this.prefix })]),
    ) as Record<QueueClass, Queue>;
    for (const q of Object.values(this.queues))
      q.on('error', (err) => this.log.warn({ err: err.message }, 'queue error'));
    this.flows = new FlowProducer({ connection: this.producer, prefix: this.prefix });
    this.flows.on('error', (err) => this.log.warn({ err: err.message }, 'flow producer error'));
  }

  private get cancelKey(): string {
    return `${this.prefix}:vodq:cancelled`;
  }
  private get cancelChannel(): string {
    return `${this.prefix}:vodq:cancel`;
  }

  define<S extends z.ZodType, R>(name: string, def: JobDefinition<S, R>): void {
    this.registry.define(name, def as unknown as JobDefinition);
  }

  // --- producing --------------------------------------------------------------------------------------

  private jobOpts(o: ReturnType<typeof checkOptions>, id: string) {
    return {
      jobId: id,
      priority: toBullPriority(o.priority),
      delay: o.delayMs || undefined,
      attempts: o.attempts,
      backoff: { type: 'vod' },
    };
  }

  async enqueue(name: string, payload: unknown, opts?: EnqueueOptions): Promise<string> {
    const def = this.registry.require(name);
    const data = checkPayload(name, def, payload);
    const o = checkOptions(def, opts);
    if (o.jobId && (await this.exists(o.jobId))) return o.jobId;
    const id = o.jobId ?? newId();
    // BullMQ itself returns the existing job when the id is taken in this queue (atomic in Redis).
    await this.queues[def.queue].add(name, data, this.jobOpts(o, id));
    return id;
  }

  async enqueueFlow(flow: Flow): Promise<{ parentId: string; childIds: string[] }> {
    if (!flow.children.length) throw new JobQueueError('invalid_options', 'A flow needs at least one child');
    const parentDef = this.registry.require(flow.parent.name);
    const parentData = checkPayload(flow.parent.name, parentDef, flow.parent.payload);
    const po = checkOptions(parentDef, flow.parent.opts);
    const children = flow.children.map((c) => {
      const def = this.registry.require(c.name);
      return { node: c, def, data: checkPayload(c.name, def, c.payload), o: checkOptions(def, c.opts) };
    });
    const parentId = po.jobId ?? newId();
    if (po.jobId) {
      const existing = await this.find(parentId);
      if (existing) {
        const deps = await existing.getDependencies();
        const keys = [...Object.keys(deps.processed ?? {}), ...(deps.unprocessed ?? [])];
        return { parentId, childIds: keys.map(idOfKey).sort() };
      }
    }
    const childIds = children.map((c) => c.o.jobId ?? newId());
    await this.flows.add({
      name: flow.parent.name,
      queueName: parentDef.queue,
      data: parentData,
      opts: this.jobOpts(po, parentId),
      children: children.map((c, i) => ({
        name: c.node.name,
        queueName: c.def.queue,
        data: c.data,
        opts: { ...this.jobOpts(c.o, childIds[i]!), failParentOnFailure: true },
      })),
    });
    return { parentId, childIds };
  }

  // --- reading ----------------------------------------------------------------------------------------

  private async find(jobId: string): Promise<AnyJob | undefined> {
    const found = await Promise.all(QUEUE_CLASSES.map((q) => this.queues[q].getJob(jobId)));
    return found.find((j) => j) as AnyJob | undefined;
  }

  private async exists(jobId: string): Promise<boolean> {
    return !!(await this.find(jobId)) || (await this.producer.hexists(this.cancelKey, jobId)) === 1;
  }

  async getJob(jobId: string): Promise<JobInfo | undefined> {
    let [job, snapshot] = await Promise.all([this.find(jobId), this.producer.hget(this.cancelKey, jobId)]);
    if (!job) return snapshot ? (JSON.parse(snapshot) as JobInfo) : undefined;
    const raw = await job.getState();
    if ((raw === 'completed' || raw === 'failed') && !job.finishedOn) {
      // It finished between reading its data and its state: read the data again for the result.
      job = ((await this.queues[job.queueName as QueueClass].getJob(jobId)) as AnyJob | undefined) ?? job;
    }
    return bullJobInfo(job, stateOf(raw, !!snapshot));
  }

  private async pendingJobs(types: readonly (typeof PENDING_TYPES)[number][]): Promise<AnyJob[]> {
    const lists = await Promise.all(
      QUEUE_CLASSES.map((q) => this.queues[q].getJobs([...types], 0, SCAN_LIMIT - 1)),
    );
    return lists.flat().filter((j): j is AnyJob => !!j);
  }

  async metrics(): Promise<Record<string, JobMetrics>> {
    const { gauges, of: g, waiting: wait } = gaugeTable();
    const [waiting, delayed, active] = await Promise.all([
      this.pendingJobs(['wait', 'prioritized', 'waiting-children', 'paused']),
      this.pendingJobs(['delayed']),
      this.pendingJobs(['active']),
    ]);
    const now = Date.now();
    // Ready since it was added, or since its delay (a retry's backoff included) ran out.
    for (const j of waiting) wait(j.name, Math.max(j.timestamp + (j.delay ?? 0), j.finishedOn ?? 0), now);
    for (const j of delayed) g(j.name).delayed++;
    for (const j of active) g(j.name).active++;
    const names = new Set([...gauges.keys(), ...this.recorder.names()]);
    return Object.fromEntries(
      [...names].map((n) => [
        n,
        this.recorder.snapshot(n, gauges.get(n) ?? { waiting: 0, delayed: 0, active: 0, oldestWaitingMs: 0 }),
      ]),
    );
  }

  ran() {
    return this.recorder.ran();
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    try {
      await this.producer.ping();
      return {
        ok: true,
        detail: `bullmq queue ${this.started ? 'running' : 'idle'}, ${this.running.size} active here`,
      };
    } catch (err) {
      return { ok: false, detail: `redis unreachable: ${(err as Error).message}` };
    }
  }

  // --- cancelling -------------------------------------------------------------------------------------

  async cancel(jobId: string): Promise<boolean> {
    const job = await this.find(jobId);
    if (!job) return false;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown') return false;
    if ((await this.producer.hexists(this.cancelKey, jobId)) === 1) return true;
    const snapshot: JobInfo = { ...bullJobInfo(job, 'cancelled'), finishedAt: new Date().toISOString() };
    await this.producer.hset(this.cancelKey, jobId, JSON.stringify(snapshot));
    // A job with no flow around it is simply removed while it waits; flow members stay so the flow
    // sees them end (a worker fails them without running the handler, which fails the parent).
    if ((state === 'waiting' || state === 'delayed' || state === 'prioritized') && !job.parentKey) {
      try {
        await job.remove();
        return true;
      } catch {
        // It became active meanwhile (locked): fall through to abort it where it runs.
      }
    } else if (state === 'delayed') {
      await job.promote().catch(() => {});
    }
    this.running.get(jobId)?.abort(new JobCancelledError());
    await this.producer.publish(this.cancelChannel, jobId);
    return true;
  }

  // --- working ----------------------------------------------------------------------------------------

  async start(opts?: StartOptions): Promise<void> {
    if (this.started) throw new JobQueueError('already_started', 'The job queue is already started');
    const concurrency = concurrencyOf(opts);
    const pending = await this.pendingJobs(PENDING_TYPES);
    this.registry.assertKnown(pending.map((j) => j.name));
    this.started = true;
    this.workerConn = new Redis(this.url, { maxRetriesPerRequest: null });
    this.workerConn.on('error', (err) => this.log.warn({ err: err.message }, 'redis (worker) error'));
    this.subscriber = this.workerConn.duplicate();
    this.subscriber.on('error', (err) =>
      this.log.warn({ err: err.message }, 'redis (cancel subscriber) error'),
    );
    this.subscriber.on('message', (_channel: string, jobId: string) => {
      this.running.get(jobId)?.abort(new JobCancelledError());
    });
    await this.subscriber.subscribe(this.cancelChannel);
    const stallMs = Math.max(200, Math.floor(this.leaseMs / 2));
    this.workers = QUEUE_CLASSES.filter((q) => concurrency[q] > 0).map((q) => {
      const w = new Worker(q, (job, token, signal) => this.process(job as AnyJob, token, signal), {
        connection: this.workerConn!,
        prefix: this.prefix,
        concurrency: concurrency[q],
        lockDuration: this.leaseMs,
        stalledInterval: stallMs,
        maxStalledCount: this.maxStalls,
        drainDelay: 1,
        settings: {
          backoffStrategy: (attemptsMade, _type, _err, job) =>
            backoffDelay(job && this.registry.get(job.name), attemptsMade),
        },
      });
      w.on('error', (err) => this.log.warn({ err: err.message, queue: q }, 'bullmq worker error'));
      return w;
    });
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /** Per job, how many of its attempts were deferred (BullMQ counts every start in attemptsStarted). */
  private get deferKey(): string {
    return `${this.prefix}:deferred-attempts`;
  }

  private async process(job: AnyJob, token?: string, bullSignal?: AbortSignal): Promise<unknown> {
    const def = this.registry.get(job.name);
    if (!def) throw new UnrecoverableError(`no handler registered for job "${job.name}"`);
    if ((await this.producer.hexists(this.cancelKey, job.id!)) === 1) throw new UnrecoverableError(CANCELLED);
    const controller = new AbortController();
    bullSignal?.addEventListener('abort', () => controller.abort(new JobCancelledError()), { once: true });
    this.running.set(job.id!, controller);
    const started = Date.now();
    // Only a job started before can have deferred attempts: a first start costs no Redis round trip.
    const deferred =
      (job.attemptsStarted ?? 0) > 1 ? Number((await this.producer.hget(this.deferKey, job.id!)) ?? 0) : 0;
    const attempt = Math.max(1, (job.attemptsStarted || 1) - deferred);
    const outcome = await runAttempt(def, {
      id: job.id!,
      name: job.name,
      attempt,
      maxAttempts: job.opts.attempts ?? 1,
      payload: job.data,
      controller,
      log: childLogger(this.log, { jobId: job.id, job: job.name, attempt }),
      transient: this.transient,
      progress: async (value) => {
        await job.updateProgress(value);
      },
      childResults: async () => {
        const values = await job.getChildrenValues();
        return Object.fromEntries(Object.entries(values).map(([key, v]) => [idOfKey(key), v ?? null]));
      },
    }).finally(() => this.running.delete(job.id!));
    this.recorder.record(job.name, outcome, Date.now() - started);
    if (outcome.status === 'failed' && outcome.deferred && token) {
      // A dependency is away: run again soon without using up an attempt (BullMQ counts no failure for a
      // DelayedError; the deferral is remembered to number the attempts).
      this.log.warn({ jobId: job.id, job: job.name, error: outcome.error }, 'job attempt deferred');
      await this.producer.hincrby(this.deferKey, job.id!, 1);
      await job.moveToDelayed(Date.now() + deferDelay(def, attempt), token);
      throw new DelayedError();
    }
    const ends =
      outcome.status === 'completed' ||
      outcome.status === 'cancelled' ||
      (outcome.status === 'failed' && !outcome.retry);
    if (deferred && ends) await this.producer.hdel(this.deferKey, job.id!);
    switch (outcome.status) {
      case 'completed':
        return outcome.result;
      case 'cancelled':
        throw new UnrecoverableError(CANCELLED);
      case 'failed':
        this.log.warn(
          { jobId: job.id, job: job.name, error: outcome.error, retry: outcome.retry },
          'job attempt failed',
        );
        throw outcome.retry ? new Error(outcome.error) : new UnrecoverableError(outcome.error);
      case 'abandoned':
        // The worker is stopping past its bound: record nothing; the lock expires and the job runs again.
        return new Promise<never>(() => {});
    }
  }

  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const workers = this.workers;
    this.workers = [];
    // pause() stops fetching and resolves once the running jobs have finished and been recorded.
    const finished = await within(Promise.all(workers.map((w) => w.pause())), opts.timeoutMs ?? 30_000);
    if (!finished) {
      this.log.warn(
        { jobs: [...this.running.keys()] },
        'job queue stopped with jobs running; their locks will expire',
      );
      for (const c of this.running.values()) c.abort(new JobAbandonedError('worker stopping'));
    }
    await Promise.allSettled(workers.map((w) => w.close(true)));
    await this.subscriber?.quit().catch(() => {});
    await this.workerConn?.quit().catch(() => {});
    this.subscriber = undefined;
    this.workerConn = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await Promise.allSettled([...Object.values(this.queues).map((q) => q.close()), this.flows.close()]);
    await this.producer.quit().catch(() => {});
  }
}
