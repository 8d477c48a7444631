import type { Database } from '../../db/connect';
import type { InvitationsTable, SessionsTable, UsersTable } from '../../db/schema';

export type UserRow = UsersTable & { tenant_name: string | null };

/** All I/O of accounts: users, sessions and invitations. Always the primary: a revocation counts at once. */
export class AccountRepository {
  constructor(private readonly db: Database) {}

  private users() {
    return this.db.primary
      .selectFrom('users')
      .leftJoin('tenants', 'tenants.id', 'users.tenant_id')
      .selectAll('users')
      .select('tenants.name as tenant_name');
  }

  async insertUser(row: UsersTable): Promise<void> {
    await this.db.primary.insertInto('users').values(row).execute();
  }

  async findUser(id: string): Promise<UserRow | undefined> {
    return this.users().where('users.id', '=', id).executeTakeFirst();
  }

  async findUserByEmail(email: string): Promise<UserRow | undefined> {
    return this.users().where('users.email', '=', email).executeTakeFirst();
  }

  async listUsers(tenantId: string | undefined, limit: number, beforeId?: string): Promise<UserRow[]> {
    let q = this.users()
      .orderBy('users.id', 'desc')
      .limit(limit + 1);
    if (tenantId !== undefined) q = q.where('users.tenant_id', '=', tenantId);
    if (beforeId) q = q.where('users.id', '<', beforeId);
    return q.execute();
  }

  async updateUser(id: string, values: Partial<UsersTable>): Promise<void> {
    await this.db.primary.updateTable('users').set(values).where('id', '=', id).execute();
  }

  async countOwners(tenantId: string): Promise<number> {
    const row = await this.db.primary
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('role', '=', 'owner')
      .where('disabled_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Deletes a user with its sessions and open links. */
  async deleteUser(id: string): Promise<void> {
    await this.db.primary.transaction().execute(async (tx) => {
      await tx.deleteFrom('sessions').where('user_id', '=', id).execute();
      await tx.deleteFrom('invitations').where('user_id', '=', id).execute();
      await tx.deleteFrom('users').where('id', '=', id).execute();
    });
  }

  async insertSession(row: SessionsTable): Promise<void> {
    await this.db.primary.insertInto('sessions').values(row).execute();
  }

  async findSession(id: string): Promise<SessionsTable | undefined> {
    return this.db.primary.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async touchSession(id: string, at: string): Promise<void> {
    await this.db.primary.updateTable('sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.primary.deleteFrom('sessions').where('id', '=', id).execute();
  }

  /** Revokes a user's sessions, but the one kept (the caller's own, on a password change). */
  async deleteSessionsOf(userId: string, keep?: string): Promise<string[]> {
    let q = this.db.primary.selectFrom('sessions').select('id').where('user_id', '=', userId);
    if (keep) q = q.where('id', '!=', keep);
    const ids = (await q.execute()).map((r) => r.id);
    if (ids.length) await this.db.primary.deleteFrom('sessions').where('id', 'in', ids).execute();
    return ids;
  }

  /** Deletes sessions past their absolute end or idle since `idleBefore`; how many. */
  async purgeSessions(now: string, idleBefore: string): Promise<number> {
    const r = await this.db.primary
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<', now), eb('last_seen_at', '<', idleBefore)]))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async insertInvitation(row: InvitationsTable): Promise<void> {
    await this.db.primary.insertInto('invitations').values(row).execute();
  }

  async findInvitationByHash(hash: string): Promise<InvitationsTable | undefined> {
    return this.db.primary
      .selectFrom('invitations')
      .selectAll()
      .where('token_hash', '=', hash)
      .executeTakeFirst();
  }

  async findInvitation(tenantId: string, id: string): Promise<InvitationsTable | undefined> {
    return this.db.primary
      .selectFrom('invitations')
      .selectAll()
      .where('id', '=', id)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
  }

  /** Pending invitations (not resets) of a tenant, newest first. */
  async listPendingInvitations(
    tenantId: string,
    now: string,
    limit: number,
    beforeId?: string,
  ): Promise<InvitationsTable[]> {
    let q = this.db.primary
      .selectFrom('invitations')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'invite')
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (beforeId) q = q.where('id', '<', beforeId);
    return q.execute();
  }

  async updateInvitation(id: string, values: Partial<InvitationsTable>): Promise<void> {
    await this.db.primary.updateTable('invitations').set(values).where('id', '=', id).execute();
  }

  async deleteInvitation(id: string): Promise<void> {
    await this.db.primary.deleteFrom('invitations').where('id', '=', id).execute();
  }

  /** Closes the open invitations of an email in a tenant (a new one replaces them). */
  async closeInvitations(tenantId: string, email: string, at: string): Promise<void> {
    await this.db.primary
      .updateTable('invitations')
      .set({ used_at: at })
      .where('tenant_id', '=', tenantId)
      .where('email', '=', email)
      .where('kind', '=', 'invite')
      .where('used_at', 'is', null)
      .execute();
  }

  /** Marks a link used, once: false when it was used meanwhile (two accepts at the same moment). */
  async claimInvitation(id: string, at: string): Promise<boolean> {
    const r = await this.db.primary
      .updateTable('invitations')
      .set({ used_at: at })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
