import { type Kysely, MysqlAdapter, PostgresAdapter } from 'kysely';

// Secrets at rest (lib/secretbox.ts): a webhook secret sealed with the master key (`v1:<kid>:<base64>`,
// about 120 characters) no longer fits the varchar(100) of 004_webhooks. SQLite does not enforce
// varchar lengths (and cannot alter a column's type), so only MariaDB/MySQL and PostgreSQL change.
export async function up(db: Kysely<unknown>): Promise<void> {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof MysqlAdapter)
    await db.schema
      .alterTable('webhooks')
      .modifyColumn('secret', 'varchar(255)', (c) => c.notNull())
      .execute();
  else if (adapter instanceof PostgresAdapter)
    await db.schema
      .alterTable('webhooks')
      .alterColumn('secret', (c) => c.setDataType('varchar(255)'))
      .execute();
}

export async function down(): Promise<void> {
  // Widening is kept: sealed values would not fit back.
}
