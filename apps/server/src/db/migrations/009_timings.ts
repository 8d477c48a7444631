import type { Kysely } from 'kysely';

// When a video's bytes were all in (upload or import done) and when it first became playable: the
// time-to-playable and time-to-ready of every video.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('videos').addColumn('upload_completed_at', 'varchar(30)').execute();
  await db.schema.alterTable('videos').addColumn('playable_at', 'varchar(30)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('videos').dropColumn('upload_completed_at').execute();
  await db.schema.alterTable('videos').dropColumn('playable_at').execute();
}
