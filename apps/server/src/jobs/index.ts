/** The job registry: every job's name, payload schema, queue class, defaults and id, and the typed queue. */
export { type JobHandler, type JobNode, Jobs, type VideoJobStore } from './jobs';
export {
  derivedVideoJobIds,
  JOB_NAMES,
  JOBS,
  type JobName,
  type JobOf,
  type JobPayload,
  jobIds,
} from './registry';
export { VideoJobTable } from './video-jobs';
