import type { Kysely } from 'kysely';

// Bytes and requests delivered by the stream role, per tenant, video and hour (UTC), added to in batches.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('delivery_stats')
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('period', 'varchar(30)', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('delivery_stats_pk', ['tenant_id', 'video_id', 'period'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('delivery_stats').ifExists().execute();
}
