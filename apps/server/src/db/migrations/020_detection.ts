import type { Kysely } from 'kysely';

// Detection (issue 18, modules/detection): the result stays in videos.detection (JSON, as since 001); a
// video held for review is found by its review status; each tenant's policy is one JSON row.
export async function up(db: Kysely<unknown>): Promise<void> {
  // pending (waiting for a moderator; not playable), approved, rejected; null: never sent to review.
  await db.schema.alterTable('videos').addColumn('review_status', 'varchar(16)').execute();
  await db.schema.createIndex('videos_review').on('videos').columns(['tenant_id', 'review_status']).execute();
  await db.schema
    .createTable('detection_policies')
    .addColumn('tenant_id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('detection_policies').ifExists().execute();
  await db.schema.dropIndex('videos_review').on('videos').execute();
  await db.schema.alterTable('videos').dropColumn('review_status').execute();
}
