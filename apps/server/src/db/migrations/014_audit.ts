import type { Kysely } from 'kysely';

// The audit log (modules/audit): who did what, one row per write or admin request. Portable SQL: varchar
// ids, ISO-8601 times as varchar(30), the detail as a bounded JSON string. Listed newest first by id, per
// tenant or platform-wide, and purged by time (VOD_AUDIT_RETENTION_DAYS).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('at', 'varchar(30)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(26)')
    .addColumn('actor_kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('actor_id', 'varchar(64)')
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('target_type', 'varchar(32)')
    .addColumn('target_id', 'varchar(64)')
    .addColumn('method', 'varchar(10)', (c) => c.notNull())
    .addColumn('route', 'varchar(200)', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('request_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('address', 'varchar(64)')
    .addColumn('detail', 'varchar(1000)')
    .execute();
  await db.schema
    .createIndex('audit_events_tenant_at')
    .on('audit_events')
    .columns(['tenant_id', 'at'])
    .execute();
  await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
  // A tenant's page, newest first (the cursor is the id).
  await db.schema
    .createIndex('audit_events_tenant_id')
    .on('audit_events')
    .columns(['tenant_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_events').ifExists().execute();
}
