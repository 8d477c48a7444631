import type { Kysely } from 'kysely';

/**
 * Webhook endpoints and their delivery log (modules/webhooks). Portable across SQLite, MariaDB and
 * PostgreSQL: varchar ids, ISO-8601 times as varchar(30), JSON as text.
 *
 * `webhooks.secret` holds the signing secret as issued (whsec_…): it is needed in clear to sign every
 * delivery, so it is not hashed; the API returns it only in the create response.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull()) // JSON array of event types
    .addColumn('description', 'varchar(500)')
    .addColumn('secret', 'varchar(100)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('disabled_at', 'varchar(30)')
    .execute();
  await db.schema.createIndex('webhooks_tenant').on('webhooks').columns(['tenant_id', 'id']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('webhook_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('event_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('event_type', 'varchar(60)', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(12)', (c) => c.notNull()) // pending | succeeded | failed | retrying
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text') // truncated
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'bigint')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('next_attempt_at', 'varchar(30)')
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_webhook')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  await db.schema.dropTable('webhooks').ifExists().execute();
}
