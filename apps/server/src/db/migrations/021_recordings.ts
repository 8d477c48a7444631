import type { Kysely } from 'kysely';

// Live recordings (issue 19, modules/recordings). A hook is what a recording server (nginx-rtmp, SRS) calls;
// only its token's sha256 is stored. A recording is one broadcast of one stream: its parts (one file per
// publish, or per split of a long publish) become one video. `live` is 1 between the recorder's publish and
// publish-done callbacks; `window_until` is when the recording is finalised if no new part came (the end of
// its last part plus the hook's reconnect window). Times are ISO strings, as everywhere.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('recording_hooks')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('token_prefix', 'varchar(16)', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('last_used_at', 'varchar(30)')
    .execute();
  await db.schema
    .createIndex('recording_hooks_tenant')
    .on('recording_hooks')
    .columns(['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('recordings')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('hook_id', 'varchar(26)')
    .addColumn('video_id', 'varchar(26)')
    .addColumn('origin', 'varchar(16)', (c) => c.notNull())
    .addColumn('app', 'varchar(200)')
    .addColumn('stream_name', 'varchar(200)')
    .addColumn('client_id', 'varchar(100)')
    .addColumn('source_url', 'varchar(2000)')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('live', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('parts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('merge_mode', 'varchar(16)')
    .addColumn('started_at', 'varchar(30)')
    .addColumn('ended_at', 'varchar(30)')
    .addColumn('window_until', 'varchar(30)')
    .addColumn('imported_at', 'varchar(30)')
    .addColumn('error_code', 'varchar(32)')
    .addColumn('error_message', 'varchar(500)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recordings_tenant').on('recordings').columns(['tenant_id', 'id']).execute();
  await db.schema
    .createIndex('recordings_stream')
    .on('recordings')
    .columns(['hook_id', 'stream_name', 'status'])
    .execute();

  await db.schema
    .createTable('recording_parts')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('hook_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('recording_id', 'varchar(26)')
    .addColumn('seq', 'integer')
    .addColumn('app', 'varchar(200)', (c) => c.notNull())
    .addColumn('stream_name', 'varchar(200)', (c) => c.notNull())
    .addColumn('client_id', 'varchar(100)')
    .addColumn('recorder', 'varchar(16)', (c) => c.notNull())
    .addColumn('location_kind', 'varchar(8)', (c) => c.notNull())
    .addColumn('location', 'varchar(2000)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('object_key', 'varchar(300)')
    .addColumn('size_bytes', 'bigint')
    .addColumn('duration', 'double precision')
    .addColumn('started_at', 'varchar(30)')
    .addColumn('ended_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('error_message', 'varchar(500)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('recording_parts_stream')
    .on('recording_parts')
    .columns(['hook_id', 'stream_name', 'status'])
    .execute();
  await db.schema
    .createIndex('recording_parts_recording')
    .on('recording_parts')
    .columns(['recording_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('recording_parts').ifExists().execute();
  await db.schema.dropTable('recordings').ifExists().execute();
  await db.schema.dropTable('recording_hooks').ifExists().execute();
}
