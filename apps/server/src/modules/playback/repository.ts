import type { Database } from '../../db/connect';
import type { ReferrerPoliciesTable, SigningKeysTable } from '../../db/schema';

export class PlaybackRepository {
  constructor(private readonly db: Database) {}

  async insertKey(row: SigningKeysTable): Promise<void> {
    await this.db.primary.insertInto('signing_keys').values(row).execute();
  }

  async findKey(tenantId: string, id: string): Promise<SigningKeysTable | undefined> {
    return this.db.primary
      .selectFrom('signing_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** By id alone, for verifying: the caller checks the tenant. Read from the primary so a revocation is seen at once. */
  async keyById(id: string): Promise<SigningKeysTable | undefined> {
    return this.db.primary.selectFrom('signing_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async managedKey(tenantId: string): Promise<SigningKeysTable | undefined> {
    return this.db.primary
      .selectFrom('signing_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('managed', '=', 1)
      .where('revoked_at', 'is', null)
      .orderBy('id', 'desc')
      .executeTakeFirst();
  }

  async listKeys(tenantId: string, limit: number, beforeId?: string): Promise<SigningKeysTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('signing_keys')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      return q.execute();
    });
  }

  async revokeKey(tenantId: string, id: string, at: string): Promise<void> {
    await this.db.primary
      .updateTable('signing_keys')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async policies(tenantId: string, videoId: string): Promise<ReferrerPoliciesTable[]> {
    return this.db.primary
      .selectFrom('referrer_policies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('video_id', 'in', ['', videoId])
      .execute();
  }

  async policy(tenantId: string, videoId: string): Promise<ReferrerPoliciesTable | undefined> {
    return this.db.primary
      .selectFrom('referrer_policies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('video_id', '=', videoId)
      .executeTakeFirst();
  }

  async putPolicy(row: ReferrerPoliciesTable): Promise<void> {
    await this.db.primary.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('referrer_policies')
        .where('tenant_id', '=', row.tenant_id)
        .where('video_id', '=', row.video_id)
        .execute();
      await trx.insertInto('referrer_policies').values(row).execute();
    });
  }

  async deletePolicy(tenantId: string, videoId: string): Promise<number> {
    const r = await this.db.primary
      .deleteFrom('referrer_policies')
      .where('tenant_id', '=', tenantId)
      .where('video_id', '=', videoId)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
