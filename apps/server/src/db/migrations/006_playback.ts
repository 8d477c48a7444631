import type { Kysely } from 'kysely';

/**
 * Signed playback (modules/playback). Portable across SQLite, MariaDB and PostgreSQL: varchar ids,
 * ISO-8601 times as varchar(30), JSON as text.
 *
 * `signing_keys` keeps the public key (SPKI PEM) only; `private_key` is set for the one managed key per
 * tenant that the platform signs tokens with, sealed with the cluster secret (lib/secretbox).
 * `referrer_policies` holds a tenant's policy (video_id = '') and per-video overrides.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('signing_keys')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text')
    .addColumn('managed', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(30)')
    .execute();
  await db.schema
    .createIndex('signing_keys_tenant')
    .on('signing_keys')
    .columns(['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('referrer_policies')
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('referrers', 'text', (c) => c.notNull()) // JSON array of host patterns
    .addColumn('allow_no_referrer', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('referrer_policies_pk', ['tenant_id', 'video_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('referrer_policies').ifExists().execute();
  await db.schema.dropTable('signing_keys').ifExists().execute();
}
