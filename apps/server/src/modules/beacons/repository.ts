import type { Database } from '../../db/connect';

/** One QoE event of a player view (migration 007). */
export interface BeaconsTable {
  id: string;
  tenant_id: string;
  video_id: string;
  playback_id: string;
  view_id: string;
  event: string;
  position: number;
  startup_ms: number | null;
  watched_sec: number | null;
  error: string | null;
  user_agent: string | null;
  referrer: string | null;
  created_at: string;
}

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
