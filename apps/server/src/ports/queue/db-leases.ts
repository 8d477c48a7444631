/**
 * The lease-bound state changes of the db job queue (see db.ts): cancelling, recording an attempt's
 * outcome, renewing the leases of running jobs, reaping expired ones. Every write by a worker is
 * conditional on its lease token, so a worker that lost its lease writes nothing.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema';
import { transaction } from './db-rows';
import {
  type AttemptOutcome,
  backoffDelay,
  deferDelay,
  JobAbandonedError,
  JobCancelledError,
} from './runtime';
import type { JobDefinition, QueueClass, QueueLogger } from './types';

type Executor = Kysely<DB> | Transaction<DB>;

/**
 * Cancels a job: a waiting or blocked one at once (failing its parent, cancelling its children), an active
 * one by request (`onActive` aborts it when it runs here; elsewhere its heartbeat sees the request).
 */
export async function cancelJob(
  db: Kysely<DB>,
  jobId: string,
  onActive: (jobId: string) => void,
): Promise<boolean> {
  for (let tries = 0; tries < 5; tries++) {
    const row = await db
      .selectFrom('jobs')
      .select(['state', 'parent_id'])
      .where('id', '=', jobId)
      .executeTakeFirst();
    if (!row) return false;
    if (row.state === 'waiting' || row.state === 'blocked') {
      const now = Date.now();
      const done = await transaction(db, async (trx) => {
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
      const res = await db
        .updateTable('jobs')
        .set({ cancel_requested: 1 })
        .where('id', '=', jobId)
        .where('state', '=', 'active')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue;
      // Here at once; in another process through its heartbeat (or the reaper, should it have died).
      onActive(jobId);
      return true;
    }
    return false;
  }
  return false;
}

/**
 * Records the outcome of an attempt, conditional on the worker's lease: completed (unblocking the parent
 * once its last child completed), waiting again for a retry, or failed / cancelled (failing the parent).
 * Returns the queue of a parent that became due, to wake its workers.
 */
export async function recordOutcome(
  db: Kysely<DB>,
  job: { id: string; token: string; parentId: string | null },
  def: JobDefinition,
  attempt: number,
  outcome: AttemptOutcome,
): Promise<QueueClass | undefined> {
  const now = Date.now();
  const mine = (trx: Executor) =>
    trx
      .updateTable('jobs')
      .where('id', '=', job.id)
      .where('lease_token', '=', job.token)
      .where('state', '=', 'active');
  let wakeParent = false;
  await transaction(db, async (trx) => {
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
        .set((eb) => ({
          state: 'waiting',
          run_at: now + (outcome.deferred ? deferDelay(def, attempt) : backoffDelay(def, attempt)),
          error: outcome.error,
          lease_token: null,
          lease_until: null,
          // A deferred attempt (a dependency away) is not counted.
          ...(outcome.deferred && { attempts: eb('attempts', '-', 1) }),
        }))
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
    const parent = await db
      .selectFrom('jobs')
      .select('queue')
      .where('id', '=', job.parentId)
      .executeTakeFirst();
    if (parent) return parent.queue as QueueClass;
  }
  return undefined;
}

/**
 * Renews the leases of the jobs running here; aborts those whose lease was lost or that were cancelled.
 */
export async function renewLeases(
  db: Kysely<DB>,
  entries: ReadonlyArray<{ id: string; token: string; controller: AbortController }>,
  leaseMs: number,
): Promise<void> {
  if (!entries.length) return;
  const now = Date.now();
  await db
    .updateTable('jobs')
    .set({ lease_until: now + leaseMs })
    .where(
      'lease_token',
      'in',
      entries.map((e) => e.token),
    )
    .where('state', '=', 'active')
    .execute();
  const rows = await db
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
export async function reapExpired(db: Kysely<DB>, log: QueueLogger): Promise<QueueClass[]> {
  const woken: QueueClass[] = [];
  const now = Date.now();
  const expired = await db
    .selectFrom('jobs')
    .select(['id', 'lease_token', 'attempts', 'max_attempts', 'cancel_requested', 'parent_id', 'queue'])
    .where('state', '=', 'active')
    .where('lease_until', '<', now)
    .limit(100)
    .execute();
  for (const j of expired) {
    const final = j.cancel_requested === 1 || j.attempts >= j.max_attempts;
    await transaction(db, async (trx) => {
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
    if (!final) woken.push(j.queue as QueueClass);
    log.warn({ jobId: j.id, attempts: j.attempts, final }, 'job lease expired; worker presumed dead');
  }
  return woken;
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
