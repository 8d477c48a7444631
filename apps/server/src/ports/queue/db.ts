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
import type { Kysely, Transaction } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { DB, JobsTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import {
  type AttemptOutcome,
  backoffDelay,
  checkOptions,
  checkPayload,
  childLogger,
  concurrencyOf,
  DEFAULT_LEASE_MS,
  iso,
  JobAbandonedError,
  JobCancelledError,
  MetricsRecorder,
  Registry,
  runAttempt,
  silentLogger,
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
  type JobState,
  QUEUE_CLASSES,
  type QueueClass,
  type QueueLogger,
  type StartOptions,
} from './types';

export interface DbJobQueueOptions {
  leaseMs?: number;
  /** How often an idle worker looks for due jobs; an enqueue in this process wakes it at once. */
  pollMs?: number;
  log?: QueueLogger;
}

type Executor = Kysely<DB> | Transaction<DB>;

interface Running {
  id: string;
  name: string;
  queue: QueueClass;
  token: string;
  parentId: string | null;
  controller: AbortController;
  done: Promise<void>;
}

const PENDING_STATES = ['waiting', 'blocked', 'active'];
/** Deadlock victim (MariaDB, PostgreSQL), serialization failure, lock wait timeout, busy SQLite file. */
const RETRYABLE_CODES = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  '40P01',
  '40001',
  'SQLITE_BUSY',
]);

export class DbJobQueue implements JobQueue {
  readonly kind = 'db' as const;
  private readonly registry = new Registry();
  private readonly recorder = new MetricsRecorder();
  private readonly db: Kysely<DB>;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly log: QueueLogger;
  private readonly running = new Map<string, Running>();
  private readonly wakers = new Map<QueueClass, () => void>();
  private readonly pendingWake = new Set<QueueClass>();
  private concurrency: Record<QueueClass, number> = { cpu: 0, io: 0, fast: 0 };
  private started = false;
  private loops: Promise<void>[] = [];
  private timers: NodeJS.Timeout[] = [];

  constructor(database: Database, opts: DbJobQueueOptions = {}) {
    this.db = database.primary;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.pollMs = opts.pollMs ?? 100;
    this.log = opts.log ?? silentLogger;
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
        .values(this.newRow(id, name, def, data, o, now, 'waiting', null, 0))
        .execute();
    } catch (err) {
      if (o.jobId && isUniqueViolation(err)) return id;
      throw err;
    }
    this.wake(def.queue);
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
      const existing = await this.db
        .selectFrom('jobs')
        .select('id')
        .where('id', '=', parentId)
        .executeTakeFirst();
      if (existing) {
        const kids = await this.db
          .selectFrom('jobs')
          .select('id')
          .where('parent_id', '=', parentId)
          .orderBy('id')
          .execute();
        return { parentId, childIds: kids.map((k) => k.id) };
      }
    }
    const now = Date.now();
    const childIds = children.map((c) => c.o.jobId ?? newId());
    try {
      await this.transaction(async (trx) => {
        await trx
          .insertInto('jobs')
          .values(
            this.newRow(
              parentId,
              flow.parent.name,
              parentDef,
              parentData,
              po,
              now,
              'blocked',
              null,
              children.length,
            ),
          )
          .execute();
        for (const [i, c] of children.entries()) {
          await trx
            .insertInto('jobs')
            .values(this.newRow(childIds[i]!, c.node.name, c.def, c.data, c.o, now, 'waiting', parentId, 0))
            .execute();
        }
      });
    } catch (err) {
      if (po.jobId && isUniqueViolation(err)) {
        const existing = await this.db
          .selectFrom('jobs')
          .select('id')
          .where('id', '=', parentId)
          .executeTakeFirst();
        if (existing) return this.enqueueFlow(flow);
      }
      throw err;
    }
    for (const c of children) this.wake(c.def.queue);
    return { parentId, childIds };
  }

  private newRow(
    id: string,
    name: string,
    def: JobDefinition,
    data: unknown,
    o: ReturnType<typeof checkOptions>,
    now: number,
    state: 'waiting' | 'blocked',
    parentId: string | null,
    pendingChildren: number,
  ): JobsTable {
    return {
      id,
      name,
      queue: def.queue,
      state,
      payload: JSON.stringify(data),
      priority: o.priority,
      run_at: now + o.delayMs,
      attempts: 0,
      max_attempts: o.attempts,
      lease_token: null,
      lease_until: null,
      cancel_requested: 0,
      progress: null,
      result: null,
      error: null,
      parent_id: parentId,
      pending_children: pendingChildren,
      created_at: now,
      started_at: null,
      finished_at: null,
    };
  }

  // --- reading ----------------------------------------------------------------------------------------

  async getJob(jobId: string): Promise<JobInfo | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    return row ? toInfo(row, Date.now()) : undefined;
  }

  async metrics(): Promise<Record<string, JobMetrics>> {
    const now = Date.now();
    const rows = await this.db
      .selectFrom('jobs')
      .select(['name', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .select((eb) =>
        eb.fn
          .sum<number | string | null>(eb.case().when('run_at', '>', now).then(1).else(0).end())
          .as('later'),
      )
      .where('state', 'in', PENDING_STATES)
      .groupBy(['name', 'state'])
      .execute();
    const gauges = new Map<string, { waiting: number; delayed: number; active: number }>();
    const g = (name: string) => {
      let v = gauges.get(name);
      if (!v) {
        v = { waiting: 0, delayed: 0, active: 0 };
        gauges.set(name, v);
      }
      return v;
    };
    for (const r of rows) {
      const n = Number(r.n);
      const later = Number(r.later ?? 0);
      if (r.state === 'active') g(r.name).active += n;
      else if (r.state === 'blocked') g(r.name).waiting += n;
      else {
        g(r.name).waiting += n - later;
        g(r.name).delayed += later;
      }
    }
    const names = new Set([...gauges.keys(), ...this.recorder.names()]);
    return Object.fromEntries(
      [...names].map((n) => [
        n,
        this.recorder.snapshot(n, gauges.get(n) ?? { waiting: 0, delayed: 0, active: 0 }),
      ]),
    );
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
    for (let tries = 0; tries < 5; tries++) {
      const row = await this.db
        .selectFrom('jobs')
        .select(['state', 'parent_id'])
        .where('id', '=', jobId)
        .executeTakeFirst();
      if (!row) return false;
      if (row.state === 'waiting' || row.state === 'blocked') {
        const now = Date.now();
        const done = await this.transaction(async (trx) => {
          const res = await trx
            .updateTable('jobs')
            .set({ state: 'cancelled', finished_at: now, error: 'cancelled' })
            .where('id', '=', jobId)
            .where('state', '=', row.state)
            .executeTakeFirst();
          if (Number(res.numUpdatedRows) !== 1) return false;
          if (row.parent_id) await failParent(trx, row.parent_id, `child ${jobId} was cancelled`, now);
          if (row.state === 'blocked') {
            await trx
              .updateTable('jobs')
              .set({ state: 'cancelled', finished_at: now, error: `parent ${jobId} was cancelled` })
              .where('parent_id', '=', jobId)
              .where('state', '=', 'waiting')
              .execute();
            await trx
              .updateTable('jobs')
              .set({ cancel_requested: 1 })
              .where('parent_id', '=', jobId)
              .where('state', '=', 'active')
              .execute();
          }
          return true;
        });
        if (done) return true;
        continue; // its state changed under us: look again
      }
      if (row.state === 'active') {
        const res = await this.db
          .updateTable('jobs')
          .set({ cancel_requested: 1 })
          .where('id', '=', jobId)
          .where('state', '=', 'active')
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) continue;
        // Here at once; in another process through its heartbeat (or the reaper, should it have died).
        this.running.get(jobId)?.controller.abort(new JobCancelledError());
        return true;
      }
      return false;
    }
    return false;
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

  /** A transaction, retried when the engine chose it as a deadlock victim or was busy. */
  private async transaction<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await this.db.transaction().execute(fn);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (i >= 4 || typeof code !== 'string' || !RETRYABLE_CODES.has(code)) throw err;
        await new Promise((r) => setTimeout(r, 20 * i + Math.random() * 30));
      }
    }
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
          await this.finish(entry, def, attempt, outcome);
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

  private async finish(
    job: Running,
    def: JobDefinition,
    attempt: number,
    outcome: AttemptOutcome,
  ): Promise<void> {
    const now = Date.now();
    const mine = (trx: Executor) =>
      trx
        .updateTable('jobs')
        .where('id', '=', job.id)
        .where('lease_token', '=', job.token)
        .where('state', '=', 'active');
    let wakeParent = false;
    await this.transaction(async (trx) => {
      if (outcome.status === 'completed') {
        const res = await mine(trx)
          .set({
            state: 'completed',
            result: JSON.stringify(outcome.result),
            error: null,
            finished_at: now,
            lease_token: null,
            lease_until: null,
          })
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1 || !job.parentId) return;
        await trx
          .updateTable('jobs')
          .set((eb) => ({ pending_children: eb('pending_children', '-', 1) }))
          .where('id', '=', job.parentId)
          .execute();
        const unblocked = await trx
          .updateTable('jobs')
          .set({ state: 'waiting' })
          .where('id', '=', job.parentId)
          .where('state', '=', 'blocked')
          .where('pending_children', '<=', 0)
          .executeTakeFirst();
        wakeParent = Number(unblocked.numUpdatedRows) === 1;
        return;
      }
      if (outcome.status === 'failed' && outcome.retry) {
        // Retry unless a cancel arrived meanwhile (then the cancelled branch below applies).
        const res = await mine(trx)
          .where('cancel_requested', '=', 0)
          .set({
            state: 'waiting',
            run_at: now + backoffDelay(def, attempt),
            error: outcome.error,
            lease_token: null,
            lease_until: null,
          })
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) return;
      }
      const cancelled =
        outcome.status === 'cancelled' ||
        (await trx.selectFrom('jobs').select('cancel_requested').where('id', '=', job.id).executeTakeFirst())
          ?.cancel_requested === 1;
      const error = cancelled ? 'cancelled' : outcome.status === 'failed' ? outcome.error : 'failed';
      const res = await mine(trx)
        .set({
          state: cancelled ? 'cancelled' : 'failed',
          error,
          finished_at: now,
          lease_token: null,
          lease_until: null,
        })
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1 && job.parentId) {
        await failParent(
          trx,
          job.parentId,
          `child ${job.id} ${cancelled ? 'was cancelled' : `failed: ${error}`}`,
          now,
        );
      }
    });
    if (wakeParent && job.parentId) {
      const parent = await this.db
        .selectFrom('jobs')
        .select('queue')
        .where('id', '=', job.parentId)
        .executeTakeFirst();
      if (parent) this.wake(parent.queue as QueueClass);
    }
  }

  /** Renews the leases of the jobs running here; aborts those whose lease was lost or that were cancelled. */
  private async heartbeat(): Promise<void> {
    const entries = [...this.running.values()];
    if (!entries.length) return;
    const now = Date.now();
    await this.db
      .updateTable('jobs')
      .set({ lease_until: now + this.leaseMs })
      .where(
        'lease_token',
        'in',
        entries.map((e) => e.token),
      )
      .where('state', '=', 'active')
      .execute();
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'state', 'lease_token', 'cancel_requested'])
      .where(
        'id',
        'in',
        entries.map((e) => e.id),
      )
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const e of entries) {
      const r = byId.get(e.id);
      if (r?.state !== 'active' || r.lease_token !== e.token) {
        e.controller.abort(new JobAbandonedError('lease lost'));
      } else if (r.cancel_requested === 1) {
        e.controller.abort(new JobCancelledError());
      }
    }
  }

  /** Jobs whose lease expired lost their worker: back to waiting, or failed/cancelled when that is final. */
  private async reap(): Promise<void> {
    const now = Date.now();
    const expired = await this.db
      .selectFrom('jobs')
      .select(['id', 'lease_token', 'attempts', 'max_attempts', 'cancel_requested', 'parent_id', 'queue'])
      .where('state', '=', 'active')
      .where('lease_until', '<', now)
      .limit(100)
      .execute();
    for (const j of expired) {
      const final = j.cancel_requested === 1 || j.attempts >= j.max_attempts;
      await this.transaction(async (trx) => {
        const base = trx
          .updateTable('jobs')
          .where('id', '=', j.id)
          .where('state', '=', 'active')
          .where('lease_token', '=', j.lease_token)
          .where('lease_until', '<', now);
        if (!final) {
          await base.set({ state: 'waiting', run_at: now, lease_token: null, lease_until: null }).execute();
          return;
        }
        const state = j.cancel_requested === 1 ? 'cancelled' : 'failed';
        const error =
          state === 'cancelled' ? 'cancelled' : `worker lost (lease expired) on attempt ${j.attempts}`;
        const res = await base
          .set({ state, error, finished_at: now, lease_token: null, lease_until: null })
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1 && j.parent_id) {
          await failParent(
            trx,
            j.parent_id,
            `child ${j.id} ${state === 'cancelled' ? 'was cancelled' : `failed: ${error}`}`,
            now,
          );
        }
      });
      if (!final) this.wake(j.queue as QueueClass);
      this.log.warn({ jobId: j.id, attempts: j.attempts, final }, 'job lease expired; worker presumed dead');
    }
  }
}

/** A child ended failed or cancelled: its parent fails (it never runs) and its waiting siblings are cancelled. */
async function failParent(trx: Executor, parentId: string, error: string, now: number): Promise<void> {
  const res = await trx
    .updateTable('jobs')
    .set({ state: 'failed', error, finished_at: now })
    .where('id', '=', parentId)
    .where('state', '=', 'blocked')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return;
  await trx
    .updateTable('jobs')
    .set({ state: 'cancelled', error: `parent ${parentId} failed`, finished_at: now })
    .where('parent_id', '=', parentId)
    .where('state', '=', 'waiting')
    .execute();
}

function toInfo(row: JobsTable, now: number): JobInfo {
  let state: JobState;
  if (row.state === 'blocked') state = 'waiting';
  else if (row.state === 'waiting') state = Number(row.run_at) > now ? 'delayed' : 'waiting';
  else state = row.state as JobState;
  const info: JobInfo = {
    id: row.id,
    name: row.name,
    queue: row.queue as QueueClass,
    state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    payload: JSON.parse(row.payload),
    progress: row.progress === null ? 0 : JSON.parse(row.progress),
    createdAt: iso(Number(row.created_at))!,
  };
  if (row.result !== null) info.result = JSON.parse(row.result);
  if (row.error !== null) info.error = row.error;
  if (row.parent_id !== null) info.parentId = row.parent_id;
  if (row.finished_at !== null) info.finishedAt = iso(Number(row.finished_at));
  return info;
}

function every(ms: number, fn: () => Promise<void>, log: QueueLogger): NodeJS.Timeout {
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    busy = true;
    fn()
      .catch((err) => log.warn({ err }, 'job queue background task failed'))
      .finally(() => {
        busy = false;
      });
  }, ms);
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
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
