import type { Database } from '../../db/connect';
import type { VideosTable } from '../../db/schema';

export interface VideoFilter {
  status?: string;
  categoryId?: string;
  q?: string;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export class VideoRepository {
  constructor(private readonly db: Database) {}

  async insert(row: VideosTable): Promise<void> {
    await this.db.primary.insertInto('videos').values(row).execute();
  }

  async find(tenantId: string, id: string): Promise<VideosTable | undefined> {
    return this.db.primary
      .selectFrom('videos')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The video a playback id names, read from a replica (the playback gate caches it briefly). */
  async findByPlaybackId(playbackId: string): Promise<VideosTable | undefined> {
    return this.db.read((k) =>
      k.selectFrom('videos').selectAll().where('playback_id', '=', playbackId).executeTakeFirst(),
    );
  }

  async list(
    tenantId: string,
    filter: VideoFilter,
    limit: number,
    beforeId?: string,
  ): Promise<VideosTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('videos')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      if (filter.status) q = q.where('status', '=', filter.status);
      if (filter.categoryId) q = q.where('category_id', '=', filter.categoryId);
      if (filter.q) {
        const pattern = `%${escapeLike(filter.q.toLowerCase())}%`;
        q = q.where((eb) => eb(eb.fn('lower', ['title']), 'like', pattern));
      }
      return q.execute();
    });
  }

  async update(tenantId: string, id: string, values: Partial<VideosTable>): Promise<number> {
    const r = await this.db.primary
      .updateTable('videos')
      .set(values)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async updateStatus(
    tenantId: string,
    id: string,
    status: string,
    values: Partial<VideosTable>,
  ): Promise<void> {
    await this.db.primary.transaction().execute(async (trx) => {
      await trx
        .updateTable('videos')
        .set({ ...values, status })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '!=', 'blocked')
        .execute();
      await trx
        .updateTable('videos')
        .set({ ...values, status_before_block: status })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'blocked')
        .execute();
    });
  }

  async countInStatus(tenantId: string, status: string): Promise<number> {
    const row = await this.db.primary
      .selectFrom('videos')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('status', '=', status)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Counts one more finished chunk of a generation, atomically; returns the new count. */
  async bumpChunks(tenantId: string, id: string, generation: string): Promise<number> {
    await this.db.primary
      .updateTable('videos')
      .set((eb) => ({ chunks_done: eb('chunks_done', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('generation', '=', generation)
      .execute();
    const row = await this.db.primary
      .selectFrom('videos')
      .select('chunks_done')
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(row?.chunks_done ?? 0);
  }

  async delete(tenantId: string, id: string): Promise<number> {
    const r = await this.db.primary
      .deleteFrom('videos')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
