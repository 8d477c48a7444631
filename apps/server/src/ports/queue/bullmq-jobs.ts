/** BullMQ jobs as the JobQueue port reports them (see bullmq.ts). */
import type { Job } from 'bullmq';
import { fromBullPriority, iso } from './runtime';
import type { JobInfo, JobState, QueueClass } from './types';

export type AnyJob = Job<unknown, unknown, string>;
/** The error of a cancelled job (and the UnrecoverableError message that ends it). */
export const CANCELLED = 'cancelled';

/** Our state of a BullMQ job, given its BullMQ state and whether it was cancelled. */
export function stateOf(raw: string, cancelled: boolean): JobState {
  let state: JobState;
  if (raw === 'delayed') state = 'delayed';
  else if (raw === 'active') state = 'active';
  else if (raw === 'completed') state = 'completed';
  else if (raw === 'failed') state = cancelled ? 'cancelled' : 'failed';
  else state = 'waiting'; // wait, prioritized, waiting-children
  if (cancelled && (state === 'waiting' || state === 'delayed')) state = 'cancelled';
  return state;
}

/** What getJob answers for a BullMQ job in a state of ours. */
export function bullJobInfo(job: AnyJob, state: JobState): JobInfo {
  const info: JobInfo = {
    id: job.id!,
    name: job.name,
    queue: job.queueName as QueueClass,
    state,
    attempts: job.attemptsStarted ?? 0,
    maxAttempts: job.opts.attempts ?? 1,
    priority: fromBullPriority(job.opts.priority),
    payload: job.data,
    progress: (job.progress as JobInfo['progress']) ?? 0,
    createdAt: iso(job.timestamp)!,
  };
  if (state === 'completed') info.result = job.returnvalue ?? null;
  if (state === 'cancelled') info.error = CANCELLED;
  else if (job.failedReason) info.error = job.failedReason;
  if (job.parent?.id) info.parentId = job.parent.id;
  if (job.finishedOn && (state === 'completed' || state === 'failed' || state === 'cancelled')) {
    info.finishedAt = iso(job.finishedOn);
  }
  return info;
}

/** BullMQ names children `<prefix>:<queue>:<id>`; our ids never contain ':'. */
export function idOfKey(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}
