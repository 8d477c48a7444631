import type { Kysely } from 'kysely';

// The jobs of a video whose ids cannot be derived from its row: each retranscode and each cover change
// gets a job id of its own (a queue id is used once, even after its job ended), so a delete reads them
// here to cancel them (the job registry, apps/server/src/jobs). Works the same for every queue adapter.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('video_jobs')
    .addColumn('job_id', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('video_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('name', 'varchar(50)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('video_jobs_video').on('video_jobs').column('video_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('video_jobs').ifExists().execute();
}
