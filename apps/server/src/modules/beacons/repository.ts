import type { Database } from '../../db/connect';
import type { BeaconsTable } from '../../db/schema';

export class BeaconsRepository {
  constructor(private readonly db: Database) {}

  async insert(row: BeaconsTable): Promise<void> {
    await this.db.primary.insertInto('beacons').values(row).execute();
  }

  /** The events of a video, oldest first (tests and, later, statistics). */
  async forVideo(tenantId: string, videoId: string, limit = 1000): Promise<BeaconsTable[]> {
    return this.db.primary
      .selectFrom('beacons')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('video_id', '=', videoId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }
}
