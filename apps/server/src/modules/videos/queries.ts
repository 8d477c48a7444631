import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/connect';
import type { DB } from '../../db/schema';

/**
 * Queries on `videos` that other features need (categories, templates, uploads): the videos module
 * owns the table, so they live here and are exported through index.ts. They take the database (or a
 * caller's transaction) and import no other feature.
 */

/** Statuses of a video that still needs its template. */
const IN_FLIGHT = ['waiting_upload', 'uploading', 'queued', 'processing'];

/** Detaches a category's videos; inside the caller's transaction (the category delete stays atomic). */
export async function detachCategory(
  trx: Transaction<DB> | Kysely<DB>,
  tenantId: string,
  categoryId: string,
  at: string,
): Promise<void> {
  await trx
    .updateTable('videos')
    .set({ category_id: null, updated_at: at })
    .where('tenant_id', '=', tenantId)
    .where('category_id', '=', categoryId)
    .execute();
}

/** Videos of a tenant not yet processed with template `templateId` (it cannot be deleted meanwhile). */
export async function countVideosNeedingTemplate(
  db: Database,
  tenantId: string,
  templateId: string,
): Promise<number> {
  const row = await db.primary
    .selectFrom('videos')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('template_id', '=', templateId)
    .where('status', 'in', IN_FLIGHT)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Bytes of a tenant's stored video sources. */
export async function storedVideoBytes(db: Database, tenantId: string): Promise<number> {
  const row = await db.primary
    .selectFrom('videos')
    .select((eb) => eb.fn.sum<number>('size_bytes').as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** A subquery: the ids of videos (in `status` when given), for a caller's `where … in (…)`. */
export function videoIds(k: Kysely<DB>, status?: string) {
  const q = k.selectFrom('videos').select('videos.id');
  return status === undefined ? q : q.where('videos.status', '=', status);
}
