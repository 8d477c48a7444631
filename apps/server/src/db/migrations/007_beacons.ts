import type { Kysely } from 'kysely';

// QoE beacons sent by players (POST /v1/beacons): one row per event of a view. Portable SQL: varchar ids,
// ISO-8601 times as varchar(30).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('beacons')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('playback_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('view_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('event', 'varchar(20)', (c) => c.notNull())
    .addColumn('position', 'double precision', (c) => c.notNull())
    .addColumn('startup_ms', 'integer')
    .addColumn('watched_sec', 'double precision')
    .addColumn('error', 'text')
    .addColumn('user_agent', 'varchar(300)')
    .addColumn('referrer', 'varchar(500)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('beacons_video_time')
    .on('beacons')
    .columns(['tenant_id', 'video_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('beacons').ifExists().execute();
}
