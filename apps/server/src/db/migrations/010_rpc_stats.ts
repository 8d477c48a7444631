import type { Kysely } from 'kysely';

// RPC call statistics per minute (UTC, ISO start of the minute), service, method, side and reporting
// node, added to as nodes report (modules/monitor). `buckets` is a JSON array of non-cumulative counts
// over lib/call-stats.ts BUCKETS_MS (+Inf last).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rpc_stats')
    .addColumn('minute', 'varchar(30)', (c) => c.notNull())
    .addColumn('service', 'varchar(100)', (c) => c.notNull())
    .addColumn('method', 'varchar(100)', (c) => c.notNull())
    .addColumn('side', 'varchar(10)', (c) => c.notNull())
    .addColumn('node', 'varchar(200)', (c) => c.notNull())
    .addColumn('calls', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('sum_ms', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('max_ms', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('buckets', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('rpc_stats_pk', ['minute', 'service', 'method', 'side', 'node'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rpc_stats').ifExists().execute();
}
