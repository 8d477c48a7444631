import type { Kysely } from 'kysely';

/**
 * The durable job queue (ports/queue/db.ts). Times that are compared (run_at, lease_until) and the
 * others alike are integer epoch milliseconds (bigint); payload, progress and result are JSON text.
 * states: waiting (run_at says when) | blocked (a flow parent waiting for its children) | active |
 * completed | failed | cancelled.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('queue', 'varchar(10)', (c) => c.notNull())
    .addColumn('state', 'varchar(12)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('lease_token', 'varchar(64)')
    .addColumn('lease_until', 'bigint')
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress', 'text')
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('parent_id', 'varchar(128)')
    .addColumn('pending_children', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .execute();
  // Claiming: the next waiting job of a class by priority, then due time.
  await db.schema
    .createIndex('jobs_claim')
    .on('jobs')
    .columns(['queue', 'state', 'priority', 'run_at'])
    .execute();
  // Reaping expired leases.
  await db.schema.createIndex('jobs_lease').on('jobs').columns(['state', 'lease_until']).execute();
  await db.schema.createIndex('jobs_parent').on('jobs').columns(['parent_id']).execute();
  // Depth per name (metrics) and the start-up check for unknown names.
  await db.schema.createIndex('jobs_name_state').on('jobs').columns(['name', 'state']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('jobs').ifExists().execute();
}
