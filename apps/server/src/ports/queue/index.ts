import type { Database } from '../../db/connect';
import { DbJobQueue } from './db';
import { type JobQueue, JobQueueError, type QueueLogger } from './types';

export type { BullJobQueue } from './bullmq';
export { DbJobQueue } from './db';
export * from './types';

export interface CreateJobQueueOptions {
  /** The main database; required for the `db` queue. Never closed by the queue. */
  db?: Database;
  /** BullMQ key prefix (default `vod`). */
  prefix?: string;
  /** How long a claimed job stays with its worker without a heartbeat before another may take it (default 30 s). */
  leaseMs?: number;
  /** db queue: poll interval when idle (default 100 ms). */
  pollMs?: number;
  log?: QueueLogger;
  /** Errors of a dependency away for a while (the database in a failover): attempts deferred, not counted. */
  transient?: (err: unknown) => boolean;
}

/** `db` keeps jobs in the main database; `redis://…` (or `rediss://…`) uses BullMQ. */
export async function createJobQueue(url: string, opts: CreateJobQueueOptions = {}): Promise<JobQueue> {
  if (url === 'db') {
    if (!opts.db) throw new JobQueueError('invalid_options', 'The db job queue needs the database (opts.db)');
    return new DbJobQueue(opts.db, {
      leaseMs: opts.leaseMs,
      pollMs: opts.pollMs,
      log: opts.log,
      transient: opts.transient,
    });
  }
  if (/^rediss?:\/\//.test(url)) {
    const { BullJobQueue } = await import('./bullmq'); // loaded only when configured
    return new BullJobQueue(url, {
      prefix: opts.prefix,
      leaseMs: opts.leaseMs,
      log: opts.log,
      transient: opts.transient,
    });
  }
  throw new JobQueueError(
    'invalid_options',
    `Unsupported job queue URL "${url.replace(/\/\/[^@/]*@/, '//***@')}": use db or redis://…`,
  );
}
