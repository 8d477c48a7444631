import type { Database } from '../db/connect';
import { nowIso } from '../lib/time';
import type { VideoJobStore } from './jobs';

/** The video_jobs table (migration 012): ids of a video's jobs that cannot be derived from its row. */
export class VideoJobTable implements VideoJobStore {
  constructor(private readonly db: Database) {}

  async record(job: { jobId: string; tenantId: string; videoId: string; name: string }): Promise<void> {
    await this.db.primary
      .insertInto('video_jobs')
      .values({
        job_id: job.jobId,
        tenant_id: job.tenantId,
        video_id: job.videoId,
        name: job.name,
        created_at: nowIso(),
      })
      .execute();
  }

  async list(tenantId: string, videoId: string): Promise<string[]> {
    const rows = await this.db.primary
      .selectFrom('video_jobs')
      .select('job_id')
      .where('tenant_id', '=', tenantId)
      .where('video_id', '=', videoId)
      .execute();
    return rows.map((r) => r.job_id);
  }

  async forget(tenantId: string, videoId: string): Promise<void> {
    await this.db.primary
      .deleteFrom('video_jobs')
      .where('tenant_id', '=', tenantId)
      .where('video_id', '=', videoId)
      .execute();
  }
}
