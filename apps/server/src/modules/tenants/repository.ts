import type { Kysely } from 'kysely';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { ApiKeysTable, DB, TenantsTable } from '../../db/schema';

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

  /**
   * The first-start admin key, made once whatever nodes start at the same moment: the key and a `claim`
   * setting are written in one transaction, and a node whose claim is already taken (a unique name) makes
   * none. False when another node made it.
   */
  async insertFirstKey(row: ApiKeysTable, claim: string): Promise<boolean> {
    try {
      await this.db.primary.transaction().execute(async (tx) => {
        await tx.insertInto('settings').values({ name: claim, value: row.id }).execute();
        await tx.insertInto('api_keys').values(row).execute();
      });
      return true;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    // Claimed before. When every admin key has been revoked since, a start makes a new one (as the first
    // start did); the claim moves to it only if no other node moved it meanwhile.
    const previous = await this.getSetting(claim);
    if ((await this.countActiveAdminKeys()) > 0) return false;
    const taken = new Error('taken');
    return this.db.primary
      .transaction()
      .execute(async (tx) => {
        // The update locks the claim: takeovers run one at a time, and each sees the keys made before it.
        const moved = await tx
          .updateTable('settings')
          .set({ value: row.id })
          .where('name', '=', claim)
          .where('value', '=', previous ?? '')
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0) return false;
        if ((await activeAdminKeys(tx)) > 0) throw taken; // rolls the claim back
        await tx.insertInto('api_keys').values(row).execute();
        return true;
      })
      .catch((err) => {
        if (err === taken) return false;
        throw err;
      });
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
    if (Number(updated.numUpdatedRows) > 0) return;
    try {
      await this.db.primary.insertInto('settings').values({ name, value }).execute();
    } catch (err) {
      // Another node inserted it meanwhile: this one's value wins, as an update after it would.
      if (!isUniqueViolation(err)) throw err;
      await this.db.primary.updateTable('settings').set({ value }).where('name', '=', name).execute();
    }
  }

  async countActiveAdminKeys(): Promise<number> {
    return activeAdminKeys(this.db.primary);
  }
}

async function activeAdminKeys(k: Kysely<DB>): Promise<number> {
  const row = await k
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
