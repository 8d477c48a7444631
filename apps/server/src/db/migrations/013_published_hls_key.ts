import { type Kysely, sql } from 'kysely';

// The AES key belongs to a generation: `hls_key` is the key of the generation being made (`generation`),
// `published_hls_key` the key of the published one. A retranscode of an encrypted video therefore keeps
// serving the published generation's own key until the new generation is published.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('videos').addColumn('published_hls_key', 'text').execute();
  await sql`update videos set published_hls_key = hls_key where published_generation = generation`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('videos').dropColumn('published_hls_key').execute();
}
