import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)')
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('tus_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('size', 'bigint')
    .addColumn('max_size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('filename', 'varchar(500)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('completed_at', 'varchar(30)')
    .execute();
  await db.schema.createIndex('uploads_token').on('uploads').column('token_hash').unique().execute();
  await db.schema.createIndex('uploads_tus').on('uploads').column('tus_id').unique().execute();
  await db.schema
    .createIndex('uploads_status_expires')
    .on('uploads')
    .columns(['status', 'expires_at'])
    .execute();
  await db.schema.createIndex('uploads_tenant').on('uploads').columns(['tenant_id', 'status']).execute();

  // The event log: every state change of a video, in order; webhooks deliver from it.
  await db.schema
    .createTable('events')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('type', 'varchar(60)', (c) => c.notNull())
    .addColumn('video_id', 'varchar(26)')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_tenant').on('events').columns(['tenant_id', 'id']).execute();

  await db.schema.alterTable('tenants').addColumn('storage_quota_bytes', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('events').ifExists().execute();
  await db.schema.dropTable('uploads').ifExists().execute();
  await db.schema.alterTable('tenants').dropColumn('storage_quota_bytes').execute();
}
