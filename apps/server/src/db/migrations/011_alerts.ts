import type { Kysely } from 'kysely';

// Alerts raised by the sentinel (modules/monitor). `open_key` is "rule|subject" while the alert is open
// and null once resolved: its unique index allows one open alert per rule and subject on every engine
// (all three let a unique index hold many nulls), even with several sentinels.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('alerts')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('rule', 'varchar(50)', (c) => c.notNull())
    .addColumn('subject', 'varchar(300)', (c) => c.notNull())
    .addColumn('severity', 'varchar(10)', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('value', 'double precision')
    .addColumn('threshold', 'double precision')
    .addColumn('opened_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('resolved_at', 'varchar(30)')
    .addColumn('last_seen_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('open_key', 'varchar(360)')
    .execute();
  await db.schema.createIndex('alerts_open_key').on('alerts').column('open_key').unique().execute();
  await db.schema.createIndex('alerts_resolved').on('alerts').columns(['resolved_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('alerts').ifExists().execute();
}
