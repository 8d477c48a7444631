import type { InsertQueryBuilder } from 'kysely';
import type { DialectName } from './connect';

/** An INSERT that skips rows whose key already exists: MySQL's INSERT IGNORE, else ON CONFLICT DO NOTHING. */
export function skippingDuplicates<DB, TB extends keyof DB, O>(
  dialect: DialectName,
  q: InsertQueryBuilder<DB, TB, O>,
): InsertQueryBuilder<DB, TB, O> {
  return dialect === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing());
}
