import type { Database } from '../../db/connect';
import type { ApiKeysTable, TenantsTable } from '../../db/schema';

export class TenantRepository {
  constructor(private readonly db: Database) {}

  async insertTenant(row: TenantsTable): Promise<void> {
    await this.db.primary.insertInto('tenants').values(row).execute();
  }

  async updateTenant(id: string, values: Partial<TenantsTable>): Promise<void> {
    if (Object.keys(values).length)
      await this.db.primary.updateTable('tenants').set(values).where('id', '=', id).execute();
  }

  async findTenant(id: string): Promise<TenantsTable | undefined> {
    return this.db.primary.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listTenants(limit: number, beforeId?: string): Promise<TenantsTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('tenants')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      return q.execute();
    });
  }

  async insertKey(row: ApiKeysTable): Promise<void> {
    await this.db.primary.insertInto('api_keys').values(row).execute();
  }

  async findKeyByHash(secretHash: string): Promise<ApiKeysTable | undefined> {
    // Always the primary: a revoked key must stop working at once, replica lag or not.
    return this.db.primary
      .selectFrom('api_keys')
      .selectAll()
      .where('secret_hash', '=', secretHash)
      .executeTakeFirst();
  }

  async findKey(tenantId: string | null, keyId: string): Promise<ApiKeysTable | undefined> {
    let q = this.db.primary.selectFrom('api_keys').selectAll().where('id', '=', keyId);
    q = tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', tenantId);
    return q.executeTakeFirst();
  }

  async listKeys(tenantId: string, limit: number, beforeId?: string): Promise<ApiKeysTable[]> {
    let q = this.db.primary
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (beforeId) q = q.where('id', '<', beforeId);
    return q.execute();
  }

  async revokeKey(id: string, at: string): Promise<void> {
    await this.db.primary
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async touchKey(id: string, at: string): Promise<void> {
    await this.db.primary.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async getSetting(name: string): Promise<string | undefined> {
    const row = await this.db.primary
      .selectFrom('settings')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.value;
  }

  async setSetting(name: string, value: string): Promise<void> {
    const updated = await this.db.primary
      .updateTable('settings')
      .set({ value })
      .where('name', '=', name)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0)
      await this.db.primary.insertInto('settings').values({ name, value }).execute();
  }

  async countActiveAdminKeys(): Promise<number> {
    const row = await this.db.primary
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
