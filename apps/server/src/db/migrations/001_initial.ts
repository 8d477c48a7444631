import type { Kysely } from 'kysely';

// Portable across SQLite, MariaDB/MySQL and PostgreSQL: varchar ids, ISO time strings, JSON as text.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)')
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('scopes', 'varchar(100)', (c) => c.notNull())
    .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(30)')
    .addColumn('last_used_at', 'varchar(30)')
    .execute();
  await db.schema.createIndex('api_keys_secret_hash').on('api_keys').column('secret_hash').unique().execute();
  await db.schema.createIndex('api_keys_tenant').on('api_keys').columns(['tenant_id', 'id']).execute();

  await db.schema
    .createTable('categories')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'varchar(2000)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('categories_tenant_name')
    .on('categories')
    .columns(['tenant_id', 'name'])
    .unique()
    .execute();

  await db.schema
    .createTable('templates')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('templates_tenant_name')
    .on('templates')
    .columns(['tenant_id', 'name'])
    .unique()
    .execute();

  await db.schema
    .createTable('videos')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('title', 'varchar(500)')
    .addColumn('description', 'text')
    .addColumn('category_id', 'varchar(26)')
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('status_before_block', 'varchar(20)')
    .addColumn('playable', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('duration', 'double precision')
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('size_bytes', 'bigint')
    .addColumn('source_info', 'text')
    .addColumn('renditions', 'text', (c) => c.notNull())
    .addColumn('playback_id', 'varchar(40)', (c) => c.notNull().unique())
    .addColumn('playback_policy', 'varchar(10)', (c) => c.notNull())
    .addColumn('template_id', 'varchar(26)')
    .addColumn('input_url', 'text')
    .addColumn('cover_time', 'double precision')
    .addColumn('detection', 'text')
    .addColumn('error_code', 'varchar(40)')
    .addColumn('error_message', 'text')
    .addColumn('meta', 'text', (c) => c.notNull())
    .addColumn('passthrough', 'text')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('ready_at', 'varchar(30)')
    .execute();
  await db.schema.createIndex('videos_tenant').on('videos').columns(['tenant_id', 'id']).execute();
  await db.schema
    .createIndex('videos_tenant_status')
    .on('videos')
    .columns(['tenant_id', 'status', 'id'])
    .execute();
  await db.schema
    .createIndex('videos_tenant_category')
    .on('videos')
    .columns(['tenant_id', 'category_id', 'id'])
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['settings', 'videos', 'templates', 'categories', 'api_keys', 'tenants']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
