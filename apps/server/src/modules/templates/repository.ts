import type { Transaction } from 'kysely';
import type { Database } from '../../db/connect';
import type { DB, TemplatesTable } from '../../db/schema';
import { countVideosNeedingTemplate } from '../videos';

export class TemplateRepository {
  constructor(private readonly db: Database) {}

  async insert(row: TemplatesTable): Promise<void> {
    await this.db.primary.insertInto('templates').values(row).execute();
  }

  async find(tenantId: string, id: string): Promise<TemplatesTable | undefined> {
    return this.db.primary
      .selectFrom('templates')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async findDefault(tenantId: string): Promise<TemplatesTable | undefined> {
    return this.db.primary
      .selectFrom('templates')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('is_default', '=', 1)
      .orderBy('id')
      .executeTakeFirst();
  }

  async list(tenantId: string, limit: number, beforeId?: string): Promise<TemplatesTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('templates')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      return q.execute();
    });
  }

  async update(tenantId: string, id: string, values: Partial<TemplatesTable>): Promise<void> {
    await this.db.primary
      .updateTable('templates')
      .set(values)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }

  /** Makes one template the tenant's default, in one transaction so there is never zero or two. */
  async setDefault(tenantId: string, id: string, at: string): Promise<void> {
    await this.db.primary.transaction().execute(async (trx: Transaction<DB>) => {
      await trx
        .updateTable('templates')
        .set({ is_default: 0, updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('is_default', '=', 1)
        .execute();
      await trx
        .updateTable('templates')
        .set({ is_default: 1, updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    });
  }

  async delete(tenantId: string, id: string): Promise<number> {
    const r = await this.db.primary
      .deleteFrom('templates')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async countVideosUsing(tenantId: string, id: string): Promise<number> {
    return countVideosNeedingTemplate(this.db, tenantId, id);
  }
}
