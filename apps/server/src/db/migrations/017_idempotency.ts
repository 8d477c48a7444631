import type { Kysely } from 'kysely';

// Idempotency-Key (modules/idempotency): the first response of a create, kept 24 h per principal and key.
// `id` is sha256(scope, key) in hex, so keys of any case and length compare exactly on every engine (MySQL's
// collations fold case) and no key is stored; `response` is sealed (lib/secretbox.ts, kind
// `idempotent-response`): it may hold a secret shown once (an API key, a webhook secret, a private key).
// Expired rows are ignored when met and purged by the monitor role.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('scope', 'varchar(64)', (c) => c.notNull())
    .addColumn('request_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('response', 'text')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('idempotency_keys_expires_at')
    .on('idempotency_keys')
    .column('expires_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').ifExists().execute();
}
