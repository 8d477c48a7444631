import type { Kysely } from 'kysely';

// User accounts (modules/accounts): users of a tenant with a role, or platform admins (no tenant); their
// sessions (the id is sha256 of the cookie's secret, so the table holds no usable credential; the CSRF token
// is derived from the session id with the cluster secret, not stored); and one-time invitation and
// password-reset links (only the token's sha256 is stored). Emails are stored lower-cased (unique on every
// engine, whatever its collation). `platform_admin` is 0 or 1. The audit log gains the email of a
// session's user beside its id.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)')
    .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('role', 'varchar(16)')
    .addColumn('platform_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('last_login_at', 'varchar(30)')
    .addColumn('disabled_at', 'varchar(30)')
    .execute();
  await db.schema.createIndex('users_tenant_id').on('users').columns(['tenant_id', 'id']).execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('last_seen_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(256)')
    .execute();
  await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('email', 'varchar(254)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)')
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(26)')
    .addColumn('created_by', 'varchar(64)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('used_at', 'varchar(30)')
    .execute();
  await db.schema
    .createIndex('invitations_tenant_id')
    .on('invitations')
    .columns(['tenant_id', 'id'])
    .execute();

  await db.schema.alterTable('audit_events').addColumn('actor_email', 'varchar(254)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_events').dropColumn('actor_email').execute();
  await db.schema.dropTable('invitations').ifExists().execute();
  await db.schema.dropTable('sessions').ifExists().execute();
  await db.schema.dropTable('users').ifExists().execute();
}
