/**
 * Job queue kept in the main database (table `jobs`, migration 002), for SQLite, MariaDB and PostgreSQL.
 *
 * Claiming is a compare-and-set: a worker selects candidate ids, then
 *   UPDATE jobs SET state='active', lease_token=<fresh>, lease_until=now+lease, attempts=attempts+1
 *   WHERE id=? AND state='waiting' AND attempts=<seen> AND run_at<=now
 * and owns the job only when that changed one row — safe with any number of processes on all three
 * engines, with no engine-specific locking. Every later write by the worker (progress, completion,
 * retry, failure) is conditional on its lease token, so a worker that lost its lease writes nothing.
 * A heartbeat renews the leases of running jobs; a reaper returns jobs whose lease expired (their
 * worker died) to `waiting` — or to `failed` once they used all their attempts.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { DB } from '../../db/schema';
import { newId } from '../../lib/ids';
import { cancelJob, reapExpired, recordOutcome, renewLeases } from './db-leases';
import { every, insertFlow, newRow, PENDING_STATES, pendingGauges, toInfo } from './db-rows';
import {
  checkOptions,
  checkPayload,
  childLogger,
  concurrencyOf,
  DEFAULT_LEASE_MS,
  JobAbandonedError,
  JobCancelledError,
  MetricsRecorder,
  Registry,
  runAttempt,
  silentLogger,
  within,
} from './runtime';
import {
  type EnqueueOptions,
  type Flow,
  type JobDefinition,
  type JobInfo,
  type JobMetrics,
  type JobProgress,
  type JobQueue,
  JobQueueError,
  QUEUE_CLASSES,
  type QueueClass,
  type QueueLogger,
  type StartOptions,
} from './types';

export interface DbJobQueueOptions {
  leaseMs?: number;
  /** Errors of a dependency away for a while: the attempt is deferred, not counted (runtime.ts). */
  transient?: (err: unknown) => boolean;
  /** How often an idle worker looks for due jobs; an enqueue in this process wakes it at once. */
  pollMs?: number;
  log?: QueueLogger;
}

interface Running {
  id: string;
  name: string;
  queue: QueueClass;
  token: string;
  parentId: string | null;
  controller: AbortController;
  done: Promise<void>;
}

export class DbJobQueue implements JobQueue {
  readonly kind = 'db' as const;
  private readonly registry = new Registry();
  private readonly recorder = new MetricsRecorder();
  private readonly db: Kysely<DB>;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly log: QueueLogger;
  private readonly transient?: (err: unknown) => boolean;
  private readonly running = new Map<string, Running>();
  private readonly wakers = new Map<QueueClass, () => void>();
  private readonly pendingWake = new Set<QueueClass>();
  private concurrency: Record<QueueClass, number> = { cpu: 0, io: 0, fast: 0, detect: 0 };
  private started = false;
  private loops: Promise<void>[] = [];
  private timers: NodeJS.Timeout[] = [];

  constructor(database: Database, opts: DbJobQueueOptions = {}) {
    this.db = database.primary;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.pollMs = opts.pollMs ?? 100;
    this.log = opts.log ?? silentLogger;
    this.transient = opts.transient;
  }

  define<S extends z.ZodType, R>(name: string, def: JobDefinition<S, R>): void {
    this.registry.define(name, def as unknown as JobDefinition);
  }

  // --- producing --------------------------------------------------------------------------------------

  async enqueue(name: string, payload: unknown, opts?: EnqueueOptions): Promise<string> {
    const def = this.registry.require(name);
    const data = checkPayload(name, def, payload);
    const o = checkOptions(def, opts);
    const id = o.jobId ?? newId();
    const now = Date.now();
    try {
      await this.db
        .insertInto('jobs')
        .values(newRow(id, name, def, data, o, now, 'waiting', null, 0))
        .execute();
    } catch (err) {
      if (o.jobId && isUniqueViolation(err)) return id;
      throw err;
    }
    this.wake(def.queue);
    return id;
  }

  async enqueueFlow(flow: Flow): Promise<{ parentId: string; childIds: string[] }> {
    const { parentId, childIds, queues } = await insertFlow(this.db, this.registry, flow);
    for (const q of queues) this.wake(q);
    return { parentId, childIds };
  }

  // --- reading ----------------------------------------------------------------------------------------

  async getJob(jobId: string): Promise<JobInfo | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    return row ? toInfo(row, Date.now()) : undefined;
  }

  async metrics(): Promise<Record<string, JobMetrics>> {
    const now = Date.now();
    const gauges = await pendingGauges(this.db, now);
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
      await this.db.selectFrom('jobs').select('id').limit(1).execute();
      return {
        ok: true,
        detail: `db queue ${this.started ? 'running' : 'idle'}, ${this.running.size} active here`,
      };
    } catch (err) {
      return { ok: false, detail: `db queue store unreachable: ${(err as Error).message}` };
    }
  }

  // --- cancelling -------------------------------------------------------------------------------------

  async cancel(jobId: string): Promise<boolean> {
    return cancelJob(this.db, jobId, (id) => this.running.get(id)?.controller.abort(new JobCancelledError()));
  }

  // --- working ----------------------------------------------------------------------------------------

  async start(opts?: StartOptions): Promise<void> {
    if (this.started) throw new JobQueueError('already_started', 'The job queue is already started');
    const concurrency = concurrencyOf(opts);
    const stored = await this.db
      .selectFrom('jobs')
      .select('name')
      .distinct()
      .where('state', 'in', PENDING_STATES)
      .execute();
    this.registry.assertKnown(stored.map((r) => r.name));
    this.concurrency = concurrency;
    this.started = true;
    this.loops = QUEUE_CLASSES.filter((q) => concurrency[q] > 0).map((q) => this.claimLoop(q));
    const beat = Math.max(50, Math.min(Math.floor(this.leaseMs / 3), 1000));
    const reap = Math.max(100, Math.min(Math.floor(this.leaseMs / 2), 1000));
    this.timers = [every(beat, () => this.heartbeat(), this.log), every(reap, () => this.reap(), this.log)];
    void this.reap().catch((err) => this.log.warn({ err }, 'job reaper failed'));
  }

  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const q of QUEUE_CLASSES) this.wake(q);
    await Promise.allSettled(this.loops);
    this.loops = [];
    const running = [...this.running.values()];
    const finished = await within(Promise.allSettled(running.map((r) => r.done)), opts.timeoutMs ?? 30_000);
    if (!finished) {
      for (const r of this.running.values()) r.controller.abort(new JobAbandonedError('worker stopping'));
      this.log.warn(
        { jobs: [...this.running.keys()] },
        'job queue stopped with jobs running; their leases will expire',
      );
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  async close(): Promise<void> {
    await this.stop();
  }

  private wake(queue: QueueClass): void {
    const w = this.wakers.get(queue);
    if (w) w();
    else this.pendingWake.add(queue);
  }

  private sleep(queue: QueueClass, ms: number): Promise<void> {
    if (this.pendingWake.delete(queue)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(queue, () => {
        this.wakers.delete(queue);
        done();
      });
    }).finally(() => this.wakers.delete(queue));
  }

  private activeIn(queue: QueueClass): number {
    let n = 0;
    for (const r of this.running.values()) if (r.queue === queue) n++;
    return n;
  }

  private async claimLoop(queue: QueueClass): Promise<void> {
    while (this.started) {
      const free = this.concurrency[queue] - this.activeIn(queue);
      let seen = 0;
      if (free > 0) {
        try {
          seen = await this.claim(queue, free);
        } catch (err) {
          this.log.warn({ err, queue }, 'claiming jobs failed');
        }
      }
      if (!this.started) break;
      // Jobs were due (claimed, or won by another worker): look again at once; else wait for a wake-up.
      if (seen === 0) await this.sleep(queue, this.pollMs);
    }
  }

  /** Claims up to `free` due jobs and starts them; returns how many due jobs it saw. */
  private async claim(queue: QueueClass, free: number): Promise<number> {
    const names = this.registry.namesIn(queue);
    if (!names.length) return 0;
    const now = Date.now();
    const candidates = await this.db
      .selectFrom('jobs')
      .select(['id', 'name', 'payload', 'attempts', 'max_attempts', 'parent_id'])
      .where('queue', '=', queue)
      .where('state', '=', 'waiting')
      .where('run_at', '<=', now)
      .where('name', 'in', names)
      .orderBy('priority', 'desc')
      .orderBy('run_at', 'asc')
      .orderBy('id', 'asc')
      .limit(free)
      .execute();
    for (const c of candidates) {
      if (!this.started) break;
      const token = randomBytes(12).toString('hex');
      const at = Date.now();
      const res = await this.db
        .updateTable('jobs')
        .set({
          state: 'active',
          lease_token: token,
          lease_until: at + this.leaseMs,
          attempts: c.attempts + 1,
          started_at: at,
        })
        .where('id', '=', c.id)
        .where('state', '=', 'waiting')
        .where('attempts', '=', c.attempts)
        .where('run_at', '<=', at)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue; // another worker won it
      this.launch(queue, c, token, c.attempts + 1);
    }
    return candidates.length;
  }

  private launch(
    queue: QueueClass,
    row: { id: string; name: string; payload: string; max_attempts: number; parent_id: string | null },
    token: string,
    attempt: number,
  ): void {
    const def = this.registry.require(row.name);
    const controller = new AbortController();
    const entry: Running = {
      id: row.id,
      name: row.name,
      queue,
      token,
      parentId: row.parent_id,
      controller,
      done: Promise.resolve(),
    };
    const log = childLogger(this.log, { jobId: row.id, job: row.name, attempt });
    let progressWrite = Promise.resolve();
    entry.done = (async () => {
      const started = Date.now();
      const outcome = await runAttempt(def, {
        id: row.id,
        name: row.name,
        attempt,
        maxAttempts: row.max_attempts,
        payload: JSON.parse(row.payload),
        controller,
        log,
        transient: this.transient,
        progress: (value: JobProgress) => {
          const text = JSON.stringify(value);
          progressWrite = progressWrite
            .then(() =>
              this.db
                .updateTable('jobs')
                .set({ progress: text })
                .where('id', '=', row.id)
                .where('lease_token', '=', token)
                .execute(),
            )
            .then(() => undefined);
          return progressWrite;
        },
        childResults: () => this.childResults(row.id),
      });
      this.recorder.record(row.name, outcome, Date.now() - started);
      await progressWrite.catch(() => {});
      if (outcome.status !== 'abandoned') {
        try {
          const parentQueue = await recordOutcome(this.db, entry, def, attempt, outcome);
          if (parentQueue) this.wake(parentQueue);
        } catch (err) {
          // Not recorded: the lease expires and the job runs again (at-least-once).
          log.error({ err }, 'recording the job outcome failed');
        }
      }
      if (outcome.status === 'failed')
        log.warn({ error: outcome.error, retry: outcome.retry }, 'job attempt failed');
    })().finally(() => {
      this.running.delete(row.id);
      this.wake(queue);
    });
    this.running.set(row.id, entry);
  }

  private async childResults(parentId: string): Promise<Record<string, unknown>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'result'])
      .where('parent_id', '=', parentId)
      .where('state', '=', 'completed')
      .orderBy('id')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.id, r.result === null ? null : JSON.parse(r.result)]));
  }

  /** Renews the leases of the jobs running here; aborts those whose lease was lost or that were cancelled. */
  private async heartbeat(): Promise<void> {
    await renewLeases(this.db, [...this.running.values()], this.leaseMs);
  }

  /** Jobs whose lease expired lost their worker: back to waiting, or failed/cancelled when that is final. */
  private async reap(): Promise<void> {
    for (const q of await reapExpired(this.db, this.log)) this.wake(q);
  }
}
