import { type Kysely, sql } from 'kysely';

// The events table as an outbox: `dispatched_at` is set once every listener (the webhook fan-out) has taken
// an event; events left without it (the queue was down, the process died between the write and the fan-out)
// are handed to the listeners again by the monitor role (EventService.redispatchPending). Events before
// this migration count as dispatched.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').addColumn('dispatched_at', 'varchar(30)').execute();
  await sql`update events set dispatched_at = created_at`.execute(db);
  await db.schema.createIndex('events_dispatched_at').on('events').column('dispatched_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('events_dispatched_at').on('events').execute();
  await db.schema.alterTable('events').dropColumn('dispatched_at').execute();
}
