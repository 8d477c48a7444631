/**
 * The `jobs` table of the db job queue (see db.ts): new rows and flows, reading them, the retried
 * transaction every multi-row change runs in.
 */
import type { Kysely, Transaction } from 'kysely';
import { isUniqueViolation } from '../../db/errors';
import type { DB, JobsTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import { checkOptions, checkPayload, gaugeTable, iso, type Registry } from './runtime';
import {
  type Flow,
  type JobDefinition,
  type JobInfo,
  JobQueueError,
  type JobState,
  type QueueClass,
  type QueueLogger,
} from './types';

export const PENDING_STATES = ['waiting', 'blocked', 'active'];
/** Deadlock victim (MariaDB, PostgreSQL), serialization failure, lock wait timeout, busy SQLite file. */
const RETRYABLE_CODES = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  '40P01',
  '40001',
  'SQLITE_BUSY',
]);

/** A transaction, retried when the engine chose it as a deadlock victim or was busy. */
export async function transaction<T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (i >= 4 || typeof code !== 'string' || !RETRYABLE_CODES.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 20 * i + Math.random() * 30));
    }
  }
}

export function newRow(
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

/**
 * Inserts a flow in one transaction: the parent `blocked` until its children complete, the children
 * `waiting`. With a parent job id that exists already, answers the existing flow. Returns the queues of the
 * new children (to wake their workers).
 */
export async function insertFlow(
  db: Kysely<DB>,
  registry: Registry,
  flow: Flow,
): Promise<{ parentId: string; childIds: string[]; queues: QueueClass[] }> {
  if (!flow.children.length) throw new JobQueueError('invalid_options', 'A flow needs at least one child');
  const parentDef = registry.require(flow.parent.name);
  const parentData = checkPayload(flow.parent.name, parentDef, flow.parent.payload);
  const po = checkOptions(parentDef, flow.parent.opts);
  const children = flow.children.map((c) => {
    const def = registry.require(c.name);
    return { node: c, def, data: checkPayload(c.name, def, c.payload), o: checkOptions(def, c.opts) };
  });
  const parentId = po.jobId ?? newId();
  if (po.jobId) {
    const existing = await db.selectFrom('jobs').select('id').where('id', '=', parentId).executeTakeFirst();
    if (existing) {
      const kids = await db
        .selectFrom('jobs')
        .select('id')
        .where('parent_id', '=', parentId)
        .orderBy('id')
        .execute();
      return { parentId, childIds: kids.map((k) => k.id), queues: [] };
    }
  }
  const now = Date.now();
  const childIds = children.map((c) => c.o.jobId ?? newId());
  try {
    await transaction(db, async (trx) => {
      await trx
        .insertInto('jobs')
        .values(
          newRow(
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
          .values(newRow(childIds[i]!, c.node.name, c.def, c.data, c.o, now, 'waiting', parentId, 0))
          .execute();
      }
    });
  } catch (err) {
    if (po.jobId && isUniqueViolation(err)) {
      const existing = await db.selectFrom('jobs').select('id').where('id', '=', parentId).executeTakeFirst();
      if (existing) return insertFlow(db, registry, flow);
    }
    throw err;
  }
  return { parentId, childIds, queues: children.map((c) => c.def.queue) };
}

export function toInfo(row: JobsTable, now: number): JobInfo {
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

/** Waiting, delayed and active jobs per name (blocked parents count as waiting). */
export async function pendingGauges(
  db: Kysely<DB>,
  now: number,
): Promise<ReturnType<typeof gaugeTable>['gauges']> {
  const rows = await db
    .selectFrom('jobs')
    .select(['name', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
    .select((eb) =>
      eb.fn.sum<number | string | null>(eb.case().when('run_at', '>', now).then(1).else(0).end()).as('later'),
    )
    // The oldest job due and not started: ready to run since its run_at (a retry's backoff included).
    .select((eb) =>
      eb.fn
        .min<number | string | null>(
          eb.case().when('run_at', '<=', now).then(eb.ref('run_at')).else(null).end(),
        )
        .as('oldest'),
    )
    .where('state', 'in', PENDING_STATES)
    .groupBy(['name', 'state'])
    .execute();
  const { gauges, of: g } = gaugeTable();
  for (const r of rows) {
    const n = Number(r.n);
    const later = Number(r.later ?? 0);
    if (r.state === 'active') g(r.name).active += n;
    else if (r.state === 'blocked') g(r.name).waiting += n;
    else {
      g(r.name).waiting += n - later;
      g(r.name).delayed += later;
      if (r.state === 'waiting' && r.oldest !== null && r.oldest !== undefined)
        g(r.name).oldestWaitingMs = Math.max(g(r.name).oldestWaitingMs, now - Number(r.oldest));
    }
  }
  return gauges;
}

export function every(ms: number, fn: () => Promise<void>, log: QueueLogger): NodeJS.Timeout {
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
