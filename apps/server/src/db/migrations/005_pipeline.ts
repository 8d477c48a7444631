import type { Kysely } from 'kysely';

// Processing state of a video: the plan (renditions, segments, chunks) of the generation being made,
// the generation players are served, and the outputs of it (playlists, MP4s, images). AES keys are
// stored encrypted with the cluster secret.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('videos').addColumn('plan', 'text').execute();
  await db.schema.alterTable('videos').addColumn('generation', 'varchar(26)').execute();
  await db.schema.alterTable('videos').addColumn('published_generation', 'varchar(26)').execute();
  await db.schema.alterTable('videos').addColumn('outputs', 'text').execute();
  await db.schema.alterTable('videos').addColumn('hls_key', 'text').execute();
  await db.schema.alterTable('videos').addColumn('processing_started_at', 'varchar(30)').execute();
  await db.schema
    .alterTable('videos')
    .addColumn('chunks_done', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const c of [
    'plan',
    'generation',
    'published_generation',
    'outputs',
    'hls_key',
    'processing_started_at',
    'chunks_done',
  ])
    await db.schema.alterTable('videos').dropColumn(c).execute();
}
