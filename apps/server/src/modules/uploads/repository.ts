import type { Database } from '../../db/connect';
import type { UploadsTable } from '../../db/schema';
import { storedVideoBytes, videoIds } from '../videos';

export class UploadRepository {
  constructor(private readonly db: Database) {}

  async insert(row: UploadsTable): Promise<void> {
    await this.db.primary.insertInto('uploads').values(row).execute();
  }

  async find(tenantId: string, id: string): Promise<UploadsTable | undefined> {
    return this.db.primary
      .selectFrom('uploads')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async findByTokenHash(hash: string): Promise<UploadsTable | undefined> {
    return this.db.primary
      .selectFrom('uploads')
      .selectAll()
      .where('token_hash', '=', hash)
      .executeTakeFirst();
  }

  async findByTusId(tusId: string): Promise<UploadsTable | undefined> {
    return this.db.primary.selectFrom('uploads').selectAll().where('tus_id', '=', tusId).executeTakeFirst();
  }

  /** Moves an upload from one status to another; returns false when it was not in `from` (someone else moved it). */
  async transition(
    id: string,
    from: string[],
    values: Partial<UploadsTable> & { status: string },
  ): Promise<boolean> {
    const r = await this.db.primary
      .updateTable('uploads')
      .set(values)
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async expiredBefore(at: string, limit: number): Promise<UploadsTable[]> {
    return this.db.primary
      .selectFrom('uploads')
      .selectAll()
      .where('status', 'in', ['waiting', 'uploading'])
      .where('expires_at', '<', at)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
  }

  /** Uploads untouched since `before` that may have missed their completion step. */
  async needingCompletion(before: string, limit: number): Promise<UploadsTable[]> {
    const k = this.db.primary;
    // Only uploads whose video still exists; a complete one only while its video is still `queued`.
    return k
      .selectFrom('uploads')
      .selectAll('uploads')
      .where('uploads.updated_at', '<', before)
      .where((eb) =>
        eb.or([
          eb.and([eb('uploads.status', '=', 'uploading'), eb('uploads.video_id', 'in', videoIds(k))]),
          eb.and([
            eb('uploads.status', '=', 'complete'),
            eb('uploads.video_id', 'in', videoIds(k, 'queued')),
          ]),
        ]),
      )
      .limit(limit)
      .execute();
  }

  /** Bytes a tenant holds or has reserved: stored videos plus the declared size of uploads in progress. */
  async usedBytes(tenantId: string): Promise<number> {
    const videos = await storedVideoBytes(this.db, tenantId);
    const pending = await this.db.primary
      .selectFrom('uploads')
      .select((eb) => eb.fn.sum<number>('size').as('n'))
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'uploading')
      .executeTakeFirst();
    return videos + Number(pending?.n ?? 0);
  }

  async tenantQuota(tenantId: string): Promise<number | null | undefined> {
    const row = await this.db.primary
      .selectFrom('tenants')
      .select('storage_quota_bytes')
      .where('id', '=', tenantId)
      .executeTakeFirst();
    return row?.storage_quota_bytes;
  }
}
