import { type Kysely, sql } from 'kysely';

// Statistics (issue 17, modules/stats): views computed from the raw beacons, roll-ups per minute, hour and
// day, usage per tenant, transcoded seconds per rendition and daily storage snapshots. Times are ISO-8601
// UTC varchar(30) as everywhere; a period is the start of its minute, hour or day.
export async function up(db: Kysely<unknown>): Promise<void> {
  await beaconColumns(db);
  await viewsTable(db);
  await rollupTables(db);
  await usageSources(db);
}

async function beaconColumns(db: Kysely<unknown>): Promise<void> {
  // Raw beacons: `created_at` is the event's time (the player's clock corrected by the server's), and
  // `ingested_at` when the row reached the database (the roll-up job's watermark).
  await db.schema.alterTable('beacons').addColumn('ingested_at', 'varchar(30)').execute();
  await db.schema.alterTable('beacons').addColumn('rendition', 'varchar(40)').execute();
  await db.schema.alterTable('beacons').addColumn('rebuffer_ms', 'integer').execute();
  await db.schema.alterTable('beacons').addColumn('viewer_hash', 'varchar(64)').execute();
  await db.schema.alterTable('beacons').addColumn('seq', 'integer').execute();
  await db.schema.alterTable('beacons').addColumn('played_sec', 'double precision').execute();
  await db
    .updateTable('beacons' as never)
    .set({ ingested_at: sql`created_at` } as never)
    .execute();
  await db.schema.createIndex('beacons_ingested').on('beacons').column('ingested_at').execute();
  await db.schema.createIndex('beacons_view').on('beacons').columns(['view_id', 'video_id']).execute();
  await db.schema.createIndex('beacons_created').on('beacons').column('created_at').execute();
}

async function viewsTable(db: Kysely<unknown>): Promise<void> {
  // One row per view (a viewId of a video), recomputed from its raw beacons by the roll-up job.
  await db.schema
    .createTable('stats_views')
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('view_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('started_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('last_event_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('ended_at', 'varchar(30)')
    .addColumn('closed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('played', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('watch_seconds', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('startup_ms', 'integer')
    .addColumn('rebuffer_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rebuffer_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('renditions', 'varchar(500)', (c) => c.notNull().defaultTo('[]'))
    .addColumn('browser', 'varchar(40)')
    .addColumn('os', 'varchar(40)')
    .addColumn('device', 'varchar(20)')
    .addColumn('viewer_hash', 'varchar(64)')
    .addColumn('referrer_host', 'varchar(255)')
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('stats_views_pk', ['video_id', 'view_id'])
    .execute();
  await db.schema
    .createIndex('stats_views_video_started')
    .on('stats_views')
    .columns(['tenant_id', 'video_id', 'started_at'])
    .execute();
  await db.schema
    .createIndex('stats_views_tenant_started')
    .on('stats_views')
    .columns(['tenant_id', 'started_at'])
    .execute();
  await db.schema
    .createIndex('stats_views_open')
    .on('stats_views')
    .columns(['closed', 'last_event_at'])
    .execute();
}

async function rollupTables(db: Kysely<unknown>): Promise<void> {
  // Viewer metrics of a video per period ('minute' | 'hour' | 'day'): views counted where they started.
  await db.schema
    .createTable('stats_video')
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('granularity', 'varchar(6)', (c) => c.notNull())
    .addColumn('period', 'varchar(30)', (c) => c.notNull())
    .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('viewers', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('watch_seconds', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('startup_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('startup_hist', 'text')
    .addColumn('rebuffer_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rebuffer_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('delivered_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('stats_video_pk', ['tenant_id', 'video_id', 'granularity', 'period'])
    .execute();
  await db.schema
    .createIndex('stats_video_period')
    .on('stats_video')
    .columns(['tenant_id', 'granularity', 'period'])
    .execute();

  // Usage of a tenant per period: delivery (from delivery_stats), uploads and imports, transcoded seconds,
  // and on day rows the storage snapshot.
  await db.schema
    .createTable('stats_usage')
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('granularity', 'varchar(6)', (c) => c.notNull())
    .addColumn('period', 'varchar(30)', (c) => c.notNull())
    .addColumn('delivered_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('peak_mbps', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('transcoded_seconds', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('uploads', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('imports', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('storage_bytes', 'bigint')
    .addPrimaryKeyConstraint('stats_usage_pk', ['tenant_id', 'granularity', 'period'])
    .execute();
  await db.schema
    .createIndex('stats_usage_period')
    .on('stats_usage')
    .columns(['granularity', 'period'])
    .execute();
}

async function usageSources(db: Kysely<unknown>): Promise<void> {
  // Delivery counts are now per minute; updated_at tells the roll-up which minutes changed since its run.
  await db.schema.alterTable('delivery_stats').addColumn('updated_at', 'varchar(30)').execute();
  await db.schema.createIndex('delivery_stats_updated').on('delivery_stats').column('updated_at').execute();

  // Seconds of output encoded per rendition of a generation (written when the generation is published).
  await db.schema
    .createTable('transcode_usage')
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('generation', 'varchar(40)', (c) => c.notNull())
    .addColumn('rendition', 'varchar(40)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('seconds', 'double precision', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('transcode_usage_pk', ['video_id', 'generation', 'rendition'])
    .execute();
  await db.schema
    .createIndex('transcode_usage_tenant_time')
    .on('transcode_usage')
    .columns(['tenant_id', 'created_at'])
    .execute();

  // Bytes a tenant stores, measured once a day (sources + published outputs).
  await db.schema
    .createTable('storage_usage')
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('day', 'varchar(10)', (c) => c.notNull())
    .addColumn('source_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('output_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('videos', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('measured_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('storage_usage_pk', ['tenant_id', 'day'])
    .execute();

  // The bytes of a video's published outputs (playlists, segments, MP4s, images), set when published.
  await db.schema.alterTable('videos').addColumn('output_bytes', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('videos').dropColumn('output_bytes').execute();
  await db.schema.dropTable('storage_usage').ifExists().execute();
  await db.schema.dropTable('transcode_usage').ifExists().execute();
  await db.schema.dropIndex('delivery_stats_updated').on('delivery_stats').execute();
  await db.schema.alterTable('delivery_stats').dropColumn('updated_at').execute();
  await db.schema.dropTable('stats_usage').ifExists().execute();
  await db.schema.dropTable('stats_video').ifExists().execute();
  await db.schema.dropTable('stats_views').ifExists().execute();
  for (const i of ['beacons_ingested', 'beacons_view', 'beacons_created'])
    await db.schema.dropIndex(i).on('beacons').execute();
  for (const c of ['played_sec', 'seq', 'viewer_hash', 'rebuffer_ms', 'rendition', 'ingested_at'])
    await db.schema.alterTable('beacons').dropColumn(c).execute();
}
