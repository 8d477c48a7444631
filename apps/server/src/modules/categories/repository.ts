import type { Database } from '../../db/connect';
import type { CategoriesTable } from '../../db/schema';
import { detachCategory } from '../videos';

export class CategoryRepository {
  constructor(private readonly db: Database) {}

  async insert(row: CategoriesTable): Promise<void> {
    await this.db.primary.insertInto('categories').values(row).execute();
  }

  async find(tenantId: string, id: string): Promise<CategoriesTable | undefined> {
    return this.db.primary
      .selectFrom('categories')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async list(tenantId: string, limit: number, beforeId?: string): Promise<CategoriesTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('categories')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      return q.execute();
    });
  }

  async update(tenantId: string, id: string, values: Partial<CategoriesTable>): Promise<void> {
    await this.db.primary
      .updateTable('categories')
      .set(values)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }

  /** Deletes the category and detaches its videos, atomically. */
  async delete(tenantId: string, id: string, at: string): Promise<number> {
    return this.db.primary.transaction().execute(async (trx) => {
      await detachCategory(trx, tenantId, id, at);
      const r = await trx
        .deleteFrom('categories')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
